"""The Yelp connector through its aiohttp client against the local Yelp Fusion simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from connector_helpers import connectors

from repbot.connectors.yelp import YelpConnector
from repbot.connectors.yelp.simulator import API_KEY, YelpSimulator, yelp_error
from repbot.errors import AuthError, RateLimited, TransientError
from repbot.platforms import platform
from repbot.testing.harness import poll

BIZ = "orbit-bank-soho"
SHARED = (
    Path(__file__).resolve().parents[1].parent
    / "shared/fixtures/other_platforms/yelp_fusion_extracted/yelp_v3_business_reviews_response.json"
)
Factory = Callable[..., YelpConnector]


@pytest.fixture
async def sim() -> AsyncIterator[YelpSimulator]:
    async with YelpSimulator() as server:
        yield server


@pytest.fixture
async def make(sim: YelpSimulator) -> AsyncIterator[Factory]:
    async with connectors(
        YelpConnector,
        "yelp",
        lambda: {"api_base_url": sim.url, "business_ids": [BIZ], **sim.credentials()},
    ) as factory:
        yield factory


async def test_reads_the_three_newest_excerpts(sim: YelpSimulator, make: Factory) -> None:
    reviews = sim.seed(BIZ, 10)
    page = await make().fetch(None)
    assert [m.external_id for m in page.mentions] == [r.id for r in reversed(reviews[-3:])]
    (call,) = sim.calls("reviews")
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert call.query["sort_by"] == "newest" and call.query["limit"] == "3"
    first = page.mentions[0]
    assert first.kind == "review" and first.rating == reviews[-1].rating
    assert first.text.endswith("...")
    assert first.url == f"https://www.yelp.com/biz/{BIZ}?hrid={first.external_id}"
    assert first.created_at == reviews[-1].created_at  # Pacific time read back as UTC
    assert not page.has_more


async def test_steady_polling_costs_one_request_per_business(
    sim: YelpSimulator, make: Factory
) -> None:
    sim.seed(BIZ, 5)
    sim.seed("second-biz", 5)
    connector = make(business_ids=[BIZ, "second-biz"], overlap=0)
    state = await poll(connector)
    sim.reset_requests()
    for _ in range(3):
        page = await connector.fetch(state.cursor)
        state.cursor = page.cursor
        assert page.mentions == []
    assert len(sim.calls("reviews")) == 6
    new = sim.add_review(BIZ, created_at=datetime.now(UTC) + timedelta(seconds=2))
    page = await connector.fetch(state.cursor)
    assert [m.external_id for m in page.mentions] == [new.id]


async def test_offset_pages_on_plans_that_return_more(make: Factory) -> None:
    async with YelpSimulator(plan_limit=50) as big:
        big.seed(BIZ, 25)
        connector = make(api_base_url=big.url, limit=10, paginate=True)
        drained = await poll(connector)
        assert len(drained.mentions) == 25
        assert [r.query.get("offset") for r in big.calls("reviews")] == [None, "10", "20"]


async def test_empty_business(sim: YelpSimulator, make: Factory) -> None:
    page = await make().fetch(None)
    assert page.mentions == [] and page.malformed == 0


async def test_auth_failure_and_unknown_business(sim: YelpSimulator, make: Factory) -> None:
    with pytest.raises(AuthError) as bad_key:
        await make(api_key="not-the-key-1234").fetch(None)
    assert "api_key" in str(bad_key.value) and "TOKEN_INVALID" not in str(bad_key.value)
    assert "not-the-key-1234" not in str(bad_key.value)
    with pytest.raises(AuthError) as missing:
        await make(business_ids=["missing-biz"]).fetch(None)
    assert "business_ids" in str(missing.value)


async def test_429_with_the_daily_reset_time(sim: YelpSimulator, make: Factory) -> None:
    reset = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    sim.inject(
        "reviews",
        429,
        yelp_error("ACCESS_LIMIT_REACHED", "You've reached the access limit for this client."),
        {"RateLimit-DailyLimit": "500", "RateLimit-Remaining": "0", "RateLimit-ResetTime": reset},
    )
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after is not None and 7000 < caught.value.retry_after <= 7201
    sim.inject(
        "reviews",
        429,
        yelp_error("TOO_MANY_REQUESTS_PER_SECOND", "slow down"),
        {"Retry-After": "3"},
    )
    with pytest.raises(RateLimited) as per_second:
        await make().fetch(None)
    assert per_second.value.retry_after == 3


async def test_5xx_is_transient(sim: YelpSimulator, make: Factory) -> None:
    sim.inject("reviews", 502, yelp_error("INTERNAL_ERROR", "Something went wrong"))
    with pytest.raises(TransientError):
        await make().fetch(None)


async def test_malformed_excerpts_are_counted_and_the_rest_kept(
    sim: YelpSimulator, make: Factory
) -> None:
    sim.seed(BIZ, 1)
    sim.add_review(BIZ, raw={"id": "r2", "rating": 0, "text": "x", "time_created": "2024-01-01"})
    sim.add_review(BIZ, raw={"id": "r3", "rating": 4, "text": "ok", "time_created": "yesterday"})
    page = await make().fetch(None)
    assert page.malformed == 2 and len(page.mentions) == 1


async def test_an_updated_review_comes_back_with_a_newer_updated_at(
    sim: YelpSimulator, make: Factory
) -> None:
    reviews = sim.seed(BIZ, 3)
    connector = make(overlap=0)
    state = await poll(connector)
    before = next(m for m in state.mentions if m.external_id == reviews[0].id)
    sim.edit(reviews[0].id, 4, "Update: the manager called me and sorted it out.")
    page = await connector.fetch(state.cursor)
    (after,) = page.mentions
    assert after.external_id == before.external_id and after.rating == 4
    assert after.updated_at is not None and before.updated_at is not None
    assert after.updated_at > before.updated_at


async def test_yelp_cannot_reply_and_says_so(make: Factory) -> None:
    connector = make()
    assert not connector.can_reply and not platform("yelp").can_reply
    assert platform("yelp").family == "review" and platform("yelp").handle is None


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared fixtures")
async def test_maps_a_recorded_fusion_response(sim: YelpSimulator, make: Factory) -> None:
    recorded = json.loads(SHARED.read_text())
    sim.inject("reviews", 200, recorded)
    page = await make(initial_lookback=20 * 365 * 86400).fetch(None)
    assert page.malformed == 0
    assert {m.external_id for m in page.mentions} == {r["id"] for r in recorded["reviews"]}
    by_id = {m.external_id: m for m in page.mentions}
    first = recorded["reviews"][0]
    mention = by_id[first["id"]]
    assert (
        mention.rating == first["rating"] and mention.author.display_name == first["user"]["name"]
    )
    assert "utm_source" not in (mention.url or "")
    # 2023-04-10 18:57:16 Pacific (daylight time) is 01:57:16 UTC the next day.
    if first["time_created"] == "2023-04-10 18:57:16":
        assert mention.created_at == datetime(2023, 4, 11, 1, 57, 16, tzinfo=UTC)
