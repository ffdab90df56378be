"""RSS/Atom connector: news, blogs and Google Alerts feeds, read with conditional GETs.

Each poll sends one request per feed with the ``ETag`` and ``Last-Modified`` of the previous
answer, so a feed that has not changed costs one request answered ``304 Not Modified`` and no
parsing. A changed feed is parsed with feedparser from the bytes received; entries whose id was
in the previous document are not emitted again. A feed that feedparser flags as malformed
(``bozo``) is counted in ``Page.malformed`` and the entries it could read are kept. Replies are
not possible (the mention links to the article).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import aiohttp

from repbot.connector import Connector, ConnectorConfig
from repbot.models import Page, utcnow
from repbot.platforms import Limit, Platform

from .client import Fetched, get_feed
from .config import RssConfig
from .mapping import entry_id, matches, to_mention

log = logging.getLogger(__name__)
MAX_SEEN = 2_000


@dataclass
class FeedState:
    """Where one feed stands: its validators and the (hashed) entry ids of its last document."""

    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)


@dataclass
class RssCursor:
    """The connector's persisted position, serialised as JSON."""

    feeds: dict[str, FeedState] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> RssCursor:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls({url: FeedState(**s) for url, s in data["feeds"].items()})
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("rss: ignoring unreadable cursor (%s); starting afresh", exc)
            return cls()

    def dump(self) -> str:
        """The cursor as compact JSON."""
        feeds = {url: {k: v for k, v in s.__dict__.items() if v} for url, s in self.feeds.items()}
        return json.dumps({"v": 1, "feeds": feeds}, separators=(",", ":"), sort_keys=True)


def _key(external_id: str) -> str:
    return hashlib.sha1(external_id.encode(), usedforsecurity=False).hexdigest()[:16]


class RssConnector(Connector):
    """Reads RSS and Atom feeds; every entry is an ``article`` mention (no replies)."""

    type_name: ClassVar[str] = "rss"
    platform: ClassVar[str] = "rss"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("rss", "other", Limit(1_000), None, can_reply=False, emoji=":newspaper:"),
    )
    can_reply: ClassVar[bool] = False
    Config: ClassVar[type[ConnectorConfig]] = RssConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("feedparser")
        assert isinstance(config, RssConfig)
        self.cfg: RssConfig = config
        self._session: aiohttp.ClientSession | None = None
        self.requests_made = 0

    async def fetch(self, cursor: str | None) -> Page:
        """One conditional request per feed; new entries of the feeds that changed."""
        state = RssCursor.load(cursor)
        page = Page()
        now = utcnow()
        for url in self.cfg.feeds:
            first = url not in state.feeds
            feed_state = state.feeds.setdefault(url, FeedState())
            await self._read_feed(
                url, feed_state, page, now, emit=not (first and self.cfg.skip_existing)
            )
        state.feeds = {u: s for u, s in state.feeds.items() if u in self.cfg.feeds}
        page.cursor = state.dump()
        return page

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _url(self, feed: str) -> str:
        if feed.startswith("/"):
            return (self.cfg.api_base_url or "").rstrip("/") + feed
        return feed

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.cfg.timeout),
                headers={"User-Agent": self.cfg.user_agent},
            )
        return self._session

    async def _read_feed(
        self, feed: str, state: FeedState, page: Page, now: datetime, *, emit: bool
    ) -> None:
        url = self._url(feed)
        self.requests_made += 1
        fetched = await get_feed(
            self._ensure_session(),
            url,
            etag=state.etag,
            modified=state.modified,
            max_bytes=self.cfg.max_feed_bytes,
        )
        state.etag, state.modified = fetched.etag, fetched.modified
        if fetched.body is None:
            return
        if fetched.too_large:
            page.malformed += 1
            log.warning(
                "rss[%s]: %s: feed larger than %d bytes, skipped",
                self.name,
                feed,
                self.cfg.max_feed_bytes,
            )
            return
        import feedparser

        parsed = await asyncio.to_thread(
            feedparser.parse, fetched.body, response_headers=_headers(fetched)
        )
        if parsed.get("bozo"):
            page.malformed += 1
            log.warning(
                "rss[%s]: %s: malformed feed (%s); keeping the entries it could read",
                self.name,
                feed,
                _short(parsed.get("bozo_exception")),
            )
        self._absorb(feed, parsed, state, page, now, emit)

    def _absorb(
        self, feed: str, parsed: Any, state: FeedState, page: Page, now: datetime, emit: bool
    ) -> None:
        entries = parsed.get("entries") or []
        if not entries:
            return
        seen, keys = set(state.seen), []
        for position, entry in enumerate(entries):
            try:
                key = _key(entry_id(entry))
                keys.append(key)
                if key in seen or not emit:
                    continue
                seen.add(key)
                mention = to_mention(entry, parsed.get("feed") or {}, feed, now)
            except Exception as exc:  # noqa: BLE001 - any entry that does not map is malformed
                page.malformed += 1
                log.warning(
                    "rss[%s]: %s: skipped malformed entry at position %d: %s",
                    self.name,
                    feed,
                    position,
                    _short(exc),
                )
                continue
            if matches(mention, self.cfg.keywords):
                page.mentions.append(mention)
        state.seen = keys[:MAX_SEEN]


def _headers(fetched: Fetched) -> dict[str, str]:
    return {"content-type": fetched.content_type} if fetched.content_type else {}


def _short(exc: object) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
