"""Reddit connector: search, watched subreddits and inbox username mentions, through praw.

praw is blocking, so every call runs in a worker thread (``asyncio.to_thread``) on one
``praw.Reddit`` per connector, created lazily and used by one thread at a time. Listings are read
with ``Reddit.request`` (raw JSON, one HTTP request per page, nothing lazily fetched behind our
back); replies use praw's models (``Comment.reply`` / ``Submission.reply``).

prawcore would otherwise sleep and retry on its own; a small :class:`prawcore.Requestor` subclass
turns 429, 5xx, 401/403 and network failures into repbot's errors straight away, and remembers the
``x-ratelimit-*`` headers so the connector can raise :class:`~repbot.errors.RateLimited` before a
request would be refused. The runner does the waiting.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from repbot import paging
from repbot.connector import Connector, ConnectorConfig
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited, TransientError
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import HandleSyntax, Limit, Platform
from repbot.secrets import register_secret

from . import mapping
from .client import NO_PACING_WINDOW, RateState, short
from .config import RedditConfig

if TYPE_CHECKING:
    import praw

log = logging.getLogger(__name__)

CACHE_TTL = 86400.0
CACHE_SIZE = 20_000


@dataclass
class StreamState:
    """One listing's position: the newest time seen and, mid-burst, the next page.

    ``began`` is when the last sweep started (this machine's clock, epoch seconds). ``floor``
    (set on a first run without backfill) is the creation time of the newest item that already
    existed; nothing older is emitted, nor the items in ``skip`` (created in that same second).
    """

    seen: float | None = None
    after: str | None = None
    cut: float | None = None
    newest: float | None = None
    budget: int | None = None
    floor: float | None = None
    skip: list[str] | None = None
    began: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class RedditCursor:
    """The connector's persisted position, serialised as JSON."""

    streams: dict[str, StreamState] = field(default_factory=dict)
    chain: int = 0

    @classmethod
    def load(cls, text: str | None) -> RedditCursor:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            streams = {k: StreamState(**v) for k, v in data.get("streams", {}).items()}
            return cls(streams, int(data.get("chain", 0)))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("reddit: ignoring unreadable cursor (%s); starting afresh", exc)
            return cls()

    def dump(self) -> str:
        """The cursor as compact JSON."""
        data = {
            "v": 1,
            "streams": {k: s.to_json() for k, s in self.streams.items()},
            "chain": self.chain,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


class RedditConnector(Connector):
    """Listens to Reddit (search, subreddits, inbox mentions) and replies with comments."""

    type_name: ClassVar[str] = "reddit"
    platform: ClassVar[str] = "reddit"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform(
            "reddit",
            "forum",
            Limit(10_000),
            HandleSyntax(re.compile(r"[A-Za-z0-9_-]{3,20}"), "u/{handle}", 20, ("/", "u/")),
            can_reply=True,
            emoji=":speech_balloon:",
        ),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = RedditConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("praw")
        assert isinstance(config, RedditConfig)
        self.cfg: RedditConfig = config
        for secret in (config.client_secret, config.password):
            register_secret(secret.get_secret_value() if secret else None)
        self.rate = RateState()
        self._reddit: praw.Reddit | None = None
        self._lock = threading.Lock()
        self._karma: OrderedDict[str, tuple[float, int | None]] = OrderedDict()
        self._sizes: OrderedDict[str, tuple[float, int | None]] = OrderedDict()

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (token requests included)."""
        return self.rate.requests

    # ---- public API ---------------------------------------------------------------------

    async def fetch(self, cursor: str | None) -> Page:
        """Read the next page of every stream (or only those in the middle of a burst)."""
        return await asyncio.to_thread(self._locked, self._fetch, cursor)

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Reply to a comment or submission; returns the new comment's permalink."""
        return await asyncio.to_thread(self._locked, self._reply, mention, text)

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """Look through the account's newest comments for a reply to ``mention``."""
        return await asyncio.to_thread(self._locked, self._find_reply, mention)

    async def aclose(self) -> None:
        """Close praw's HTTP session."""
        requestor, self.rate.requestor = self.rate.requestor, None
        self._reddit = None
        if requestor is not None:
            await asyncio.to_thread(requestor.close)

    # ---- sync side (worker thread) ---------------------------------------------------------

    def _locked(self, func: Any, *args: Any) -> Any:
        with self._lock:
            return func(*args)

    def _client(self) -> praw.Reddit:
        if self._reddit is None:
            import praw

            from .requestor import GuardedRequestor

            cfg = self.cfg
            self._reddit = praw.Reddit(
                client_id=cfg.client_id,
                client_secret=cfg.client_secret.get_secret_value() if cfg.client_secret else None,
                username=cfg.username,
                password=cfg.password.get_secret_value() if cfg.password else None,
                user_agent=cfg.user_agent,
                oauth_url=cfg.oauth_url,
                reddit_url=cfg.reddit_url,
                check_for_updates=False,
                ratelimit_seconds=0,
                timeout=int(cfg.timeout),
                window_size=NO_PACING_WINDOW,
                requestor_class=GuardedRequestor,
                requestor_kwargs={"rate": self.rate},
            )
        return self._reddit

    def _streams(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Stream key -> (path, params) of the listing it reads."""
        cfg = self.cfg
        subs = "+".join(cfg.subreddits)
        streams: dict[str, tuple[str, dict[str, Any]]] = {}
        if subs and cfg.submissions:
            streams[f"new:{subs}"] = (f"/r/{subs}/new", {})
        if subs and cfg.comments:
            streams[f"comments:{subs}"] = (f"/r/{subs}/comments", {})
        scope = subs if cfg.search_scope == "subreddits" else "all"
        for query in cfg.queries:
            params = {"q": query, "sort": "new", "t": "week", "restrict_sr": scope != "all"}
            streams[f"search:{query}"] = (f"/r/{scope}/search", {**params, "syntax": "lucene"})
        if cfg.inbox_mentions and cfg.username:
            streams["inbox"] = ("/message/mentions", {})
        return streams

    def _fetch(self, cursor: str | None) -> Page:
        state = RedditCursor.load(cursor)
        streams = self._streams()
        pending = [k for k in streams if state.streams.get(k, StreamState()).after]
        targets = pending or list(streams)
        page = Page()
        items: list[tuple[str, dict[str, Any]]] = []
        for key in targets:
            stream = state.streams.setdefault(key, StreamState())
            if not pending and stream.seen is None and not self.cfg.backfill_limit:
                self._prime(stream, *streams[key])
                continue
            if not pending:
                self._begin(stream)
            items += [(key, child) for child in self._read(key, stream, *streams[key], page)]
        self._emit(items, page)
        more = any(s.after for k, s in state.streams.items() if k in streams)
        state.chain, page.has_more = paging.chain(more, state.chain, self.cfg.max_pages_per_poll)
        page.cursor = state.dump()
        return page

    def _prime(self, stream: StreamState, path: str, params: dict[str, Any]) -> None:
        """First run without backfill: start after the newest existing item, emitting nothing
        (like praw's ``skip_existing``; Reddit's timestamps, not this machine's clock)."""
        listing = self._get(path, {**params, "limit": self.cfg.page_size})
        data = listing.get("data") if isinstance(listing, dict) else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            raise TransientError(f"Reddit: {path} did not return a listing")
        dated = [(c, t) for c in children if (t := mapping.created(c)) is not None]
        newest = max((t for _, t in dated), default=0.0)
        stream.seen = stream.floor = newest
        stream.skip = [mapping.name_of(c) for c, t in dated if t == newest] or None

    def _begin(self, stream: StreamState) -> None:
        """Start a sweep: a bounded backfill on a first run, else from the newest item seen,
        lowered to the items created in the ``overlap`` seconds before the previous sweep
        (they may have been listed after it); on a quiet stream that lowers nothing."""
        previous, stream.began = stream.began, time.time()
        if stream.seen is None:
            stream.cut, stream.budget = 0.0, self.cfg.backfill_limit
        else:
            stream.cut = paging.sweep_start(
                stream.seen,
                began=previous,
                overlap=self.cfg.overlap,
                key_at=float,
                span=self.cfg.overlap,
                floor=stream.floor or 0.0,
            )
            stream.budget = None
            if stream.floor is not None and stream.cut > stream.floor:
                stream.floor = stream.skip = None
        stream.newest = None

    def _read(
        self, key: str, stream: StreamState, path: str, params: dict[str, Any], page: Page
    ) -> list[dict[str, Any]]:
        """One listing page: the children newer than the sweep's cut; ends or advances it."""
        query = {**params, "limit": self.cfg.page_size}
        if stream.after:
            query["after"] = stream.after
        listing = self._get(path, query)
        data = listing.get("data") if isinstance(listing, dict) else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            raise TransientError(f"Reddit: {path} did not return a listing")
        kept, reached_end = self._within(key, stream, children, page)
        after = data.get("after") if isinstance(data, dict) else None
        token, _ = paging.next_page(
            None if reached_end or not after else str(after),
            reached=self._reached_seen(stream, children),
            rereads=1,
        )
        if token is None:
            stream.seen = paging.new_mark(stream.seen, stream.newest) or 0.0
            stream.after = stream.cut = stream.newest = stream.budget = None
        else:
            stream.after = token
        return kept

    @staticmethod
    def _reached_seen(stream: StreamState, children: list[Any]) -> bool:
        """Whether this page of a steady sweep reached items older than the newest seen: the
        rest of the listing is known, so the overlap costs at most this one page."""
        if stream.budget is not None:
            return False
        oldest = min((t for c in children if (t := mapping.created(c)) is not None), default=None)
        return paging.reaches_mark(stream.seen, oldest, unique=False)

    def _within(
        self, key: str, stream: StreamState, children: list[Any], page: Page
    ) -> tuple[list[dict[str, Any]], bool]:
        kept: list[dict[str, Any]] = []
        for position, child in enumerate(children):
            created = mapping.created(child)
            if created is None:
                page.malformed += 1
                log.warning(
                    "reddit[%s]: %s: skipped malformed item at position %d (%s)",
                    self.name,
                    key,
                    position,
                    mapping.name_of(child),
                )
                continue
            if created < (stream.cut or 0.0) or stream.budget == 0:
                return kept, True
            if stream.skip and mapping.name_of(child) in stream.skip:
                continue
            stream.newest = max(stream.newest or 0.0, created)
            if stream.budget is not None:
                stream.budget -= 1
            kept.append(child)
        return kept, False

    def _emit(self, items: list[tuple[str, dict[str, Any]]], page: Page) -> None:
        seen: set[str] = set()
        unique = []
        for key, child in items:
            name = mapping.name_of(child)
            if name in seen:
                continue
            seen.add(name)
            unique.append((key, child))
        self._enrich([child["data"] for _, child in unique])
        for key, child in unique:
            try:
                mention = self._to_mention(child)
            except Exception as exc:  # noqa: BLE001 - any item that does not map is malformed
                page.malformed += 1
                log.warning(
                    "reddit[%s]: %s: skipped malformed %s: %s",
                    self.name,
                    key,
                    mapping.name_of(child),
                    short(exc),
                )
                continue
            if mention is not None:
                page.mentions.append(mention)

    def _to_mention(self, child: dict[str, Any]) -> Mention | None:
        now = time.time()
        return mapping.to_mention(
            child,
            self.cfg.username,
            lambda author: _known(self._karma, author, now),
            lambda subreddit: _known(self._sizes, subreddit, now),
        )

    # ---- enrichment (karma, subscribers) -----------------------------------------------------

    def _enrich(self, items: list[dict[str, Any]]) -> None:
        now = time.time()
        for item in items:
            if isinstance(item.get("subreddit_subscribers"), int) and item.get("subreddit_id"):
                _remember(
                    self._sizes, str(item["subreddit_id"]), item["subreddit_subscribers"], now
                )
        if self.cfg.author_karma:
            wanted = {str(i["author_fullname"]) for i in items if i.get("author_fullname")}
            missing = sorted(a for a in wanted if _cached(self._karma, a, now) is _MISS)
            for chunk in _chunks(missing, 100):
                found = self._get("/api/user_data_by_account_ids", {"ids": ",".join(chunk)})
                for fullname in chunk:
                    user = found.get(fullname) if isinstance(found, dict) else None
                    karma = mapping.karma(user) if isinstance(user, dict) else None
                    _remember(self._karma, fullname, karma, now)
        if self.cfg.community_size:
            wanted = {str(i["subreddit_id"]) for i in items if i.get("subreddit_id")}
            missing = sorted(s for s in wanted if _cached(self._sizes, s, now) is _MISS)
            for chunk in _chunks(missing, 100):
                listing = self._get("/api/info", {"id": ",".join(chunk)})
                for child in (listing.get("data") or {}).get("children") or []:
                    data = child.get("data") or {}
                    _remember(self._sizes, str(data.get("name")), data.get("subscribers"), now)
                for fullname in chunk:
                    if _cached(self._sizes, fullname, now) is _MISS:
                        _remember(self._sizes, fullname, None, now)

    # ---- posting -------------------------------------------------------------------------

    def _reply(self, mention: Mention, text: str) -> PostedReply:
        reddit = self._client()
        fullname = mention.external_id
        kind, _, thing_id = fullname.partition("_")
        if kind not in ("t1", "t3") or not thing_id:
            raise PostError(f"cannot reply to Reddit thing {fullname!r}", transient=False)
        import prawcore
        from praw.exceptions import PRAWException, RedditAPIException

        try:
            self._guard()
            parent = reddit.comment(thing_id) if kind == "t1" else reddit.submission(thing_id)
            created = parent.reply(text)
        except RateLimited as exc:
            raise PostError(f"Reddit rate limit on posting: {exc}", transient=True) from exc
        except AuthError as exc:
            raise PostError(str(exc), transient=False) from exc
        except ConnectorError as exc:
            raise PostError(str(exc), transient=True) from exc
        except RedditAPIException as exc:
            transient = any(item.error_type == "RATELIMIT" for item in exc.items)
            raise PostError(f"Reddit refused the reply: {short(exc)}", transient=transient) from exc
        except (prawcore.PrawcoreException, PRAWException) as exc:
            raise PostError(f"Reddit reply failed: {short(exc)}", transient=False) from exc
        if created is None:
            raise PostError(
                "Reddit did not return the new comment (thread locked?)", transient=False
            )
        return PostedReply(external_id=f"t1_{created.id}", url=mapping.comment_url(vars(created)))

    def _find_reply(self, mention: Mention) -> PostedReply | None:
        if not self.cfg.username:
            return None
        listing = self._get(f"/user/{self.cfg.username}/comments", {"sort": "new", "limit": 100})
        for child in (listing.get("data") or {}).get("children") or []:
            data = child.get("data") or {}
            if data.get("parent_id") == mention.external_id:
                return PostedReply(external_id=str(data["name"]), url=mapping.comment_url(data))
        return None

    # ---- HTTP -----------------------------------------------------------------------------

    def _guard(self) -> None:
        rate = self.rate
        if rate.remaining is None or rate.reset_at is None or rate.reset_at <= time.time():
            return
        if rate.remaining <= self.cfg.min_ratelimit_remaining:
            raise RateLimited(
                f"Reddit: {rate.remaining:.0f} requests left in the window",
                retry_after=rate.retry_after(),
            )

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        """GET ``path`` through praw (one HTTP request), mapping failures to repbot errors."""
        import prawcore
        from praw.exceptions import PRAWException

        self._guard()
        reddit = self._client()
        try:
            return reddit.request(method="GET", path=path, params=params)
        except prawcore.OAuthException as exc:
            raise AuthError(
                f"Reddit refused to log in ({exc.error}): check username/password and the "
                "app type (script)"
            ) from exc
        except (prawcore.NotFound, prawcore.Redirect) as exc:
            raise AuthError(
                f"Reddit: {path} does not exist (misspelt or banned subreddit?)"
            ) from exc
        except (prawcore.PrawcoreException, PRAWException) as exc:
            raise TransientError(f"Reddit: {path}: {short(exc)}") from exc


class _Miss:
    """Marks a cache miss (``None`` is a cached 'unknown')."""


_MISS = _Miss()


def _cached(cache: OrderedDict[str, tuple[float, int | None]], key: str, now: float) -> Any:
    hit = cache.get(key)
    if hit is None or now - hit[0] > CACHE_TTL:
        return _MISS
    return hit[1]


def _remember(
    cache: OrderedDict[str, tuple[float, int | None]], key: str, value: Any, now: float
) -> None:
    cache[key] = (now, int(value) if isinstance(value, int | float) else None)
    cache.move_to_end(key)
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _known(cache: OrderedDict[str, tuple[float, int | None]], key: str, now: float) -> int | None:
    value = _cached(cache, key, now)
    return None if value is _MISS else value
