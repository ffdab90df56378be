"""A local feed server: RSS 2.0 and Atom documents with ETag / Last-Modified and 304 answers.

``async with RssSimulator() as sim:`` then ``sim.add_feed("news")`` and
``sim.add_entry("news", title=..., text=...)``; the feed is served at ``/feeds/news`` (route
name ``feed``). Google Alerts feeds are Atom with links wrapped in ``google.com/url?url=…``
(``google_alerts=True``). ``set_body`` replaces a feed's document (malformed feeds).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer


@dataclass
class SimEntry:
    """One entry of a simulated feed."""

    id: str
    title: str
    text: str
    link: str
    published: datetime
    author: str | None = None


@dataclass
class SimFeed:
    """A simulated feed: its format, entries (newest first) and when it last changed."""

    name: str
    kind: str = "rss"
    title: str = ""
    language: str | None = "en-us"
    google_alerts: bool = False
    entries: list[SimEntry] = field(default_factory=list)
    changed: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    body: bytes | None = None
    etags: bool = True


class RssSimulator(SimulatorServer):
    """Serves feeds at ``/feeds/{name}`` with conditional-GET support."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.feeds: dict[str, SimFeed] = {}
        self._counter = 0
        super().__init__(host, port)

    def _register(self) -> None:
        self.route("feed", "GET", "/feeds/{name}", self._feed)

    def add_feed(self, name: str, kind: str = "rss", **options: Any) -> SimFeed:
        """Create an empty feed (``kind`` ``rss`` or ``atom``)."""
        feed = SimFeed(name, kind, title=options.pop("title", f"{name} news"), **options)
        self.feeds[name] = feed
        return feed

    def feed_path(self, name: str) -> str:
        """The path the feed is served at."""
        return f"/feeds/{name}"

    def add_entry(self, name: str, title: str, text: str = "", **options: Any) -> SimEntry:
        """Add an entry at the top of feed ``name`` (the feed's validators change)."""
        feed = self.feeds[name]
        self._counter += 1
        number = self._counter
        published = options.pop("published", None) or datetime.now(UTC) - timedelta(seconds=1)
        entry = SimEntry(
            id=options.pop("id", f"tag:sim.example,2026:{name}/{number}"),
            title=title,
            text=text or f"<p>{escape(title)}: story number {number}.</p>",
            link=options.pop("link", f"https://news.example/{name}/{number}"),
            published=published,
            **options,
        )
        feed.entries.insert(0, entry)
        self._touch(feed)
        return entry

    def seed(self, name: str, count: int, word: str = "Acme") -> list[SimEntry]:
        """Add ``count`` entries mentioning ``word``."""
        return [self.add_entry(name, f"{word} story {i}") for i in range(count)]

    def set_body(self, name: str, body: bytes) -> None:
        """Serve ``body`` as feed ``name`` from now on (bypassing the generated document)."""
        feed = self.feeds[name]
        feed.body = body
        self._touch(feed)

    @staticmethod
    def _touch(feed: SimFeed) -> None:
        feed.changed = max(
            datetime.now(UTC).replace(microsecond=0), feed.changed + timedelta(seconds=1)
        )

    async def _feed(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        feed = self.feeds.get(request.match_info["name"])
        if feed is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        body = feed.body if feed.body is not None else render(feed)
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        modified = format_datetime(feed.changed, usegmt=True)
        headers = {"Last-Modified": modified}
        if feed.etags:
            headers["ETag"] = etag
        if feed.etags and request.headers.get("If-None-Match") == etag:
            return Reply(304, b"", headers)
        if not feed.etags and request.headers.get("If-Modified-Since") == modified:
            return Reply(304, b"", headers)
        content_type = "application/atom+xml" if feed.kind == "atom" else "application/rss+xml"
        return Reply(200, body, {**headers, "Content-Type": f"{content_type}; charset=utf-8"})


def render(feed: SimFeed) -> bytes:
    """The feed as an RSS 2.0 or Atom document."""
    return (_atom(feed) if feed.kind == "atom" else _rss(feed)).encode()


def _link(feed: SimFeed, entry: SimEntry) -> str:
    if not feed.google_alerts:
        return entry.link
    return f"https://www.google.com/url?rct=j&sa=t&url={quote(entry.link, safe='')}&ct=ga"


def _rss(feed: SimFeed) -> str:
    items = "".join(
        "<item>"
        f"<title>{escape(e.title)}</title><link>{escape(_link(feed, e))}</link>"
        f'<guid isPermaLink="false">{escape(e.id)}</guid>'
        f"<pubDate>{format_datetime(e.published, usegmt=True)}</pubDate>"
        + (f"<author>{escape(e.author)}</author>" if e.author else "")
        + f"<description>{escape(e.text)}</description></item>"
        for e in feed.entries
    )
    language = f"<language>{feed.language}</language>" if feed.language else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(feed.title)}</title><link>https://news.example/</link>"
        f"<description>{escape(feed.title)}</description>{language}{items}</channel></rss>"
    )


def _atom(feed: SimFeed) -> str:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    entries = "".join(
        "<entry>"
        f'<id>{escape(e.id)}</id><title type="html">{escape(e.title)}</title>'
        f'<link href="{escape(_link(feed, e))}"/>'
        f"<published>{e.published.strftime(stamp)}</published>"
        f"<updated>{e.published.strftime(stamp)}</updated>"
        + (f"<author><name>{escape(e.author)}</name></author>" if e.author else "")
        + f'<content type="html">{escape(e.text)}</content></entry>'
        for e in feed.entries
    )
    lang = f' xml:lang="{feed.language}"' if feed.language else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{lang}>'
        f"<id>tag:sim.example,2026:{feed.name}</id><title>{escape(feed.title)}</title>"
        f"<updated>{feed.changed.strftime(stamp)}</updated>{entries}</feed>"
    )
