"""The Bluesky connector through atproto's AsyncClient against the local Bluesky simulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from connector_helpers import connectors
from pydantic import ValidationError

from repbot.connectors.bluesky import BlueskyConnector, BlueskyCursor
from repbot.connectors.bluesky.simulator import BlueskySimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.platforms import mention_of
from repbot.testing.harness import poll


@pytest.fixture
async def sim() -> AsyncIterator[BlueskySimulator]:
    async with BlueskySimulator() as server:
        yield server


Factory = Callable[..., BlueskyConnector]


@pytest.fixture
async def make(sim: BlueskySimulator) -> AsyncIterator[Factory]:
    async with connectors(BlueskyConnector, "bluesky-test", sim.options) as factory:
        yield factory


async def test_mentions_become_mentions(sim: BlueskySimulator, make: Factory) -> None:
    post = sim.mention("@acme.bsky.social où est ma commande ?", langs=["fr"])
    sim.notify("like")
    page = await make().fetch(None)
    assert [m.external_id for m in page.mentions] == [post.uri]
    mention = page.mentions[0]
    assert mention.platform == "bluesky" and mention.kind == "post"
    assert mention.author.handle == "dana.bsky.social"
    assert mention_of("bluesky", mention.author.handle) == "@dana.bsky.social"
    assert mention.language == "fr"
    assert (
        mention.url == f"https://bsky.app/profile/dana.bsky.social/post/{post.uri.rsplit('/')[-1]}"
    )
    assert mention.raw["cid"] == post.cid
    assert sim.calls("listNotifications")[0].query["reasons"] in ("mention", "reply")
    assert len(sim.calls("createSession")) == 1


async def test_burst_spans_pages_without_gaps(sim: BlueskySimulator, make: Factory) -> None:
    connector = make(page_size=50)
    state = await poll(connector)
    seeded = sim.seed_mentions(130)
    sim.reset_requests()
    state = await poll(connector, state)
    assert {str(p.uri) for p in seeded} <= state.ids()
    assert len(sim.calls("listNotifications")) == 3


async def test_steady_poll_costs_one_request_per_stream(
    sim: BlueskySimulator, make: Factory
) -> None:
    sim.seed_mentions(5)
    connector = make(queries=["acme"], overlap=0)
    state = await poll(connector)
    assert len(state.mentions) == 5
    sim.reset_requests()
    for _ in range(3):
        state = await poll(connector, state)
    assert sorted(r.route for r in sim.requests) == sorted(["listNotifications", "searchPosts"] * 3)
    assert state.duplicates == 0


async def test_first_run_reads_only_the_lookback(sim: BlueskySimulator, make: Factory) -> None:
    sim.mention("@acme.bsky.social old", indexed_at=datetime.now(UTC) - timedelta(hours=3))
    recent = sim.mention("@acme.bsky.social recent")
    page = await make(initial_lookback=3600).fetch(None)
    assert [m.external_id for m in page.mentions] == [recent.uri]


async def test_no_lookback_primes_without_emitting(sim: BlueskySimulator, make: Factory) -> None:
    sim.seed_mentions(3)
    connector = make(initial_lookback=0)
    first = await connector.fetch(None)
    assert first.mentions == []
    new = sim.mention("@acme.bsky.social after start")
    second = await connector.fetch(first.cursor)
    assert [m.external_id for m in second.mentions] == [new.uri]


async def test_reply_to_the_brand_carries_parent_and_root(
    sim: BlueskySimulator, make: Factory
) -> None:
    connector = make(overlap=0)
    question = sim.mention("@acme.bsky.social is it broken?")
    first = await connector.fetch(None)
    posted = await connector.reply(first.mentions[0], "@dana.bsky.social no, see acme.example", "k")
    answer = sim.mention("thanks!", reply_to=sim.posts[posted.external_id])
    second = await connector.fetch(first.cursor)
    follow_up = next(m for m in second.mentions if m.external_id == answer.uri)
    assert follow_up.kind == "reply"
    assert follow_up.thread.parent == posted.external_id
    assert follow_up.thread.root == question.uri
    assert follow_up.raw["reason"] == "reply"
    # replying to the follow-up keeps the thread's root
    await connector.reply(follow_up, "glad to help", "k2")
    record = sim.calls("createRecord")[-1].json()["record"]
    assert record["reply"]["root"]["uri"] == question.uri
    assert record["reply"]["parent"]["uri"] == answer.uri


async def test_reply_has_facets_for_mentions_and_links(
    sim: BlueskySimulator, make: Factory
) -> None:
    sim.mention()
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    text = "@dana.bsky.social see https://acme.example/help ✨"
    await connector.reply(mention, text, "k")
    facets = sim.calls("createRecord")[0].json()["record"]["facets"]
    by_kind = {f["features"][0]["$type"].rsplit("#")[-1]: f for f in facets}
    encoded = text.encode()
    mention_facet, link = by_kind["mention"], by_kind["link"]
    start, end = mention_facet["index"]["byteStart"], mention_facet["index"]["byteEnd"]
    assert encoded[start:end] == b"@dana.bsky.social"
    assert mention_facet["features"][0]["did"] == sim.actor("dana").did
    assert link["features"][0]["uri"] == "https://acme.example/help"


async def test_find_reply_after_a_lost_response(sim: BlueskySimulator, make: Factory) -> None:
    sim.mention("@acme.bsky.social one")
    sim.mention("@acme.bsky.social two")
    connector = make()
    mentions = (await connector.fetch(None)).mentions
    target, other = mentions[0], mentions[1]
    assert await connector.find_reply(target, "k") is None
    sim.inject("createRecord", 503, {"error": "InternalServerError"}, apply=True)
    with pytest.raises(PostError) as caught:
        await connector.reply(target, "hi", "k")
    assert caught.value.transient
    found = await connector.find_reply(target, "k")
    assert found is not None and sim.posts[found.external_id].author is sim.brand
    assert await connector.find_reply(other, "k") is None


async def test_too_long_reply_is_permanent(sim: BlueskySimulator, make: Factory) -> None:
    sim.mention()
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    with pytest.raises(PostError, match="300 graphemes") as caught:
        await connector.reply(mention, "é" * 301, "k")
    assert not caught.value.transient


async def test_wrong_app_password_names_the_cause(sim: BlueskySimulator, make: Factory) -> None:
    connector = make(app_password="not-the-password")
    with pytest.raises(AuthError, match="app_password") as caught:
        await connector.fetch(None)
    assert "not-the-password" not in str(caught.value)


async def test_429_waits_for_ratelimit_reset(sim: BlueskySimulator, make: Factory) -> None:
    reset = int(time.time()) + 240
    sim.inject(
        "listNotifications",
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={"ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after is not None and 200 < caught.value.retry_after <= 241


async def test_spent_window_stops_before_sending(sim: BlueskySimulator, make: Factory) -> None:
    sim.limit = 4  # createSession, getProfile, then one listing leaves 1
    connector = make()
    await connector.fetch(None)
    sent = len(sim.requests)
    with pytest.raises(RateLimited):
        await connector.fetch(None)
    assert len(sim.requests) == sent


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(
    sim: BlueskySimulator, make: Factory, status: int
) -> None:
    sim.inject("listNotifications", status, {"error": "InternalServerError"})
    with pytest.raises(TransientError):
        await make().fetch(None)


async def test_rejected_search_disables_with_the_query(
    sim: BlueskySimulator, make: Factory
) -> None:
    sim.inject("searchPosts", 400, {"error": "InvalidRequest", "message": "bad query"})
    with pytest.raises(AuthError, match="search:acme"):
        await make(mentions=False, queries=["acme"]).fetch(None)


async def test_malformed_items_are_counted_and_skipped(
    sim: BlueskySimulator, make: Factory
) -> None:
    good = sim.mention("@acme.bsky.social fine")
    stamp = datetime.now(UTC).isoformat()
    sim.notify("mention", raw={"uri": "not-a-uri", "reason": "mention", "indexedAt": stamp})
    sim.notify("mention", raw={"reason": "mention", "indexedAt": "yesterday"})
    later = sim.mention("@acme.bsky.social also fine")
    connector = make()
    page = await connector.fetch(None)
    assert {m.external_id for m in page.mentions} == {good.uri, later.uri}
    assert page.malformed == 2


async def test_session_is_refreshed_not_recreated(sim: BlueskySimulator, make: Factory) -> None:
    sim.access_ttl = 60  # atproto refreshes 15 minutes before expiry
    connector = make()
    state = await poll(connector)
    await poll(connector, state)
    assert len(sim.calls("createSession")) == 1
    assert len(sim.calls("refreshSession")) >= 1
    assert all(r.headers.get("Authorization") for r in sim.calls("listNotifications"))


async def test_revoked_session_logs_in_again(sim: BlueskySimulator, make: Factory) -> None:
    connector = make()
    state = await poll(connector)
    sim.revoked.update(
        r.headers["Authorization"].removeprefix("Bearer ") for r in sim.calls("listNotifications")
    )
    with pytest.raises(TransientError, match="logging in again"):
        await connector.fetch(state.cursor)
    await connector.fetch(state.cursor)
    assert len(sim.calls("createSession")) == 2


def test_config() -> None:
    with pytest.raises(ValidationError, match="domain name"):
        BlueskyConnector.Config.model_validate({"handle": "acme", "app_password": "abcd-efgh"})
    with pytest.raises(ValidationError, match="nothing to listen to"):
        BlueskyConnector.Config.model_validate(
            {"handle": "acme.bsky.social", "app_password": "abcd-efgh", "mentions": False}
        )


def test_cursor_round_trip() -> None:
    assert BlueskyCursor.load("[]").streams == {}
    cursor = BlueskyCursor.load('{"streams": {"mentions": {"mark": 5.5}}, "chain": 1}')
    assert BlueskyCursor.load(cursor.dump()) == cursor


async def test_overlap_rereads_at_most_one_page(sim: BlueskySimulator, make: Factory) -> None:
    seeded = sim.seed_mentions(12)
    connector = make(page_size=5, overlap=600)
    state = await poll(connector)
    assert state.ids() == {p.uri for p in seeded}
    sim.reset_requests()
    state = await poll(connector, state)
    assert len(sim.calls("listNotifications")) == 1
    assert state.duplicates == 5
