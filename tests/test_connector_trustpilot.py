"""The Trustpilot connector through its aiohttp client against the local Trustpilot simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from connector_helpers import connectors, steady_polls
from pydantic import ValidationError

from repbot.connectors.trustpilot import TrustpilotConnector
from repbot.connectors.trustpilot.simulator import API_KEY, TrustpilotSimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.platforms import platform
from repbot.testing.harness import poll

UNIT = "5f0000000000000000000u01"
Factory = Callable[..., TrustpilotConnector]


@pytest.fixture
async def sim() -> AsyncIterator[TrustpilotSimulator]:
    async with TrustpilotSimulator() as server:
        yield server


@pytest.fixture
async def make(sim: TrustpilotSimulator) -> AsyncIterator[Factory]:
    async with connectors(
        TrustpilotConnector,
        "tp",
        lambda: {"api_base_url": sim.url, "business_unit_ids": [UNIT], **sim.credentials()},
    ) as factory:
        yield factory


async def test_first_run_pages_through_the_lookback_and_maps_reviews(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 250, spacing=60)
    sim.add_review("other-unit")
    connector = make(per_page=100)
    drained = await poll(connector)
    assert len(drained.mentions) == 250
    assert drained.calls == 3
    pages = [int(r.query["page"]) for r in sim.calls("reviews")]
    assert pages == [1, 2, 3]
    assert {r.query["orderBy"] for r in sim.calls("reviews")} == {"createdat.desc"}
    assert all(r.headers["apikey"] == API_KEY for r in sim.calls("reviews"))
    assert all("apikey" not in r.query for r in sim.calls("reviews"))
    first = drained.mentions[0]
    assert first.kind == "review" and first.platform == "trustpilot"
    assert first.url == f"https://www.trustpilot.com/reviews/{first.external_id}"
    assert {m.rating for m in drained.mentions} == {1, 2, 3, 4, 5}
    assert first.owner_reply is None and first.community == UNIT


async def test_lookback_bounds_the_first_run(sim: TrustpilotSimulator, make: Factory) -> None:
    sim.seed(UNIT, 30, spacing=3600)
    drained = await poll(make(initial_lookback=10.5 * 3600, per_page=5))
    assert len(drained.mentions) == 10
    assert len(sim.calls("reviews")) == 3


async def test_zero_lookback_starts_after_the_newest_review(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 5)
    connector = make(initial_lookback=0)
    first = await poll(connector)
    assert first.mentions == []
    new = sim.add_review(UNIT, created_at=datetime.now(UTC) + timedelta(seconds=5))
    second = await poll(connector, first)
    assert [m.external_id for m in second.mentions] == [new.id]


async def test_steady_polling_costs_one_request_per_unit(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 40, spacing=600)
    sim.seed("second-unit", 40, spacing=600)
    connector = make(business_unit_ids=[UNIT, "second-unit"], per_page=10)
    state = await poll(connector)
    assert len(state.mentions) == 80
    sim.reset_requests()
    await steady_polls(connector, state)
    assert len(sim.calls("reviews")) == 6


async def test_a_burst_is_read_in_full_across_polls(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 3)
    connector = make(per_page=10, max_pages_per_poll=2)
    state = await poll(connector)
    burst = sim.seed(UNIT, 45, spacing=1)
    for review in burst:
        review.created_at += timedelta(seconds=120)
    state = await poll(connector, state)
    assert state.calls == 3  # two pages, then the chain yields to the next interval
    state = await poll(connector, state)
    assert not {r.id for r in burst} <= state.ids()
    state = await poll(connector, state)
    assert {r.id for r in burst} <= state.ids()


async def test_empty_unit(sim: TrustpilotSimulator, make: Factory) -> None:
    page = await make().fetch(None)
    assert page.mentions == [] and not page.has_more and page.malformed == 0
    assert len(sim.calls("reviews")) == 1


async def test_a_wrong_api_key_is_an_auth_error_without_the_key(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    connector = make(api_key="wrong-key-123456")
    with pytest.raises(AuthError) as caught:
        await connector.fetch(None)
    assert "api_key" in str(caught.value) and "401" in str(caught.value)
    assert "wrong-key-123456" not in str(caught.value)


async def test_429_with_retry_after_is_rate_limited(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.inject("reviews", 429, {"message": "Too many requests"}, {"Retry-After": "120"})
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after == 120


async def test_429_with_a_reset_time(sim: TrustpilotSimulator, make: Factory) -> None:
    reset = int(datetime.now(UTC).timestamp()) + 600
    sim.inject("reviews", 429, None, {"X-RateLimit-Reset": str(reset)})
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after is not None and 500 < caught.value.retry_after <= 601


async def test_5xx_is_transient_and_loses_nothing(sim: TrustpilotSimulator, make: Factory) -> None:
    sim.seed(UNIT, 3)
    connector = make()
    sim.inject("reviews", 503, {"message": "Service Unavailable"})
    with pytest.raises(TransientError):
        await connector.fetch(None)
    assert len((await poll(connector)).mentions) == 3


async def test_malformed_reviews_are_counted_and_the_rest_kept(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 4)
    sim.add_review(UNIT, raw={"id": "bad-stars", "stars": 9, "createdAt": "2026-01-01T00:00:00Z"})
    sim.add_review(UNIT, raw={"id": "no-date", "stars": 3})
    sim.add_review(UNIT, raw=["not", "an", "object"])
    page = await make().fetch(None)
    assert page.malformed == 3
    assert len(page.mentions) == 4


async def test_an_edited_review_comes_back_with_its_new_rating(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    reviews = sim.seed(UNIT, 30, spacing=600)
    connector = make(per_page=10, overlap=0)
    state = await poll(connector)
    edited = sim.edit(reviews[25].id, 4, "They fixed it within the hour. Thank you!")
    page = await connector.fetch(state.cursor)
    assert [(m.external_id, m.rating) for m in page.mentions] == [(edited.id, 4)]
    revised = page.mentions[0]
    assert revised.updated_at is not None and revised.updated_at > revised.created_at
    quiet = await connector.fetch(page.cursor)
    assert quiet.mentions == []


async def test_a_reply_made_on_trustpilot_sets_owner_reply(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    reviews = sim.seed(UNIT, 5)
    connector = make(overlap=0)
    state = await poll(connector)
    sim.company_reply(reviews[1].id, "Sorry to hear that, we have refunded you.")
    page = await connector.fetch(state.cursor)
    assert [m.external_id for m in page.mentions] == [reviews[1].id]
    reply = page.mentions[0].owner_reply
    assert reply is not None and reply.text.startswith("Sorry to hear")
    assert reply.created_at is not None


async def test_a_refresh_sweep_sees_edits_of_older_reviews(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    reviews = sim.seed(UNIT, 50, spacing=600)
    connector = make(per_page=10, overlap=0, refresh_interval=3600, refresh_pages=3)
    state = await poll(connector)
    old = sim.edit(reviews[5].id, 5, "Changed my mind")  # on page 5: beyond a steady poll
    steady = await connector.fetch(state.cursor)
    assert steady.mentions == []
    cursor = json.loads(steady.cursor or "{}")
    cursor["refresh_at"] -= 7200
    sim.reset_requests()
    refreshed = await poll(connector, type(state)(cursor=json.dumps(cursor)))
    assert len(sim.calls("reviews")) == 4
    assert old.id not in refreshed.ids()  # page 5 is past refresh_pages
    old2 = sim.edit(reviews[25].id, 2, "Worse again")  # page 3
    cursor = json.loads(refreshed.cursor or "{}")
    cursor["refresh_at"] -= 7200
    again = await poll(connector, type(state)(cursor=json.dumps(cursor)))
    assert old2.id in again.ids()


async def test_reply_posts_with_an_oauth_token_and_find_reply_sees_it(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    (review,) = sim.seed(UNIT, 1)
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    assert await connector.find_reply(mention, "k1") is None
    posted = await connector.reply(mention, "We are sorry, Jane. Refund sent.", "k1")
    assert posted.url == f"https://www.trustpilot.com/reviews/{review.id}"
    (token_call,) = sim.calls("token")
    assert token_call.form()["grant_type"] == "password"
    (call,) = sim.calls("reply")
    assert call.json()["message"] == "We are sorry, Jane. Refund sent."
    assert call.headers["Authorization"].startswith("Bearer ")
    found = await connector.find_reply(mention, "k1")
    assert found is not None and found.external_id == posted.external_id
    await connector.reply(mention, "Updated answer.", "k2")
    assert len(sim.calls("token")) == 1  # the token is cached


async def test_reply_failures_are_post_errors(sim: TrustpilotSimulator, make: Factory) -> None:
    sim.seed(UNIT, 1)
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    sim.inject("reply", 503)
    with pytest.raises(PostError) as transient:
        await connector.reply(mention, "Hello", "k")
    assert transient.value.transient
    sim.inject("reply", 403, {"message": "Forbidden"})
    with pytest.raises(PostError) as permanent:
        await connector.reply(mention, "Hello", "k")
    assert not permanent.value.transient
    reading_only = make(api_secret=None, username=None, password=None)
    with pytest.raises(PostError) as unconfigured:
        await reading_only.reply(mention, "Hello", "k")
    assert not unconfigured.value.transient


def test_config_and_registry() -> None:
    with pytest.raises(ValidationError):
        TrustpilotConnector.Config.model_validate({"api_key": "k" * 8, "business_unit_ids": []})
    with pytest.raises(ValidationError):
        TrustpilotConnector.Config.model_validate(
            {"api_key": "k" * 8, "business_unit_ids": ["u"], "username": "a@b.c"}
        )
    entry = platform("trustpilot")
    assert entry.can_reply and entry.family == "review" and entry.handle is None


async def test_a_revoked_cached_token_is_dropped_and_the_post_may_be_retried(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 1)
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    await connector.reply(mention, "First answer.", "k1")
    sim.state.tokens.clear()  # Trustpilot revoked the token
    with pytest.raises(PostError) as caught:
        await connector.reply(mention, "Second answer.", "k2")
    assert caught.value.transient
    await connector.reply(mention, "Second answer.", "k2")
    assert len(sim.calls("token")) == 2
    assert sim.state.reviews[mention.external_id].reply == {
        **(sim.state.reviews[mention.external_id].reply or {}),
        "text": "Second answer.",
    }


async def test_client_credentials_grant_without_a_user(
    sim: TrustpilotSimulator, make: Factory
) -> None:
    sim.seed(UNIT, 1)
    connector = make(username=None, password=None)
    mention = (await connector.fetch(None)).mentions[0]
    await connector.reply(mention, "Thanks!", "k")
    assert sim.calls("token")[0].form() == {"grant_type": "client_credentials"}


async def test_an_unreadable_cursor_starts_afresh(sim: TrustpilotSimulator, make: Factory) -> None:
    sim.seed(UNIT, 2)
    page = await make().fetch("{not json")
    assert len(page.mentions) == 2
    assert json.loads(page.cursor or "{}")["streams"][UNIT]["mark"] > 0
