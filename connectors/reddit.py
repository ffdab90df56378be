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
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import praw
import prawcore
from praw.exceptions import PRAWException, RedditAPIException
from pydantic import Field, SecretStr, model_validator

from repbot.connector import Connector, ConnectorConfig
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited, TransientError
from repbot.models import Author, Mention, Metrics, Page, PostedReply, Thread
from repbot.secrets import register_secret

log = logging.getLogger(__name__)

WEB = "https://www.reddit.com"
CACHE_TTL = 86400.0
CACHE_SIZE = 20_000
# prawcore paces requests over this window by sleeping; a very long window turns that off
# (the connector raises RateLimited instead and the runner waits).
NO_PACING_WINDOW = 10**9


class RedditConfig(ConnectorConfig):
    """Options of a ``reddit`` source (see docs/CONNECTORS.md)."""

    client_id: str = Field("", description="The app's client id (reddit.com/prefs/apps).")
    client_secret: SecretStr | None = Field(None, description="The app's secret.")
    username: str | None = Field(None, description="The brand's Reddit account (posting, inbox).")
    password: SecretStr | None = Field(None, description="Its password (script apps).")
    user_agent: str = Field(
        "python:repbot:0.1 (reputation monitor)",
        description="Descriptive User-Agent, e.g. 'python:acme-repbot:1.0 (by u/acme_support)'.",
    )
    queries: list[str] = Field(default_factory=list, description="Search queries (posts).")
    search_scope: Literal["all", "subreddits"] = Field(
        "all", description="Search all of Reddit or only the listed subreddits."
    )
    subreddits: list[str] = Field(
        default_factory=list, description="Subreddits whose new posts and comments are read."
    )
    submissions: bool = Field(True, description="Read new submissions of the subreddits.")
    comments: bool = Field(True, description="Read new comments of the subreddits.")
    inbox_mentions: bool = Field(True, description="Read u/username mentions (needs login).")
    backfill_limit: int = Field(
        0, ge=0, description="Items per stream read on the first run (0: start from now)."
    )
    overlap: float = Field(120.0, ge=0, description="Seconds re-read before the last item seen.")
    page_size: int = Field(100, ge=1, le=100, description="Items per request (max 100).")
    max_pages_per_poll: int = Field(10, ge=1, description="Pages read in one poll.")
    author_karma: bool = Field(True, description="Look up authors' karma (1 request per page).")
    community_size: bool = Field(True, description="Look up subreddit subscriber counts.")
    min_ratelimit_remaining: int = Field(
        2, ge=0, description="Stop and wait when fewer requests remain in the window."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    oauth_url: str = Field("https://oauth.reddit.com", description="API host (simulator: its URL).")
    reddit_url: str = Field("https://www.reddit.com", description="Token host (simulator too).")
    api_base_url: str | None = Field(
        None, description="Shortcut: sets oauth_url and reddit_url to one local simulator."
    )

    @model_validator(mode="after")
    def _coherent(self) -> RedditConfig:
        problems = []
        if not self.client_id or self.client_secret is None:
            problems.append("client_id and client_secret are required")
        if bool(self.username) != (self.password is not None):
            problems.append("set both username and password, or neither")
        if self.inbox_mentions and not self.username and not (self.queries or self.subreddits):
            problems.append("inbox_mentions needs username and password")
        has_inbox = self.inbox_mentions and bool(self.username)
        if not (self.queries or self.subreddits or has_inbox):
            problems.append("nothing to listen to: add queries, subreddits or inbox_mentions")
        if self.search_scope == "subreddits" and self.queries and not self.subreddits:
            problems.append("search_scope 'subreddits' needs subreddits")
        if problems:
            raise ValueError("; ".join(problems))
        if self.api_base_url:
            self.oauth_url = self.reddit_url = self.api_base_url.rstrip("/")
        return self


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


@dataclass
class RateState:
    """The last ``x-ratelimit-*`` headers Reddit sent, and how many requests we made."""

    remaining: float | None = None
    reset_at: float | None = None
    requests: int = 0
    requestor: prawcore.Requestor | None = None

    def update(self, headers: Any) -> None:
        """Remember the window reported in ``headers`` (if any)."""
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            self.remaining = float(remaining)
            self.reset_at = time.time() + float(reset)
        except ValueError:
            return

    def retry_after(self) -> float:
        """Seconds until the window resets (at least one)."""
        return max((self.reset_at or 0) - time.time(), 1.0)


class GuardedRequestor(prawcore.Requestor):
    """A prawcore requestor that fails fast instead of letting prawcore sleep and retry."""

    def __init__(self, *args: Any, rate: RateState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate = rate
        rate.requestor = self

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Send one request; raise repbot errors for 429, 5xx, 401/403 and network failures."""
        self.rate.requests += 1
        try:
            response = super().request(*args, timeout=timeout, **kwargs)
        except prawcore.RequestException as exc:
            raise TransientError(f"Reddit network error: {_short(exc.original_exception)}") from exc
        self.rate.update(response.headers)
        status = response.status_code
        target = str(args[1] if len(args) > 1 else kwargs.get("url", ""))
        path = target.split("?")[0].split("/", 3)[-1]
        if status == 429:
            retry = response.headers.get("retry-after")
            wait = float(retry) if retry and _is_number(retry) else self.rate.retry_after()
            raise RateLimited("Reddit: 429 Too Many Requests", retry_after=max(wait, 1.0))
        if status >= 500:
            raise TransientError(f"Reddit: {status} server error on /{path}")
        if status == 401:
            what = (
                "app credentials (client_id/client_secret)" if "access_token" in path else "token"
            )
            raise AuthError(f"Reddit: 401 Unauthorized: the {what} were rejected")
        if status == 403:
            raise AuthError(
                f"Reddit: 403 Forbidden on /{path}: the account lacks access "
                "(private or banned subreddit, missing scope, suspended account)"
            )
        return response


class RedditConnector(Connector):
    """Listens to Reddit (search, subreddits, inbox mentions) and replies with comments."""

    type_name: ClassVar[str] = "reddit"
    platform: ClassVar[str] = "reddit"
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = RedditConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
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
        state.chain = state.chain + 1 if more else 0
        page.has_more = more and state.chain < self.cfg.max_pages_per_poll
        if more and not page.has_more:
            state.chain = 0
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
        dated = [(c, t) for c in children if (t := _created(c)) is not None]
        newest = max((t for _, t in dated), default=0.0)
        stream.seen = stream.floor = newest
        stream.skip = [_name_of(c) for c, t in dated if t == newest] or None

    def _begin(self, stream: StreamState) -> None:
        """Start a sweep: a bounded backfill on a first run, else from the newest item seen,
        lowered to the items created in the ``overlap`` seconds before the previous sweep
        (they may have been listed after it); on a quiet stream that lowers nothing."""
        previous, stream.began = stream.began, time.time()
        if stream.seen is None:
            stream.cut, stream.budget = 0.0, self.cfg.backfill_limit
        else:
            if previous is None:
                lowered = stream.seen - self.cfg.overlap
            else:
                lowered = min(stream.seen, previous - self.cfg.overlap)
            stream.cut = max(lowered, stream.floor or 0.0)
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
        if reached_end or not after or self._reached_seen(stream, children):
            stream.seen = max(stream.seen or 0.0, stream.newest or 0.0)
            stream.after = stream.cut = stream.newest = stream.budget = None
        else:
            stream.after = str(after)
        return kept

    @staticmethod
    def _reached_seen(stream: StreamState, children: list[Any]) -> bool:
        """Whether this page of a steady sweep reached items older than the newest seen: the
        rest of the listing is known, so the overlap costs at most this one page."""
        if stream.seen is None or stream.budget is not None:
            return False
        return any((t := _created(c)) is not None and t < stream.seen for c in children)

    def _within(
        self, key: str, stream: StreamState, children: list[Any], page: Page
    ) -> tuple[list[dict[str, Any]], bool]:
        kept: list[dict[str, Any]] = []
        for position, child in enumerate(children):
            created = _created(child)
            if created is None:
                page.malformed += 1
                log.warning(
                    "reddit[%s]: %s: skipped malformed item at position %d (%s)",
                    self.name,
                    key,
                    position,
                    _name_of(child),
                )
                continue
            if created < (stream.cut or 0.0) or stream.budget == 0:
                return kept, True
            if stream.skip and _name_of(child) in stream.skip:
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
            name = _name_of(child)
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
                    _name_of(child),
                    _short(exc),
                )
                continue
            if mention is not None:
                page.mentions.append(mention)

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
                    karma = _karma(user) if isinstance(user, dict) else None
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

    # ---- mapping ------------------------------------------------------------------------

    def _to_mention(self, child: dict[str, Any]) -> Mention | None:
        kind, data = child["kind"], child["data"]
        if kind not in ("t1", "t3"):
            raise ValueError(f"unexpected kind {kind!r}")
        author = str(data.get("author") or "[deleted]")
        if self.cfg.username and author.lower() == self.cfg.username.lower():
            return None
        fullname = str(data["name"])
        now = time.time()
        karma = _cached(self._karma, str(data.get("author_fullname")), now)
        size = _cached(self._sizes, str(data.get("subreddit_id")), now)
        common = {
            "platform": "reddit",
            "external_id": fullname,
            "author": Author(
                id=data.get("author_fullname"),
                handle=author,
                karma=None if karma is _MISS else karma,
            ),
            "created_at": datetime.fromtimestamp(float(data["created_utc"]), UTC),
            "community": data.get("subreddit"),
            "community_size": None if size is _MISS else size,
            "raw": child,
        }
        if kind == "t3":
            return Mention(
                **common,
                kind="post",
                url=_absolute(data.get("permalink")),
                title=str(data.get("title", "")),
                text=str(data.get("selftext") or data.get("url") or ""),
                metrics=Metrics(
                    upvotes=int(data.get("score", 0)), replies=int(data.get("num_comments", 0))
                ),
            )
        link_id = data.get("link_id") or _link_from_context(data.get("context"))
        permalink = data.get("permalink") or str(data.get("context") or "").split("?")[0] or None
        body = data["body"]
        if not isinstance(body, str):
            raise TypeError("body is not a string")
        return Mention(
            **common,
            kind="comment",
            url=_absolute(permalink),
            title=data.get("link_title"),
            text=body,
            thread=Thread(parent=data.get("parent_id"), root=link_id),
            metrics=Metrics(upvotes=int(data.get("score", 0))),
        )

    # ---- posting -------------------------------------------------------------------------

    def _reply(self, mention: Mention, text: str) -> PostedReply:
        reddit = self._client()
        fullname = mention.external_id
        kind, _, thing_id = fullname.partition("_")
        if kind not in ("t1", "t3") or not thing_id:
            raise PostError(f"cannot reply to Reddit thing {fullname!r}", transient=False)
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
            raise PostError(
                f"Reddit refused the reply: {_short(exc)}", transient=transient
            ) from exc
        except (prawcore.PrawcoreException, PRAWException) as exc:
            raise PostError(f"Reddit reply failed: {_short(exc)}", transient=False) from exc
        if created is None:
            raise PostError(
                "Reddit did not return the new comment (thread locked?)", transient=False
            )
        return PostedReply(external_id=f"t1_{created.id}", url=_comment_url(vars(created)))

    def _find_reply(self, mention: Mention) -> PostedReply | None:
        if not self.cfg.username:
            return None
        listing = self._get(f"/user/{self.cfg.username}/comments", {"sort": "new", "limit": 100})
        for child in (listing.get("data") or {}).get("children") or []:
            data = child.get("data") or {}
            if data.get("parent_id") == mention.external_id:
                return PostedReply(external_id=str(data["name"]), url=_comment_url(data))
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
            raise TransientError(f"Reddit: {path}: {_short(exc)}") from exc


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


def _karma(user: dict[str, Any]) -> int | None:
    parts = [user.get("link_karma"), user.get("comment_karma")]
    finite = [p for p in parts if isinstance(p, int) or (isinstance(p, float) and math.isfinite(p))]
    values = [int(p) for p in finite]
    return sum(values) if values else None


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _created(child: Any) -> float | None:
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        return None
    value = child["data"].get("created_utc")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not child["data"].get("name"):
        return None
    return float(value)


def _name_of(child: Any) -> str:
    if isinstance(child, dict) and isinstance(child.get("data"), dict):
        return str(child["data"].get("name") or child["data"].get("id") or "?")
    return "?"


def _link_from_context(context: Any) -> str | None:
    parts = str(context or "").split("/")
    if "comments" in parts and parts.index("comments") + 1 < len(parts):
        return f"t3_{parts[parts.index('comments') + 1]}"
    return None


def _comment_url(data: dict[str, Any]) -> str | None:
    permalink = data.get("permalink")
    if permalink:
        return _absolute(str(permalink))
    subreddit, link_id, comment_id = data.get("subreddit"), data.get("link_id"), data.get("id")
    if subreddit is not None and link_id and comment_id:
        return f"{WEB}/r/{subreddit}/comments/{str(link_id).removeprefix('t3_')}/_/{comment_id}/"
    return None


def _absolute(permalink: str | None) -> str | None:
    if not permalink:
        return None
    return permalink if permalink.startswith("http") else f"{WEB}{permalink}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
