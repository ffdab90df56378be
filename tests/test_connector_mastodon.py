"""The Mastodon connector through Mastodon.py against the local Mastodon simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from connector_helpers import connectors
from pydantic import ValidationError

from repbot.connectors.mastodon import MastodonConnector, MastodonCursor
from repbot.connectors.mastodon.simulator import MastodonSimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.platforms import mention_of
from repbot.testing.harness import poll


@pytest.fixture
async def sim() -> AsyncIterator[MastodonSimulator]:
    async with MastodonSimulator() as server:
        yield server


Factory = Callable[..., MastodonConnector]


@pytest.fixture
async def make(sim: MastodonSimulator) -> AsyncIterator[Factory]:
    async with connectors(MastodonConnector, "mastodon-test", sim.options) as factory:
        yield factory


async def test_mentions_become_mentions(sim: MastodonSimulator, make: Factory) -> None:
    sim.mention("@acme my <b>order</b> &amp; refund?", language="de")
    page = await make().fetch(None)
    assert len(page.mentions) == 1
    mention = page.mentions[0]
    assert mention.platform == "mastodon" and mention.kind == "post"
    assert mention.text == "@acme my order & refund?"
    assert mention.author.handle == "dana@fedi.example"
    assert mention_of("mastodon", mention.author.handle) == "@dana@fedi.example"
    assert mention.language == "de"
    assert mention.url and mention.url.startswith("https://fedi.example/@dana/")
    assert mention.raw["status"]["visibility"] == "public"
    assert sim.calls("notifications")[0].query["types[]"] == "mention"


async def test_burst_is_read_in_order_without_gaps(sim: MastodonSimulator, make: Factory) -> None:
    connector = make()
    first = await poll(connector)
    assert first.mentions == []
    seeded = sim.seed_mentions(85)
    sim.reset_requests()
    drained = await poll(connector, first)
    assert drained.ids() == {str(s.id) for s in seeded}
    calls = sim.calls("notifications")
    assert len(calls) == 3  # 40 + 40 + 5, newest first down to what was delivered
    assert "max_id" not in calls[0].query
    assert int(calls[2].query["max_id"]) < int(calls[1].query["max_id"])
    assert all(c.query["since_id"] == calls[0].query["since_id"] for c in calls)
    assert drained.calls == 1 + 3


async def test_steady_poll_costs_one_request_per_stream(
    sim: MastodonSimulator, make: Factory
) -> None:
    sim.seed_mentions(3)
    sim.add_status("#acme old", tags=["acme"], created_at=datetime.now(UTC) - timedelta(hours=2))
    connector = make(hashtags=["acme"], queries=["acme"], overlap=0)
    state = await poll(connector)
    sim.reset_requests()
    for _ in range(3):
        state = await poll(connector, state)
    routes = [r.route for r in sim.requests]
    assert sorted(routes) == sorted(["notifications", "timeline_hashtag", "search"] * 3)
    assert state.duplicates == 0


async def test_hashtag_overlap_rereads_late_federated_posts(
    sim: MastodonSimulator, make: Factory
) -> None:
    connector = make(notifications=False, hashtags=["acme"], overlap=120)
    sim.add_status("#acme first", tags=["acme"])
    state = await poll(connector)
    late = sim.add_status(
        "#acme late", tags=["acme"], created_at=datetime.now(UTC) - timedelta(seconds=30)
    )
    state = await poll(connector, state)
    assert str(late.id) in state.ids()


async def test_brand_statuses_are_not_mentions(sim: MastodonSimulator, make: Factory) -> None:
    sim.add_status("#acme news from us", author=sim.brand, tags=["acme"])
    sim.add_status("#acme I like it", tags=["acme"])
    page = await make(notifications=False, hashtags=["acme"]).fetch(None)
    assert [m.text for m in page.mentions] == ["#acme I like it"]


async def test_reply_to_the_brand_carries_the_parent(sim: MastodonSimulator, make: Factory) -> None:
    connector = make()
    asked = sim.mention("@acme where is my parcel?")
    first = await connector.fetch(None)
    posted = await connector.reply(first.mentions[0], "@dana it ships today", "key-1")
    sim.mention("@acme thanks!", in_reply_to_id=int(posted.external_id))
    second = await connector.fetch(first.cursor)
    follow_up = second.mentions[0]
    assert follow_up.kind == "reply"
    assert follow_up.thread.parent == posted.external_id
    assert sim.statuses[int(posted.external_id)].in_reply_to_id == asked.id


async def test_reply_keeps_visibility_and_idempotency(
    sim: MastodonSimulator, make: Factory
) -> None:
    sim.mention("@acme privately: refund?", visibility="private")
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    first = await connector.reply(mention, "@dana sent you a DM", "key-7")
    again = await connector.reply(mention, "@dana sent you a DM", "key-7")
    assert first.external_id == again.external_id
    call = sim.calls("status_post")[0]
    assert call.form()["visibility"] == "private"
    assert call.form()["in_reply_to_id"] == mention.external_id
    assert call.headers["Idempotency-Key"] == "key-7"


async def test_find_reply_after_a_lost_response(sim: MastodonSimulator, make: Factory) -> None:
    sim.mention("@acme hello")
    sim.mention("@acme other")
    connector = make()
    mentions = (await connector.fetch(None)).mentions
    target, other = mentions[1], mentions[0]
    assert await connector.find_reply(target, "k") is None
    sim.inject("status_post", 503, {"error": "unavailable"}, apply=True)
    with pytest.raises(PostError) as caught:
        await connector.reply(target, "@dana hi", "k")
    assert caught.value.transient
    found = await connector.find_reply(target, "k")
    assert found is not None
    assert sim.statuses[int(found.external_id)].in_reply_to_id == int(target.external_id)
    assert await connector.find_reply(other, "k") is None


async def test_reply_to_a_deleted_status_is_permanent(
    sim: MastodonSimulator, make: Factory
) -> None:
    sim.mention("@acme bye")
    connector = make()
    mention = (await connector.fetch(None)).mentions[0]
    del sim.statuses[int(mention.external_id)]
    with pytest.raises(PostError) as caught:
        await connector.reply(mention, "@dana sorry", "k")
    assert not caught.value.transient


async def test_unauthorized_names_the_cause_without_the_token(
    sim: MastodonSimulator, make: Factory
) -> None:
    connector = make(access_token="wrong-token-value")
    with pytest.raises(AuthError, match="access token was rejected") as caught:
        await connector.fetch(None)
    assert "wrong-token-value" not in str(caught.value)


async def test_forbidden_is_an_auth_error(sim: MastodonSimulator, make: Factory) -> None:
    sim.inject("notifications", 403, {"error": "This action is outside the authorized scopes"})
    with pytest.raises(AuthError, match=r"403 Forbidden.*lacks a scope"):
        await make().fetch(None)


async def test_429_waits_for_the_reset(sim: MastodonSimulator, make: Factory) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=200)
    sim.inject(
        "notifications",
        429,
        {"error": "Too many requests"},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()},
    )
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 201


async def test_low_remaining_stops_before_sending(sim: MastodonSimulator, make: Factory) -> None:
    sim.limit = 4
    connector = make()
    state = await poll(connector)
    await poll(connector, state)
    sent = len(sim.requests)
    with pytest.raises(RateLimited):
        await connector.fetch(state.cursor)
    assert len(sim.requests) == sent


async def test_local_budget(sim: MastodonSimulator, make: Factory) -> None:
    connector = make(requests_per_5min=2)
    state = await poll(connector)
    state = await poll(connector, state)
    with pytest.raises(RateLimited) as caught:
        await connector.fetch(state.cursor)
    assert caught.value.retry_after is not None and caught.value.retry_after > 200


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(
    sim: MastodonSimulator, make: Factory, status: int
) -> None:
    sim.inject("notifications", status, {"error": "oops"})
    with pytest.raises(TransientError):
        await make().fetch(None)


async def test_malformed_items_are_counted_and_skipped(
    sim: MastodonSimulator, make: Factory
) -> None:
    good = sim.mention("@acme fine")
    sim.malformed_notification({"type": "mention", "status": {"id": "x1", "content": 3}})
    sim.malformed_notification({"type": "mention"})
    later = sim.mention("@acme also fine")
    connector = make()
    page = await connector.fetch(None)
    assert {m.external_id for m in page.mentions} == {str(good.id), str(later.id)}
    assert page.malformed == 2
    again = await connector.fetch(page.cursor)
    assert again.malformed == 0 and again.mentions == []


async def test_skip_existing(sim: MastodonSimulator, make: Factory) -> None:
    sim.seed_mentions(5)
    connector = make(skip_existing=True)
    first = await connector.fetch(None)
    assert first.mentions == []
    new = sim.mention("@acme after start")
    second = await connector.fetch(first.cursor)
    assert [m.external_id for m in second.mentions] == [str(new.id)]


async def test_search_stream(sim: MastodonSimulator, make: Factory) -> None:
    sim.add_status("Acme kettles are great")
    sim.add_status("unrelated")
    page = await make(notifications=False, queries=["acme"]).fetch(None)
    assert [m.text for m in page.mentions] == ["Acme kettles are great"]
    assert sim.calls("search")[0].query["type"] == "statuses"


def test_config() -> None:
    with pytest.raises(ValidationError, match="nothing to listen to"):
        MastodonConnector.Config.model_validate(
            {"api_base_url": "https://m.example", "access_token": "t0ken", "notifications": False}
        )
    with pytest.raises(ValidationError, match="empty"):
        MastodonConnector.Config.model_validate(
            {"api_base_url": "https://m.example", "access_token": " "}
        )
    cfg = MastodonConnector.Config.model_validate(
        {"api_base_url": "https://m.example/", "access_token": "t0ken", "hashtags": ["#acme"]}
    )
    assert cfg.hashtags == ["acme"] and cfg.api_base_url == "https://m.example"  # type: ignore[attr-defined]


def test_cursor_round_trip() -> None:
    assert MastodonCursor.load("garbage").streams == {}
    cursor = MastodonCursor.load('{"streams": {"notifications": {"mark": 7}}, "chain": 2}')
    assert MastodonCursor.load(cursor.dump()) == cursor


async def test_overlap_rereads_at_most_one_page(sim: MastodonSimulator, make: Factory) -> None:
    for i in range(12):
        sim.add_status(f"#acme post {i}", tags=["acme"])
    connector = make(notifications=False, hashtags=["acme"], page_size=5, overlap=600)
    state = await poll(connector)
    assert len(state.mentions) == 5  # the first run reads the newest page only
    sim.reset_requests()
    state = await poll(connector, state)
    assert len(sim.calls("timeline_hashtag")) == 1
    assert state.duplicates == 5
    newer = sim.add_status("#acme newer", tags=["acme"])
    state = await poll(connector, state)
    assert str(newer.id) in state.ids()
    assert len(sim.calls("timeline_hashtag")) == 2
