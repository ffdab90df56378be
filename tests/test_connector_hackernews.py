"""The Hacker News connector through its aiohttp client against the local Algolia simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from connector_helpers import connectors

from repbot.connectors.hackernews import HackerNewsConnector
from repbot.connectors.hackernews.simulator import HackerNewsSimulator
from repbot.errors import AuthError, RateLimited, TransientError
from repbot.platforms import mention_of, platform
from repbot.testing.harness import poll

Factory = Callable[..., HackerNewsConnector]


@pytest.fixture
async def sim() -> AsyncIterator[HackerNewsSimulator]:
    async with HackerNewsSimulator() as server:
        yield server


@pytest.fixture
async def make(sim: HackerNewsSimulator) -> AsyncIterator[Factory]:
    async with connectors(
        HackerNewsConnector, "hn", lambda: {"api_base_url": sim.url, "queries": ["orbit bank"]}
    ) as factory:
        yield factory


async def test_stories_and_comments_with_their_thread(
    sim: HackerNewsSimulator, make: Factory
) -> None:
    story = sim.add_story("Orbit Bank froze my account", "<p>What now?")
    top = sim.add_comment(story, "Orbit Bank did the same to me &amp; my wife.")
    sim.add_comment(story, "Try calling them.", parent=top)  # no query match
    sim.add_story("Unrelated launch")
    page = await make().fetch(None)
    by_id = {m.external_id: m for m in page.mentions}
    assert set(by_id) == {str(story.id), str(top.id)}
    post, comment = by_id[str(story.id)], by_id[str(top.id)]
    assert post.kind == "post" and post.title == "Orbit Bank froze my account"
    assert post.text == "What now?"
    assert comment.kind == "comment" and comment.text == "Orbit Bank did the same to me & my wife."
    assert comment.thread.parent == str(story.id) and comment.thread.root == str(story.id)
    assert comment.url == f"https://news.ycombinator.com/item?id={top.id}"
    assert comment.title == story.title and comment.author.handle == "dang"
    (call,) = sim.calls("search")
    assert call.query["tags"] == "(story,comment)" and call.query["query"] == "orbit bank"
    assert call.query["numericFilters"].startswith("created_at_i>")


async def test_pages_through_a_burst_and_then_costs_one_request_per_query(
    sim: HackerNewsSimulator, make: Factory
) -> None:
    sim.seed(250, spacing=10)
    sim.seed(5, word="Nimbus", spacing=600)
    connector = make(queries=["orbit", "nimbus"], hits_per_page=100)
    state = await poll(connector)
    assert len(state.mentions) == 255
    assert [c.query["page"] for c in sim.calls("search")] == ["0", "0", "1", "2"]
    sim.reset_requests()
    for _ in range(3):
        page = await connector.fetch(state.cursor)
        state.cursor = page.cursor
        assert not page.has_more
    assert len(sim.calls("search")) == 6
    story = sim.items[0]
    new = sim.add_comment(story, "Orbit again", created_at=datetime.now(UTC) + timedelta(seconds=2))
    fresh = await poll(connector, state)
    assert str(new.id) in fresh.ids()
    filters = {c.query["numericFilters"] for c in sim.calls("search")[-2:]}
    assert all(f.startswith("created_at_i>") for f in filters)


async def test_zero_lookback_reads_one_unfiltered_page_and_emits_nothing(
    sim: HackerNewsSimulator, make: Factory
) -> None:
    sim.seed(20)
    connector = make(initial_lookback=0)
    first = await connector.fetch(None)
    assert first.mentions == []
    assert "numericFilters" not in sim.calls("search")[0].query
    story = sim.items[0]
    new = sim.add_comment(story, "Orbit Bank", created_at=datetime.now(UTC) + timedelta(seconds=2))
    second = await connector.fetch(first.cursor)
    assert str(new.id) in {m.external_id for m in second.mentions}


async def test_empty_results_and_excluded_authors(sim: HackerNewsSimulator, make: Factory) -> None:
    assert (await make().fetch(None)).mentions == []
    story = sim.add_story("Orbit Bank AMA", author="orbit_bank")
    sim.add_comment(story, "Orbit Bank answered me here", author="alice")
    page = await make(exclude_authors=["Orbit_Bank"]).fetch(None)
    assert [m.author.handle for m in page.mentions] == ["alice"]


async def test_errors(sim: HackerNewsSimulator, make: Factory) -> None:
    sim.inject(
        "search", 429, {"message": "Too many requests", "status": 429}, {"Retry-After": "30"}
    )
    with pytest.raises(RateLimited) as limited:
        await make().fetch(None)
    assert limited.value.retry_after == 30
    sim.inject("search", 503, {"message": "unavailable"})
    with pytest.raises(TransientError):
        await make().fetch(None)
    sim.inject("search", 400, {"message": "invalid filters", "status": 400})
    with pytest.raises(AuthError, match="queries"):
        await make().fetch(None)
    sim.inject("search", 403, {"message": "Forbidden", "status": 403})
    with pytest.raises(AuthError, match="403"):
        await make().fetch(None)


async def test_malformed_hits_are_counted_and_the_rest_kept(
    sim: HackerNewsSimulator, make: Factory
) -> None:
    story = sim.add_story("Orbit Bank")
    sim.add_comment(story, "orbit bank", raw={"objectID": "abc", "created_at_i": 1})
    sim.add_comment(story, "orbit bank", raw={"objectID": "7", "author": "x", "created_at_i": "y"})
    sim.add_comment(story, "Orbit Bank is fine")
    page = await make().fetch(None)
    assert page.malformed == 2 and len(page.mentions) == 2


def test_registry_entry() -> None:
    entry = platform("hackernews")
    assert entry.family == "forum" and not entry.can_reply
    assert mention_of("hackernews", "@dang") == "dang"
    assert mention_of("hackernews", "<script>") is None


async def test_a_burst_beyond_algolias_1000_hit_window_is_read_in_full(
    sim: HackerNewsSimulator, make: Factory
) -> None:
    items = sim.seed(1250, spacing=1)
    connector = make(queries=["orbit"], hits_per_page=200, max_pages_per_poll=20)
    drained = await poll(connector)
    assert drained.ids() == {str(i.id) for i in items}
    calls = sim.calls("search")
    assert "created_at_i<=" in calls[-1].query["numericFilters"]
    assert max(int(c.query["page"]) for c in calls) == 4
