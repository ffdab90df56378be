"""The Reddit connector through praw/prawcore against the local Reddit simulator."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from connector_helpers import connectors, forbid_sleep
from pydantic import ValidationError

from repbot.connectors.reddit import RedditConnector, RedditCursor
from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.errors import AuthError, PostError, RateLimited, TransientError
from repbot.models import Mention
from repbot.testing.harness import poll

FIXTURES = Path(__file__).parent / "fixtures_reddit"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "reddit" / "praw"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """prawcore sleeps to pace and retry; the connector must never let it (the runner waits)."""
    forbid_sleep(monkeypatch)


@pytest.fixture
async def sim() -> AsyncIterator[RedditSimulator]:
    async with RedditSimulator() as server:
        yield server


Factory = Callable[..., RedditConnector]


@pytest.fixture
async def make(sim: RedditSimulator) -> AsyncIterator[Factory]:
    async with connectors(
        RedditConnector,
        "reddit-test",
        lambda: {**sim.credentials(), "subreddits": ["acme"], "queries": ["acme"]},
    ) as factory:
        yield factory


async def test_first_run_starts_from_now(sim: RedditSimulator, make: Factory) -> None:
    sim.seed_mentions(30)
    connector = make()
    first = await poll(connector)
    assert first.mentions == []
    listings = sorted(r.route for r in sim.requests if r.route != "token")
    assert listings == ["comments", "mentions", "new", "search"], "one page per stream, no more"
    post = sim.add_submission("acme ate my homework", "seriously")
    second = await poll(connector, first)
    assert second.ids() == {post.fullname}


async def test_first_run_catches_items_listed_after_it_started(
    sim: RedditSimulator, make: Factory
) -> None:
    connector = make(queries=[], inbox_mentions=False)
    first = await poll(connector)
    made = sim.seed_mentions(50, spread_seconds=5, until=time.time() - 1)
    second = await poll(connector, first)
    assert second.ids() == {t.fullname for t in made}, "created before, listed after the start"


async def test_quiet_stream_rereads_almost_nothing(sim: RedditSimulator, make: Factory) -> None:
    connector = make(queries=[], inbox_mentions=False)
    state = await poll(connector)
    made = sim.seed_mentions(20, spread_seconds=100, until=time.time() - 200)
    state = await poll(connector, state)
    assert state.ids() == {t.fullname for t in made}
    page = await connector.fetch(state.cursor)
    assert len(page.mentions) <= 2, "only the newest item of each stream, at the cut itself"
    assert not page.has_more


async def test_steady_polls_after_a_burst_reread_at_most_one_page(
    sim: RedditSimulator, make: Factory
) -> None:
    connector = make(queries=[], inbox_mentions=False, max_pages_per_poll=50)
    state = await poll(connector)
    sim.seed_mentions(1000, spread_seconds=2)
    state = await poll(connector, state)
    assert len(state.mentions) == 1000
    for _ in range(3):
        sim.reset_requests()
        state = await poll(connector, state)
        assert sorted(r.route for r in sim.requests) == ["comments", "new"]
    assert len(state.mentions) == 1000


async def test_first_run_bounded_backfill(sim: RedditSimulator, make: Factory) -> None:
    sim.seed_mentions(300)
    result = await poll(
        make(backfill_limit=25, queries=[], inbox_mentions=False, submissions=False)
    )
    assert len(result.mentions) == 25
    newest = sorted(
        (t for t in sim.store.things.values() if t.kind == "t1"), key=lambda t: -t.created_utc
    )[:25]
    assert result.ids() == {t.fullname for t in newest}


async def test_steady_polling_reads_every_path_once(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    state = await poll(connector)
    post = sim.add_submission("acme outage?", "site is down", author="worried")
    comment = sim.add_comment("acme pls fix", parent=post, author="angry")
    ping = sim.add_comment("hey u/acme_support look at this", parent=post, author="helper")
    elsewhere_post = sim.add_submission("unrelated", subreddit="other")
    far_ping = sim.add_comment("u/acme_support over here", parent=elsewhere_post, author="far")
    sim.reset_requests()
    page = await connector.fetch(state.cursor)
    ids = [m.external_id for m in page.mentions]
    assert sorted(ids) == sorted(
        {post.fullname, comment.fullname, ping.fullname, far_ping.fullname}
    ), "ping arrives by comments and inbox but is listed once"
    routes = {r.route for r in sim.requests}
    assert {"new", "comments", "search", "mentions"} <= routes
    by_id = {m.external_id: m for m in page.mentions}
    assert by_id[post.fullname].kind == "post" and by_id[post.fullname].title == "acme outage?"
    assert by_id[comment.fullname].thread.root == post.fullname
    assert by_id[far_ping.fullname].community == "other"
    assert by_id[far_ping.fullname].thread.root == elsewhere_post.fullname
    assert by_id[far_ping.fullname].url is not None
    assert by_id[comment.fullname].author.karma == sum(
        (sim.redditor("angry").link_karma, sim.redditor("angry").comment_karma)
    )
    assert by_id[comment.fullname].community_size == sim.subreddit("acme").subscribers


async def test_burst_of_1000_none_missed_or_doubled(sim: RedditSimulator, make: Factory) -> None:
    connector = make(max_pages_per_poll=3)
    state = await poll(connector)
    sim.seed_mentions(1000, spread_seconds=60, until=time.time() + 61)
    state = await poll(connector, state)
    assert state.calls == 1 + 3, "one poll stops after max_pages_per_poll pages"
    arrival = time.time() + 62
    late = [
        sim.add_comment(
            f"acme mid-burst {i}",
            parent=sim.add_submission(f"acme late {i}", created_utc=arrival + i),
            created_utc=arrival + i,
        )
        for i in range(3)
    ]
    for _ in range(10):
        state = await poll(connector, state)
    expected = {t.fullname for t in sim.store.things.values()}
    assert state.ids() == expected
    assert {t.fullname for t in late} <= state.ids()
    assert len(state.mentions) == 1006


async def test_empty_page(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    state = await poll(connector)
    page = await connector.fetch(state.cursor)
    assert page.mentions == [] and not page.has_more and page.malformed == 0
    assert set(RedditCursor.load(page.cursor).streams) == {
        "new:acme",
        "comments:acme",
        "search:acme",
        "inbox",
    }


async def test_fixture_listing_deleted_author(sim: RedditSimulator, make: Factory) -> None:
    connector = make(queries=[], inbox_mentions=False, submissions=False, backfill_limit=10)
    sim.inject("comments", 200, fixture("comments_listing.json"))
    page = await connector.fetch(None)
    by_id = {m.external_id: m for m in page.mentions}
    deleted = by_id["t1_lxq9a11"]
    assert deleted.author.handle == "[deleted]" and deleted.author.karma is None
    assert deleted.thread.parent == "t1_lxq98zz"
    post = by_id["t3_1gt5k2a"]
    assert (
        post.community_size == 48211 and post.metrics.replies == 23 and post.metrics.upvotes == 57
    )
    assert (
        post.url
        == "https://www.reddit.com/r/CustomerService/comments/1gt5k2a/acme_lost_my_package_what_now/"
    )
    comment = by_id["t1_lxq9c0d"]
    assert comment.community == "CustomerService" and comment.community_size == 48211
    assert comment.raw["data"]["body"].startswith("Same thing")


async def test_suspended_author_has_no_karma(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    state = await poll(connector)
    sim.add_submission("acme is a scam", author="banned_guy")
    sim.suspend("banned_guy")
    page = await connector.fetch(state.cursor)
    (mention,) = page.mentions
    assert mention.author.handle == "banned_guy" and mention.author.karma is None


async def test_429_with_reset(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    state = await poll(connector)
    sim.add_submission("acme")
    headers = {
        "x-ratelimit-remaining": "0.0",
        "x-ratelimit-used": "1000",
        "x-ratelimit-reset": "37",
    }
    sim.inject("new", 429, {"message": "Too Many Requests", "error": 429}, headers)
    sim.reset_requests()
    with pytest.raises(RateLimited) as caught:
        await connector.fetch(state.cursor)
    assert caught.value.retry_after is not None and 35 <= caught.value.retry_after <= 37
    assert len(sim.calls("new")) == 1, "no retry inside prawcore"


async def test_low_remaining_stops_before_the_server_refuses(
    sim: RedditSimulator, make: Factory
) -> None:
    connector = make()
    state = await poll(connector)
    sim.add_submission("acme")
    sim.limit = sim._window.used + 2
    sim.reset_requests()
    with pytest.raises(RateLimited) as caught:
        await connector.fetch(state.cursor)
    assert caught.value.retry_after is not None and caught.value.retry_after > 500
    assert len(sim.calls("new")) == 1 and not sim.calls("comments"), "stopped before a 429"


async def test_exhausted_window(sim: RedditSimulator, make: Factory) -> None:
    connector = make(backfill_limit=5)
    sim.exhaust(reset_in=90)
    with pytest.raises(RateLimited) as caught:
        await connector.fetch(None)
    assert caught.value.retry_after is not None and 85 <= caught.value.retry_after <= 90


async def test_bad_app_credentials(sim: RedditSimulator, make: Factory) -> None:
    with pytest.raises(AuthError, match="client_id/client_secret") as caught:
        await make(client_secret="wrong", backfill_limit=1).fetch(None)
    assert "wrong" not in str(caught.value)


async def test_bad_password(sim: RedditSimulator, make: Factory) -> None:
    with pytest.raises(AuthError, match="invalid_grant"):
        await make(password="nope", backfill_limit=1).fetch(None)


async def test_forbidden_and_missing(sim: RedditSimulator, make: Factory) -> None:
    sim.inject("new", 403, {"message": "Forbidden", "error": 403})
    with pytest.raises(AuthError, match="403"):
        await make(backfill_limit=1).fetch(None)
    sim.inject("new", 404, {"message": "Not Found", "error": 404})
    with pytest.raises(AuthError, match="does not exist"):
        await make(backfill_limit=1).fetch(None)


async def test_server_error_is_transient_without_retry(sim: RedditSimulator, make: Factory) -> None:
    sim.inject("new", 503, "<html>upstream overloaded</html>")
    with pytest.raises(TransientError):
        await make(backfill_limit=1).fetch(None)
    assert len(sim.calls("new")) == 1


async def test_malformed_items_are_counted(sim: RedditSimulator, make: Factory) -> None:
    connector = make(queries=[], inbox_mentions=False, submissions=False, backfill_limit=10)
    sim.inject("comments", 200, fixture("malformed_listing.json"))
    page = await connector.fetch(None)
    assert page.malformed == 2
    assert [m.external_id for m in page.mentions] == ["t1_lxr0001", "t1_lxr0004"]


async def _a_mention(sim: RedditSimulator, connector: RedditConnector) -> tuple[Mention, Mention]:
    state = await poll(connector)
    post = sim.add_submission("acme broke my phone", author="sad")
    sim.add_comment("acme never again", parent=post, author="sadder")
    page = await connector.fetch(state.cursor)
    by_kind = {m.kind: m for m in page.mentions}
    return by_kind["post"], by_kind["comment"]


async def test_reply_to_comment_and_submission(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    post, comment = await _a_mention(sim, connector)
    to_comment = await connector.reply(comment, "Sorry! DM us please.", "k1")
    to_post = await connector.reply(post, "We're looking into it.", "k2")
    replies = {t.fullname: t for t in sim.replies_by_account()}
    assert replies[to_comment.external_id].parent_id == comment.external_id
    assert replies[to_post.external_id].parent_id == post.external_id
    assert to_comment.url and to_comment.url.startswith("https://www.reddit.com/r/acme/comments/")
    assert sim.calls("comment")[0].form()["thing_id"] == comment.external_id


async def test_lost_reply_is_found_not_doubled(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    _, comment = await _a_mention(sim, connector)
    assert await connector.find_reply(comment, "k") is None
    sim.inject("comment", 502, "<html>bad gateway</html>", apply=True)
    with pytest.raises(PostError) as caught:
        await connector.reply(comment, "On it!", "k")
    assert caught.value.transient
    found = await connector.find_reply(comment, "k")
    (reply,) = sim.replies_by_account()
    assert found is not None and found.external_id == reply.fullname


async def test_reply_api_errors(sim: RedditSimulator, make: Factory) -> None:
    connector = make()
    _, comment = await _a_mention(sim, connector)
    sim.inject("comment", 200, fixture("error_ratelimit.json"))
    with pytest.raises(PostError) as caught:
        await connector.reply(comment, "hi", "k")
    assert caught.value.transient
    sim.inject("comment", 200, fixture("error_thread_locked.json"))
    with pytest.raises(PostError) as caught:
        await connector.reply(comment, "hi", "k")
    assert not caught.value.transient
    sim.inject("comment", 200, fixture("comment_reply.json"))
    posted = await connector.reply(comment, "hi", "k")
    assert posted.external_id == "t1_lxr7z01"
    assert posted.url == (
        "https://www.reddit.com/r/CustomerService/comments/1gt5k2a/acme_lost_my_package_what_now/lxr7z01/"
    )


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError, match="client_secret"):
        RedditConnector.Config.model_validate({"client_id": "a", "queries": ["x"]})
    with pytest.raises(ValidationError, match="both username and password"):
        RedditConnector.Config.model_validate(
            {"client_id": "a", "client_secret": "b", "username": "u", "queries": ["x"]}
        )
    with pytest.raises(ValidationError, match="nothing to listen to"):
        RedditConnector.Config.model_validate(
            {"client_id": "a", "client_secret": "b", "inbox_mentions": False}
        )
    cfg = RedditConnector.Config.model_validate(
        {
            "client_id": "a",
            "client_secret": "b",
            "queries": ["x"],
            "api_base_url": "http://127.0.0.1:9/",
        }
    )
    assert cfg.oauth_url == cfg.reddit_url == "http://127.0.0.1:9"


def test_recorded_cassettes_have_the_fields_the_connector_reads() -> None:
    """Conformance: praw's recorded listings carry every field the mapping relies on."""
    if not SHARED.is_dir():
        pytest.skip("../shared fixtures absent")
    needed = {
        "TestSubredditListings.test_comments.json": (
            "t1",
            {"name", "author", "body", "created_utc", "parent_id", "link_id", "subreddit", "score"},
        ),
        "TestSubredditListings.test_new.json": (
            "t3",
            {"name", "author", "title", "selftext", "created_utc", "permalink", "num_comments"},
        ),
        "TestInbox.test_mentions.json": (
            "t1",
            {
                "name",
                "author",
                "body",
                "created_utc",
                "parent_id",
                "context",
                "subreddit",
                "author_fullname",
            },
        ),
    }
    for name, (kind, fields) in needed.items():
        recorded = json.loads((SHARED / name).read_text())
        response = recorded["interactions"][1]["response"]
        listing = json.loads(response["body"]["string"])
        child = listing["data"]["children"][0]
        assert child["kind"] == kind
        assert fields <= set(child["data"]), name
        assert "after" in listing["data"]
    reply = json.loads((SHARED / "TestComment.test_reply.json").read_text())
    body = json.loads(reply["interactions"][1]["response"]["body"]["string"])
    assert body["json"]["data"]["things"][0]["kind"] == "t1"
    headers = {k.lower() for k in reply["interactions"][1]["response"]["headers"]}
    assert {"x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"} <= headers


async def test_rate_limit_mid_burst_resumes_without_loss(
    sim: RedditSimulator, make: Factory
) -> None:
    connector = make(queries=[], inbox_mentions=False)
    state = await poll(connector)
    made = sim.seed_mentions(450, spread_seconds=10, until=time.time() + 11)
    first = await connector.fetch(state.cursor)
    state.cursor = first.cursor
    state.seen |= {m.external_id for m in first.mentions}
    sim.inject(
        "comments", 429, {"message": "Too Many Requests", "error": 429}, {"retry-after": "5"}
    )
    with pytest.raises(RateLimited) as caught:
        await poll(connector, state)
    assert caught.value.retry_after == 5
    state = await poll(connector, state)
    assert {t.fullname for t in made} <= state.ids()
