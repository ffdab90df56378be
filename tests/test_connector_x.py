"""The X connector through tweepy's AsyncClient against the local X simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from connector_helpers import connectors
from pydantic import ValidationError

from repbot.connectors.x import XConnector, XCursor, snowflake_at
from repbot.connectors.x.simulator import XSimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.models import Mention
from repbot.testing.harness import poll

FIXTURES = Path(__file__).parent / "fixtures_x"
SHARED = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "twitter" / "cassettes"
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector must never wait (the runner does): any sleep of a second or more fails."""
    real_sleep = asyncio.sleep

    async def guarded(delay: float, *args: Any) -> Any:
        if delay >= 1:
            raise AssertionError(f"slept {delay}s")
        return await real_sleep(delay, *args)

    def forbidden(delay: float) -> None:
        raise AssertionError(f"slept {delay}s")

    monkeypatch.setattr(asyncio, "sleep", guarded)
    monkeypatch.setattr(time, "sleep", forbidden)


@pytest.fixture
async def sim() -> AsyncIterator[XSimulator]:
    async with XSimulator() as server:
        yield server


Factory = Callable[..., XConnector]


@pytest.fixture
async def make(sim: XSimulator) -> AsyncIterator[Factory]:
    async with connectors(XConnector, "x-test", lambda: _options(sim)) as factory:
        yield factory


def _options(sim: XSimulator) -> dict[str, Any]:
    return {
        "api_base_url": sim.url,
        **sim.credentials(),
        "brand_username": "acme",
        "tier": "enterprise",
        "initial_lookback": 7200,
    }


async def test_first_run_reads_the_lookback_window(sim: XSimulator, make: Factory) -> None:
    old = sim.add_tweet(
        "@acme from three hours ago", created_at=datetime.now(UTC) - timedelta(hours=3)
    )
    recent = sim.seed_mentions(5, spread_seconds=600)
    result = await poll(make())
    assert {m.external_id for m in result.mentions} == {str(t.id) for t in recent}
    assert str(old.id) not in result.ids()
    request = sim.calls("mentions")[0]
    assert "start_time" in request.query and "since_id" not in request.query
    assert "author_id" in request.query["expansions"]
    assert {"created_at", "public_metrics", "conversation_id", "lang"} <= set(
        request.query["tweet.fields"].split(",")
    )
    assert request.headers["Authorization"].startswith("Bearer ")


async def test_first_run_without_lookback_skips_history(sim: XSimulator, make: Factory) -> None:
    sim.seed_mentions(20, spread_seconds=600)
    connector = make(initial_lookback=0)
    first = await poll(connector)
    assert first.mentions == []
    fresh = sim.add_tweet("@acme brand new")
    second = await poll(connector, first)
    assert second.ids() == {str(fresh.id)}


async def test_steady_polling_uses_since_id_with_overlap(sim: XSimulator, make: Factory) -> None:
    connector = make(overlap=30)
    sim.seed_mentions(3, spread_seconds=60)
    state = await poll(connector)
    first = XCursor.load(state.cursor).streams["mentions"]
    assert first.since_id is not None and first.began is not None
    new = [sim.add_tweet(f"@acme new {i}") for i in range(4)]
    sim.reset_requests()
    state = await poll(connector, state)
    request = sim.calls("mentions")[0]
    lowered = snowflake_at(first.began - 30)
    assert lowered < first.since_id, "the newest post is younger than the overlap"
    assert int(request.query["since_id"]) == lowered
    assert {str(t.id) for t in new} <= state.ids()
    assert len(state.mentions) == 7


async def test_quiet_stream_rereads_nothing(sim: XSimulator, make: Factory) -> None:
    made = sim.seed_mentions(5, spread_seconds=600, until=datetime.now(UTC) - timedelta(minutes=2))
    connector = make(overlap=30)
    state = await poll(connector)
    assert len(state.mentions) == 5
    since = XCursor.load(state.cursor).streams["mentions"].since_id
    assert since == max(t.id for t in made)
    sim.reset_requests()
    page = await connector.fetch(state.cursor)
    (request,) = sim.calls("mentions")
    assert int(request.query["since_id"]) == since
    assert page.mentions == [] and not page.has_more


async def test_steady_polls_after_a_burst_reread_at_most_one_page(
    sim: XSimulator, make: Factory
) -> None:
    connector = make(initial_lookback=0, overlap=30, max_pages_per_poll=50)
    state = await poll(connector)
    sim.seed_mentions(1000, spread_seconds=2)
    sim.reset_requests()
    state = await poll(connector, state)
    assert len(state.mentions) == 1000 and len(sim.calls("mentions")) == 10
    reads = XCursor.load(state.cursor).reads
    for _ in range(3):
        sim.reset_requests()
        state = await poll(connector, state)
        assert len(sim.calls("mentions")) == 1, "the overlap costs one page, not the burst"
    assert XCursor.load(state.cursor).reads <= reads + 3 * 100
    assert len(state.mentions) == 1000


async def test_burst_of_1000_across_pages_none_missed_or_doubled(
    sim: XSimulator, make: Factory
) -> None:
    connector = make(max_pages_per_poll=4, queries=["#acmefail"])
    sim.seed_mentions(1000, keyword="#acmefail", spread_seconds=1800)
    state = await poll(connector)
    assert state.calls == 4
    late = [sim.add_tweet(f"@acme arrived mid-burst {i}") for i in range(7)]
    for _ in range(5):
        state = await poll(connector, state)
    expected = {str(t.id) for t in sim.tweets.values() if t.author_id != sim.brand.id}
    assert state.ids() == expected
    assert {str(t.id) for t in late} <= state.ids()
    assert len(state.mentions) == 1007
    pages = len(sim.calls("mentions")) + len(sim.calls("search"))
    assert pages <= 2 * (1007 // 100 + 1) + 6


async def test_empty_page(sim: XSimulator, make: Factory) -> None:
    connector = make()
    page = await connector.fetch(None)
    assert page.mentions == [] and not page.has_more and page.malformed == 0
    assert XCursor.load(page.cursor).streams["mentions"].since_id is not None


async def test_fixture_page_maps_every_field(sim: XSimulator, make: Factory) -> None:
    sim.inject("mentions", 200, fixture("mentions_page.json"))
    page = await make().fetch(None)
    by_id = {m.external_id: m for m in page.mentions}
    frank = by_id["1858123456789012482"]
    assert frank.author.handle == "frank_r" and frank.author.followers == 18400
    assert frank.author.verified is True and frank.author.display_name == "Frank R."
    assert frank.url == "https://x.com/frank_r/status/1858123456789012482"
    assert (frank.metrics.likes, frank.metrics.reposts, frank.metrics.replies) == (31, 5, 2)
    assert frank.kind == "post" and frank.language == "en"
    assert frank.created_at == datetime(2024, 11, 17, 12, 31, 5, tzinfo=UTC)
    assert frank.raw["data"]["id"] == frank.external_id
    reply = by_id["1858123400000000001"]
    assert reply.kind == "reply"
    assert reply.thread.parent == "1858120011111111111"
    assert reply.thread.root == "1858120011111111111"


async def test_suspended_author_still_yields_a_mention(sim: XSimulator, make: Factory) -> None:
    tweet = sim.add_tweet("@acme you blocked me", author="gone_user")
    sim.suspend("gone_user")
    page = await make().fetch(None)
    (mention,) = page.mentions
    assert mention.external_id == str(tweet.id)
    assert mention.author.handle == tweet.author_id and mention.author.followers is None
    assert mention.url == f"https://x.com/i/web/status/{tweet.id}"


async def test_deleted_author_in_fixture(sim: XSimulator, make: Factory) -> None:
    sim.inject("mentions", 200, fixture("mentions_page.json"))
    page = await make().fetch(None)
    orphan = next(m for m in page.mentions if m.external_id == "1858123300000000007")
    assert orphan.author.handle == "5550001" and orphan.language == "de"


async def test_429_maps_to_rate_limited_with_reset(sim: XSimulator, make: Factory) -> None:
    reset = int(time.time()) + 120
    headers = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
    }
    sim.inject("mentions", 429, fixture("error_429.json"), headers)
    connector = make()
    with pytest.raises(RateLimited) as caught:
        await connector.fetch(None)
    assert caught.value.retry_after is not None and 110 <= caught.value.retry_after <= 121
    calls = len(sim.calls("mentions"))
    with pytest.raises(RateLimited):
        await connector.fetch(None)
    assert len(sim.calls("mentions")) == calls, "must not call again before the reset"


async def test_retry_after_header_wins(sim: XSimulator, make: Factory) -> None:
    sim.inject("mentions", 429, fixture("error_429.json"), {"retry-after": "42"})
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after == 42


async def test_exhausted_window_from_the_simulator(sim: XSimulator, make: Factory) -> None:
    sim.exhaust("mentions", reset_in=300)
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after is not None and 250 < caught.value.retry_after <= 301


async def test_tier_budget_is_enforced_locally(sim: XSimulator, make: Factory) -> None:
    connector = make(reads_per_15min=2)
    await connector.fetch(None)
    await connector.fetch(None)
    calls = len(sim.calls("mentions"))
    with pytest.raises(RateLimited) as caught:
        await connector.fetch(None)
    assert len(sim.calls("mentions")) == calls
    assert caught.value.retry_after is not None and caught.value.retry_after > 800


@pytest.mark.parametrize(
    ("status", "body", "needle"),
    [
        (401, "error_401.json", "401"),
        (403, "error_453.json", "453"),
        (403, "error_client_not_enrolled.json", "client-not-enrolled"),
    ],
)
async def test_auth_failures(
    sim: XSimulator, make: Factory, status: int, body: str, needle: str
) -> None:
    sim.inject("mentions", status, fixture(body))
    with pytest.raises(AuthError) as caught:
        await make().fetch(None)
    assert needle in str(caught.value)
    assert sim.bearer_token not in str(caught.value)


async def test_wrong_token_is_an_auth_error(sim: XSimulator, make: Factory) -> None:
    with pytest.raises(AuthError):
        await make(bearer_token="revoked").fetch(None)


async def test_server_errors_and_drops_are_transient(sim: XSimulator, make: Factory) -> None:
    connector = make()
    sim.inject("mentions", 503, {"title": "Service Unavailable", "detail": "Service Unavailable"})
    with pytest.raises(TransientError):
        await connector.fetch(None)
    sim.inject("mentions", 200, drop=True, times=2)
    with pytest.raises(TransientError):
        await connector.fetch(None)
    sim.clear_injections()
    page = await connector.fetch(None)
    assert not page.has_more


async def test_malformed_posts_are_counted_and_skipped(sim: XSimulator, make: Factory) -> None:
    sim.inject("mentions", 200, fixture("mentions_malformed.json"))
    page = await make().fetch(None)
    assert page.malformed == 3
    assert [m.external_id for m in page.mentions] == ["1858200000000000010", "1858200000000000006"]
    assert page.mentions[1].language is None


async def test_stale_pagination_token_restarts_the_sweep(sim: XSimulator, make: Factory) -> None:
    sim.seed_mentions(150, spread_seconds=600)
    connector = make()
    first = await connector.fetch(None)
    assert first.has_more
    sim.inject("mentions", 400, {"errors": [{"message": "invalid pagination token"}]})
    second = await connector.fetch(first.cursor)
    assert second.mentions == [] and not second.has_more
    assert XCursor.load(second.cursor).streams["mentions"].next_token is None


async def test_bad_query_is_reported(sim: XSimulator, make: Factory) -> None:
    sim.inject(
        "search", 400, {"errors": [{"message": "There were errors processing your request"}]}
    )
    with pytest.raises(AuthError, match="rejected the request"):
        await make(mentions=False, queries=["(("]).fetch(None)


async def test_backfill_sweep_catches_late_indexed_posts(sim: XSimulator, make: Factory) -> None:
    connector = make(backfill_interval=0.001, backfill_window=3600)
    state = await poll(connector)
    late = sim.add_tweet("@acme indexed late", created_at=datetime.now(UTC) - timedelta(minutes=20))
    state = await poll(connector, state)
    assert str(late.id) in state.ids()
    no_backfill = make(backfill_interval=None)
    other = await poll(no_backfill)
    also_late = sim.add_tweet(
        "@acme also late", created_at=datetime.now(UTC) - timedelta(minutes=30)
    )
    other = await poll(no_backfill, other)
    assert str(late.id) in other.ids() and str(also_late.id) not in other.ids()


async def test_backfill_sweep_is_bounded(sim: XSimulator, make: Factory) -> None:
    sim.seed_mentions(1000, spread_seconds=1800)
    connector = make(backfill_interval=0.001, backfill_window=3600, backfill_max_pages=2)
    state = await poll(connector, max_calls=50)
    assert len(state.mentions) == 1000
    sim.reset_requests()
    state = await poll(connector, state)
    calls = sim.calls("mentions")
    assert len(calls) == 2 and "start_time" in calls[0].query
    assert XCursor.load(state.cursor).streams["mentions"].next_token is None


async def test_search_queries_get_the_suffix(sim: XSimulator, make: Factory) -> None:
    sim.add_tweet("acme is down again #acmefail")
    sim.add_tweet("RT @x: acme is down again #acmefail", retweet=True)
    result = await poll(make(mentions=False, queries=["#acmefail"]))
    assert len(result.mentions) == 1
    assert sim.calls("search")[0].query["query"] == "#acmefail -is:retweet"


async def test_brand_own_posts_are_not_mentions(sim: XSimulator, make: Factory) -> None:
    sim.add_tweet("@acme we are looking into it", author="acme")
    sim.add_tweet("@acme thanks!")
    result = await poll(make())
    assert [m.text for m in result.mentions] == ["@acme thanks!"]


async def _one_mention(sim: XSimulator, connector: XConnector) -> Mention:
    sim.add_tweet("@acme my order is late", author="frank")
    page = await connector.fetch(None)
    assert len(page.mentions) == 1
    mention: Mention = page.mentions[0]
    return mention


async def test_reply_posts_once_in_reply_to_the_mention(sim: XSimulator, make: Factory) -> None:
    connector = make()
    mention = await _one_mention(sim, connector)
    posted = await connector.reply(mention, "Sorry Frank, DM us the order number", "key-1")
    (reply,) = sim.replies_by_brand()
    assert posted.external_id == str(reply.id)
    assert posted.url == f"https://x.com/acme/status/{reply.id}"
    assert reply.in_reply_to == int(mention.external_id)
    body = sim.calls("create_tweet")[0].json()
    assert body["reply"]["in_reply_to_tweet_id"] == mention.external_id
    assert sim.calls("create_tweet")[0].headers["Authorization"].startswith("OAuth ")


async def test_lost_reply_is_found_not_doubled(sim: XSimulator, make: Factory) -> None:
    connector = make()
    mention = await _one_mention(sim, connector)
    assert await connector.find_reply(mention, "key-2") is None
    sim.inject("create_tweet", 503, {"title": "Service Unavailable"}, apply=True)
    with pytest.raises(PostError) as caught:
        await connector.reply(mention, "We're on it", "key-2")
    assert caught.value.transient
    found = await connector.find_reply(mention, "key-2")
    (reply,) = sim.replies_by_brand()
    assert found is not None and found.external_id == str(reply.id)


async def test_reply_errors(sim: XSimulator, make: Factory) -> None:
    connector = make()
    mention = await _one_mention(sim, connector)
    sim.inject("create_tweet", 403, fixture("error_453.json"))
    with pytest.raises(PostError) as caught:
        await connector.reply(mention, "hello", "k")
    assert not caught.value.transient
    sim.inject("create_tweet", 429, fixture("error_429.json"), {"x-rate-limit-reset": "1"})
    with pytest.raises(PostError) as caught:
        await connector.reply(mention, "hello", "k")
    assert caught.value.transient
    read_only = make(
        consumer_key=None, consumer_secret=None, access_token=None, access_token_secret=None
    )
    with pytest.raises(PostError, match="consumer_key"):
        await read_only.reply(mention, "hello", "k")


def test_monthly_post_cap_and_intervals() -> None:
    cfg: dict[str, Any] = {"bearer_token": "t", "brand_user_id": "1", "queries": ["a", "b"]}
    assert XConnector("x", XConnector.Config.model_validate(cfg)).monthly_post_cap() == 3000
    free = XConnector("x", XConnector.Config.model_validate({**cfg, "tier": "free"}))
    assert free.monthly_post_cap() == 500 and free.min_poll_interval() == 1800
    custom = {**cfg, "monthly_post_cap": 42, "tier": "pro"}
    assert XConnector("x", XConnector.Config.model_validate(custom)).monthly_post_cap() == 42


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError, match="bearer_token"):
        XConnector.Config.model_validate({"brand_user_id": "1"})
    with pytest.raises(ValidationError, match="brand_user_id"):
        XConnector.Config.model_validate({"bearer_token": "t"})
    with pytest.raises(ValidationError):
        XConnector.Config.model_validate({"bearer_token": "t", "brand_user_id": "1", "typo": 1})
    cfg = XConnector.Config.model_validate({"bearer_token": "secret-value", "brand_user_id": "1"})
    assert "secret-value" not in repr(cfg)


def test_cursor_survives_garbage() -> None:
    assert XCursor.load("not json").streams == {}
    assert snowflake_at(1288834974.657) == 0


async def test_recorded_cassettes_match_the_simulator_shapes(sim: XSimulator) -> None:
    """Conformance: the simulator's pages carry the keys the real API sent."""
    import yaml

    if not SHARED.is_dir():
        pytest.skip("../shared fixtures absent")
    sim.seed_mentions(30)
    async with aiohttp.ClientSession() as session:
        url = f"{sim.url}/2/users/{sim.brand.id}/mentions?max_results=10"
        auth = {"Authorization": f"Bearer {sim.bearer_token}", "Accept-Encoding": "gzip"}
        async with session.get(url, headers=auth) as response:
            simulated = await response.json()
            sim_headers = {k.lower() for k in response.headers}
    for name in (
        "test_asyncclient_get_users_mentions.yaml",
        "test_asyncclient_search_recent_tweets.yaml",
    ):
        recorded = yaml.safe_load((SHARED / name).read_text())
        interaction = recorded["interactions"][0]
        body = json.loads(interaction["response"]["body"]["string"])
        assert {"newest_id", "oldest_id", "result_count", "next_token"} <= set(body["meta"])
        tweet = body["data"][0]
        assert {"id", "text", "edit_history_tweet_ids"} <= set(tweet)
        headers = {k.lower() for k in interaction["response"]["headers"]}
        assert {"x-rate-limit-remaining", "x-rate-limit-reset", "content-encoding"} <= headers
        assert set(body["meta"]) <= set(simulated["meta"])
        assert set(tweet) <= set(simulated["data"][0])
        assert (
            headers & {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"}
            <= sim_headers
        )


async def test_rate_limit_mid_burst_resumes_without_loss(
    sim: XSimulator, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = make(initial_lookback=0)
    state = await poll(connector)
    made = sim.seed_mentions(450, spread_seconds=1, until=datetime.now(UTC) + timedelta(seconds=2))
    first = await connector.fetch(state.cursor)
    state.cursor = first.cursor
    state.seen |= {m.external_id for m in first.mentions}
    reset = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 60)}
    sim.inject("mentions", 429, fixture("error_429.json"), reset)
    with pytest.raises(RateLimited) as caught:
        await poll(connector, state)
    with pytest.raises(RateLimited):
        await poll(connector, state)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + (caught.value.retry_after or 0))
    state = await poll(connector, state)
    assert {str(t.id) for t in made} <= state.ids()
