"""The RSS connector through aiohttp and feedparser against the local feed simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from connector_helpers import connectors
from pydantic import ValidationError

from repbot.connectors.rss import RssConnector, RssCursor, html_text
from repbot.connectors.rss.simulator import RssSimulator
from repbot.errors import AuthError, RateLimited, TransientError
from repbot.runner import SourceRunner
from repbot.store import SqliteStore
from repbot.testing.harness import poll


@pytest.fixture
async def sim() -> AsyncIterator[RssSimulator]:
    async with RssSimulator() as server:
        yield server


Factory = Callable[..., RssConnector]


@pytest.fixture
async def make(sim: RssSimulator) -> AsyncIterator[Factory]:
    async with connectors(
        RssConnector, "rss-test", lambda: {"api_base_url": sim.url, "feeds": ["/feeds/news"]}
    ) as factory:
        yield factory


async def test_entries_become_articles(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news", title="Daily Planet")
    sim.add_entry(
        "news",
        "Acme <b>recalls</b> kettles",
        "<p>Acme&nbsp;said &amp; did.</p>",
        author="Lois",
        published=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )
    page = await make().fetch(None)
    assert len(page.mentions) == 1
    mention = page.mentions[0]
    assert mention.platform == "rss" and mention.kind == "article"
    assert mention.title == "Acme recalls kettles"
    assert mention.text == "Acme\xa0said & did."
    assert mention.url and mention.url.startswith("https://news.example/news/")
    assert mention.created_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert mention.language == "en"
    assert mention.community == "Daily Planet"
    assert mention.author.display_name == "Lois"
    assert mention.external_id.startswith("tag:sim.example")


async def test_steady_poll_is_one_conditional_request_answered_304(
    sim: RssSimulator, make: Factory
) -> None:
    sim.add_feed("news")
    sim.seed("news", 5)
    connector = make()
    first = await poll(connector)
    assert len(first.mentions) == 5
    sim.reset_requests()
    for _ in range(3):
        again = await connector.fetch(first.cursor)
        assert again.mentions == [] and again.malformed == 0
        first.cursor = again.cursor
    calls = sim.calls("feed")
    assert len(calls) == 3
    assert all(c.headers.get("If-None-Match") for c in calls)
    assert connector.requests_made == 4


async def test_last_modified_alone_also_gives_304(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news", etags=False)
    sim.seed("news", 2)
    connector = make()
    first = await connector.fetch(None)
    second = await connector.fetch(first.cursor)
    assert second.mentions == []
    assert sim.calls("feed")[-1].headers.get("If-Modified-Since")


async def test_only_new_entries_are_emitted_when_the_feed_changes(
    sim: RssSimulator, make: Factory
) -> None:
    sim.add_feed("news")
    sim.seed("news", 3)
    connector = make()
    first = await connector.fetch(None)
    fresh = sim.add_entry("news", "Acme opens a new store")
    second = await connector.fetch(first.cursor)
    assert [m.external_id for m in second.mentions] == [fresh.id]


async def test_google_alerts_links_are_unwrapped(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("alerts", kind="atom", google_alerts=True, language=None)
    sim.add_entry("alerts", "<b>Acme</b> wins award", link="https://paper.example/a?b=1&c=2")
    page = await make(feeds=["/feeds/alerts"]).fetch(None)
    assert page.mentions[0].url == "https://paper.example/a?b=1&c=2"
    assert page.mentions[0].title == "Acme wins award"
    assert page.mentions[0].raw["link"].startswith("https://www.google.com/url")


async def test_keyword_filter(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news")
    sim.add_entry("news", "Weather today", "<p>Sunny</p>")
    sim.add_entry("news", "Markets", "<p>ACME shares rise</p>")
    page = await make(keywords=["acme"]).fetch(None)
    assert [m.title for m in page.mentions] == ["Markets"]


async def test_skip_existing_emits_nothing_on_the_first_run(
    sim: RssSimulator, make: Factory
) -> None:
    sim.add_feed("news")
    sim.seed("news", 4)
    connector = make(skip_existing=True)
    first = await connector.fetch(None)
    assert first.mentions == []
    sim.add_entry("news", "Acme after start")
    second = await connector.fetch(first.cursor)
    assert [m.title for m in second.mentions] == ["Acme after start"]


async def test_malformed_feed_is_counted_and_readable_entries_kept(
    sim: RssSimulator, make: Factory
) -> None:
    sim.add_feed("news")
    broken = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Acme one</title><guid>g1</guid><description>ok &amp; fine</description>"
        b"</item><item><title>no id</title></item>"
        b"<item><title>Acme two</title><guid>g2</guid><description>bad & unescaped"
    )
    sim.set_body("news", broken)
    page = await make().fetch(None)
    ids = {m.external_id for m in page.mentions}
    assert "g1" in ids
    assert page.malformed >= 2  # the bozo document and the entry without id or link


async def test_not_a_feed_at_all_is_counted_not_fatal(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news")
    sim.set_body("news", b"<html><body>Moved</body></html>")
    page = await make().fetch(None)
    assert page.mentions == []


@pytest.mark.parametrize(
    ("status", "error", "phrase"),
    [
        (401, AuthError, "refused access"),
        (403, AuthError, "refused access"),
        (404, AuthError, "does not exist"),
        (503, TransientError, "503"),
    ],
)
async def test_http_errors_are_mapped(
    sim: RssSimulator, make: Factory, status: int, error: type[Exception], phrase: str
) -> None:
    sim.add_feed("news")
    sim.inject("feed", status, b"nope")
    with pytest.raises(error, match=phrase):
        await make().fetch(None)


async def test_429_with_retry_after_is_rate_limited(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news")
    sim.inject("feed", 429, b"slow down", headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as caught:
        await make().fetch(None)
    assert caught.value.retry_after == 120


async def test_a_failed_poll_keeps_the_previous_position(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news")
    sim.seed("news", 2)
    connector = make()
    first = await connector.fetch(None)
    sim.add_entry("news", "Acme during outage")
    sim.inject("feed", 502, b"bad gateway")
    with pytest.raises(TransientError):
        await connector.fetch(first.cursor)
    after = await connector.fetch(first.cursor)
    assert [m.title for m in after.mentions] == ["Acme during outage"]


async def test_several_feeds_keep_their_own_validators(sim: RssSimulator, make: Factory) -> None:
    sim.add_feed("news")
    sim.add_feed("blog", kind="atom")
    sim.seed("news", 2)
    sim.seed("blog", 3)
    connector = make(feeds=["/feeds/news", "/feeds/blog"])
    first = await connector.fetch(None)
    assert len(first.mentions) == 5
    cursor = RssCursor.load(first.cursor)
    assert set(cursor.feeds) == {"/feeds/news", "/feeds/blog"}
    sim.add_entry("blog", "Acme blog post")
    second = await connector.fetch(first.cursor)
    assert [m.title for m in second.mentions] == ["Acme blog post"]
    statuses = [c.path for c in sim.calls("feed")[-2:]]
    assert statuses == ["/feeds/news", "/feeds/blog"]


def test_config_rejects_bad_feeds() -> None:
    with pytest.raises(ValidationError, match="must start with"):
        RssConnector.Config.model_validate({"feeds": ["ftp://x"]})
    with pytest.raises(ValidationError):
        RssConnector.Config.model_validate({"feeds": []})
    with pytest.raises(ValidationError):
        RssConnector.Config.model_validate({"feeds": ["/a"], "unknown": 1})


def test_html_text() -> None:
    assert html_text("<p>a<br>b</p><script>x()</script><p>c &lt;d&gt;</p>") == "a\nb\nc <d>"


def test_unreadable_cursor_starts_afresh() -> None:
    assert RssCursor.load("{not json").feeds == {}


async def test_through_the_runner_and_a_sqlite_store(
    sim: RssSimulator, make: Factory, tmp_path: Path
) -> None:
    sim.add_feed("news")
    sim.seed("news", 3)
    store = SqliteStore(tmp_path / "rss.db")
    runner = SourceRunner(store, make())
    try:
        first = await runner.poll()
        assert (first.new, first.error) == (3, None)
        sim.reset_requests()
        steady = await runner.poll()
        assert (steady.new, steady.duplicates) == (0, 0)
        assert [c.headers.get("If-None-Match") is not None for c in sim.calls("feed")] == [True]
        sim.add_entry("news", "Acme late story")
        assert (await runner.poll()).new == 1
    finally:
        await runner.connector.aclose()
        store.close()
