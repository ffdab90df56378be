"""X (Twitter) connector: mentions timeline and recent search through tweepy's AsyncClient (v2).

Listening walks each stream (the brand's mentions timeline, one recent search per query) with
``since_id``, follows ``next_token`` while a burst spans several pages (``Page.has_more``) and
stops paginating once a page reaches posts already seen. A steady poll also re-reads the posts
created in the ``overlap`` seconds before the previous poll (at most one page), so posts that
became visible a little late are not lost; every ``backfill_interval`` a sweep re-reads a longer
window, bounded to ``backfill_max_pages`` pages of known posts, for posts indexed much later.
Replies go through ``create_tweet``. The connector never sleeps, retries or dedupes: it raises
:class:`~repbot.errors.RateLimited` (with the reset time), :class:`~repbot.errors.TransientError`
or :class:`~repbot.errors.AuthError` and the runner acts.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import aiohttp
import tweepy
from pydantic import Field, SecretStr, model_validator
from tweepy.asynchronous import AsyncClient
from yarl import URL

from repbot.connector import Connector, ConnectorConfig
from repbot.durations import Duration
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited, TransientError
from repbot.models import Author, Mention, Metrics, Page, PostedReply, Thread
from repbot.secrets import register_secret

log = logging.getLogger(__name__)

TWEPOCH_MS = 1288834974657
REAL_HOST = "api.twitter.com"
WINDOW = 900.0
# Recent search refuses a since_id or start_time older than 7 days; stay a little inside.
SEARCH_HORIZON = 7 * 86400.0 - 120.0
TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "in_reply_to_user_id",
    "lang",
    "public_metrics",
    "referenced_tweets",
]
USER_FIELDS = ["name", "username", "public_metrics", "verified", "verified_type"]
EXPANSIONS = ["author_id"]
Tier = Literal["free", "basic", "pro", "enterprise"]


@dataclass(frozen=True)
class TierLimits:
    """Published per-endpoint limits of an X API access tier (requests per 15 minutes)."""

    mentions: int | None
    search: int | None
    monthly_posts: int | None
    monthly_reads: int | None


TIERS: dict[str, TierLimits] = {
    "free": TierLimits(mentions=1, search=1, monthly_posts=500, monthly_reads=100),
    "basic": TierLimits(mentions=10, search=60, monthly_posts=3_000, monthly_reads=10_000),
    "pro": TierLimits(mentions=300, search=300, monthly_posts=300_000, monthly_reads=1_000_000),
    "enterprise": TierLimits(None, None, None, None),
}


class XConfig(ConnectorConfig):
    """Options of an ``x`` source (see docs/CONNECTORS.md)."""

    bearer_token: SecretStr | None = Field(
        None, description="App-only OAuth 2.0 bearer token, used for reading."
    )
    consumer_key: SecretStr | None = Field(None, description="OAuth 1.0a API key (posting).")
    consumer_secret: SecretStr | None = Field(None, description="OAuth 1.0a API key secret.")
    access_token: SecretStr | None = Field(
        None, description="OAuth 1.0a access token of the brand account (posting)."
    )
    access_token_secret: SecretStr | None = Field(None, description="Its access token secret.")
    brand_user_id: str | None = Field(None, description="Numeric id of the brand account.")
    brand_username: str | None = Field(None, description="Handle of the brand account, no @.")
    mentions: bool = Field(True, description="Poll the brand account's mentions timeline.")
    queries: list[str] = Field(
        default_factory=list, description="Recent-search queries (keywords, #tags, $cashtags)."
    )
    query_suffix: str = Field(
        "-is:retweet", description="Appended to every query, e.g. '-is:retweet lang:en'."
    )
    max_results: int = Field(100, ge=10, le=100, description="Posts per request (10-100).")
    max_pages_per_poll: int = Field(
        10, ge=1, description="Pages followed in one poll before yielding to the next interval."
    )
    overlap: float = Field(
        20.0,
        ge=0,
        description="Posts created this many seconds before the previous poll are re-read "
        "(at most one page), to catch posts that became visible late.",
    )
    initial_lookback: float = Field(
        3600.0, ge=0, description="Seconds of history read on the first run (0: none)."
    )
    backfill_interval: Duration | None = Field(
        6 * 3600.0, description="Seconds between backfill sweeps (null: never)."
    )
    backfill_window: Duration = Field(
        7 * 3600.0, description="How far back a backfill sweep reads (at most 7 days)."
    )
    backfill_max_pages: int = Field(
        3, ge=1, description="Pages of already-seen posts a backfill sweep reads, newest first."
    )
    tier: Tier = Field("basic", description="X API access tier; sets the default limits.")
    reads_per_15min: int | None = Field(
        None, ge=1, description="Requests per endpoint per 15 min (default: the tier's)."
    )
    monthly_read_cap: int | None = Field(
        None, ge=1, description="Posts read per month (default: the tier's)."
    )
    monthly_post_cap: int | None = Field(
        None, ge=0, description="Replies posted per month (default: the tier's)."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    api_base_url: str | None = Field(
        None, description="Base URL of a local simulator (null: the real API)."
    )

    @model_validator(mode="after")
    def _coherent(self) -> XConfig:
        problems = []
        if self.bearer_token is None and not self.has_user_context():
            problems.append(
                "set bearer_token (reading) or consumer_key, consumer_secret, access_token and "
                "access_token_secret (reading and posting)"
            )
        if not self.mentions and not self.queries:
            problems.append("nothing to listen to: enable mentions or add queries")
        named = self.brand_user_id or self.brand_username
        if self.mentions and not named and not self.has_user_context():
            problems.append("mentions needs brand_user_id or brand_username")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def has_user_context(self) -> bool:
        """Whether all four OAuth 1.0a user-context credentials are set."""
        keys = (
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
        )
        return all(k is not None for k in keys)


@dataclass
class StreamState:
    """Where one stream (mentions timeline or one query) stands.

    ``since_id`` is the newest post seen; ``began`` when the last sweep started (epoch seconds);
    ``reread`` how many more pages the current sweep may read once it reaches ``since_id``
    (``None``: no limit, on the first run).
    """

    since_id: int | None = None
    next_token: str | None = None
    sweep_since: int | None = None
    sweep_start: str | None = None
    sweep_newest: int | None = None
    floor: int | None = None
    began: float | None = None
    reread: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class XCursor:
    """The connector's persisted position, serialised as JSON."""

    streams: dict[str, StreamState] = field(default_factory=dict)
    backfill_at: float | None = None
    chain: int = 0
    month: str = ""
    reads: int = 0

    @classmethod
    def load(cls, text: str | None) -> XCursor:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            streams = {k: StreamState(**v) for k, v in data.get("streams", {}).items()}
            return cls(
                streams,
                data.get("backfill_at"),
                int(data.get("chain", 0)),
                str(data.get("month", "")),
                int(data.get("reads", 0)),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("x: ignoring unreadable cursor (%s); starting afresh", exc)
            return cls()

    def dump(self) -> str:
        """The cursor as compact JSON."""
        data = {
            "v": 1,
            "streams": {k: s.to_json() for k, s in self.streams.items()},
            "backfill_at": self.backfill_at,
            "chain": self.chain,
            "month": self.month,
            "reads": self.reads,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


@dataclass
class _Budget:
    """Rate-limit knowledge for one endpoint: the server's headers and our own request log."""

    remaining: int | None = None
    reset: float | None = None
    sent: deque[float] = field(default_factory=deque)


def snowflake_at(epoch_seconds: float) -> int:
    """The smallest post id X could assign at ``epoch_seconds``."""
    return max(int(epoch_seconds * 1000) - TWEPOCH_MS, 0) << 22


def rebase_middleware(base_url: str) -> Any:
    """An aiohttp client middleware sending requests for api.twitter.com to ``base_url``.

    tweepy builds every URL from the fixed host ``https://api.twitter.com``; this keeps the
    path and query and swaps scheme, host, port and path prefix.
    """
    base = URL(base_url)
    prefix = base.path.rstrip("/")

    async def middleware(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        if request.url.host == REAL_HOST:
            target = URL.build(
                scheme=base.scheme,
                host=base.host or "127.0.0.1",
                port=base.explicit_port,
                path=prefix + request.url.raw_path,
                query_string=request.url.raw_query_string,
                encoded=True,
            )
            request.url = target
            request.headers["Host"] = target.raw_authority
        return await handler(request)

    return middleware


class XConnector(Connector):
    """Listens to X through the v2 API and replies with ``create_tweet``."""

    type_name: ClassVar[str] = "x"
    platform: ClassVar[str] = "x"
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = XConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, XConfig)
        self.cfg: XConfig = config
        for secret in (
            config.bearer_token,
            config.consumer_key,
            config.consumer_secret,
            config.access_token,
            config.access_token_secret,
        ):
            register_secret(secret.get_secret_value() if secret else None)
        self._client: AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._brand_id: str | None = config.brand_user_id
        self._brand_handle: str | None = config.brand_username
        self._budgets: dict[str, _Budget] = {}
        self.requests_made = 0

    # ---- public API ---------------------------------------------------------------------

    async def fetch(self, cursor: str | None) -> Page:
        """One round of requests: continue pending pages, else poll every stream once."""
        state = XCursor.load(cursor)
        self._roll_month(state)
        self._check_monthly_reads(state)
        streams = await self._streams()
        now = time.time()
        pending = [s for s in streams if state.streams.get(s, StreamState()).next_token]
        if not pending:
            backfill = self._backfill_due(state, now)
            for key in streams:
                self._begin_sweep(key, state.streams.setdefault(key, StreamState()), now, backfill)
            if backfill:
                state.backfill_at = now
        page = Page()
        seen: set[str] = set()
        for key in pending or streams:
            await self._fetch_stream(key, state, page, seen)
        self._finish(state, page)
        return page

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Post ``text`` as a reply to ``mention`` (``create_tweet``)."""
        if not self.cfg.has_user_context():
            raise PostError(
                "posting to X needs consumer_key, consumer_secret, access_token and "
                "access_token_secret of the brand account",
                transient=False,
            )
        try:
            response = await self._call(
                "create_tweet",
                lambda c: c.create_tweet(
                    text=text, in_reply_to_tweet_id=mention.external_id, user_auth=True
                ),
                budget=False,
            )
            data = (await response.json())["data"]
        except RateLimited as exc:
            raise PostError(f"X rate limit on posting: {exc}", transient=True) from exc
        except AuthError as exc:
            raise PostError(str(exc), transient=False) from exc
        except ConnectorError as exc:
            raise PostError(str(exc), transient=True) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise PostError(
                f"X answered create_tweet without an id: {exc}", transient=True
            ) from exc
        return PostedReply(external_id=str(data["id"]), url=self._status_url(str(data["id"])))

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """Look through the brand's own recent posts for a reply to ``mention``."""
        brand_id = await self._brand_user_id()
        token: str | None = None
        for _ in range(3):
            params: dict[str, Any] = {
                "since_id": mention.external_id,
                "max_results": 100,
                "tweet_fields": ["referenced_tweets", "created_at", "conversation_id"],
                "pagination_token": token,
            }
            response = await self._call("user_tweets", self._user_tweets(brand_id, params))
            body = await response.json()
            for tweet in body.get("data") or []:
                refs = tweet.get("referenced_tweets") or []
                if any(
                    r.get("type") == "replied_to" and r.get("id") == mention.external_id
                    for r in refs
                ):
                    return PostedReply(external_id=tweet["id"], url=self._status_url(tweet["id"]))
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return None
        return None

    def _user_tweets(
        self, brand_id: str, params: dict[str, Any]
    ) -> Callable[[AsyncClient], Awaitable[Any]]:
        async def call(client: AsyncClient) -> Any:
            return await client.get_users_tweets(brand_id, user_auth=self._user_auth, **params)

        return call

    def monthly_post_cap(self) -> int | None:
        """The configured monthly post cap, else the tier's."""
        if self.cfg.monthly_post_cap is not None:
            return self.cfg.monthly_post_cap
        return TIERS[self.cfg.tier].monthly_posts

    def min_poll_interval(self) -> float:
        """Shortest poll interval (seconds) that keeps every endpoint within its read limit."""
        worst = 0.0
        mentions, search = self._limit("mentions"), self._limit("search")
        if self.cfg.mentions and mentions:
            worst = max(worst, WINDOW / mentions)
        if self.cfg.queries and search:
            worst = max(worst, WINDOW * len(self.cfg.queries) / search)
        return worst

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._client = None

    # ---- streams and sweeps ---------------------------------------------------------------

    async def _streams(self) -> list[str]:
        keys = ["mentions"] if self.cfg.mentions else []
        if self.cfg.mentions:
            await self._brand_user_id()
        return keys + [f"search:{q}" for q in self.cfg.queries]

    def _backfill_due(self, state: XCursor, now: float) -> bool:
        interval = self.cfg.backfill_interval
        if interval is None or not state.streams:
            if state.backfill_at is None:
                state.backfill_at = now
            return False
        return state.backfill_at is None or now - state.backfill_at >= interval

    def _begin_sweep(self, key: str, stream: StreamState, now: float, backfill: bool) -> None:
        previous, stream.began = stream.began, now
        stream.sweep_newest = None
        if stream.since_id is None:
            stream.sweep_since = stream.reread = stream.floor = stream.sweep_start = None
            if self.cfg.initial_lookback:
                start = now - self.cfg.initial_lookback
                if key != "mentions":
                    start = max(start, now - SEARCH_HORIZON)
                stream.floor = max(snowflake_at(start) - 1, 0)
                stream.sweep_start = _iso(start)
        elif backfill:
            stream.sweep_since, stream.reread = None, self.cfg.backfill_max_pages
            stream.sweep_start = _iso(now - min(self.cfg.backfill_window, SEARCH_HORIZON))
        else:
            stream.sweep_since = self._steady_since(key, stream, previous, now)
            stream.sweep_start, stream.reread = None, 1

    def _steady_since(
        self, key: str, stream: StreamState, previous: float | None, now: float
    ) -> int:
        """``since_id`` of a steady poll: the newest post seen, lowered to the posts created in
        the ``overlap`` seconds before the previous poll (those may have become visible after
        it). On a quiet stream that lowers nothing, so nothing is re-read."""
        assert stream.since_id is not None
        if previous is None:
            lowered = stream.since_id - (int(self.cfg.overlap * 1000) << 22)
        else:
            lowered = min(stream.since_id, snowflake_at(previous - self.cfg.overlap))
        since = max(lowered, stream.floor or 1)
        if key != "mentions":
            since = max(since, snowflake_at(now - SEARCH_HORIZON))
        return since

    async def _fetch_stream(self, key: str, state: XCursor, page: Page, seen: set[str]) -> None:
        stream = state.streams.setdefault(key, StreamState())
        endpoint = "mentions" if key == "mentions" else "search"
        params: dict[str, Any] = {
            "since_id": stream.sweep_since,
            "start_time": stream.sweep_start,
            "max_results": self.cfg.max_results,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
        }
        try:
            body = await self._read_page(endpoint, key, params, stream.next_token)
        except _StaleToken:
            log.warning(
                "x[%s]: %s: pagination token rejected; restarting the sweep", self.name, key
            )
            stream.next_token = None
            return
        state.reads += len(body.get("data") or [])
        meta = body.get("meta") or {}
        if stream.since_id is None and not self.cfg.initial_lookback:
            self._prime(stream, meta)
            return
        self._absorb(body, page, seen, key)
        newest = _int_or_none(meta.get("newest_id"))
        if newest is not None:
            stream.sweep_newest = max(stream.sweep_newest or 0, newest)
        stream.next_token = meta.get("next_token")
        if stream.next_token and self._reached_seen(stream, meta):
            log.debug("x[%s]: %s: reached posts already seen; sweep ends", self.name, key)
            stream.next_token = None
        if not stream.next_token:
            self._end_sweep(stream)

    @staticmethod
    def _prime(stream: StreamState, meta: dict[str, Any]) -> None:
        """First run without lookback: start after the newest existing post, emitting nothing
        (like praw's ``skip_existing``; X's ids, not this machine's clock, set the start)."""
        newest = _int_or_none(meta.get("newest_id"))
        stream.since_id = stream.floor = newest if newest is not None else 1
        stream.next_token = stream.sweep_newest = None

    @staticmethod
    def _reached_seen(stream: StreamState, meta: dict[str, Any]) -> bool:
        """Count a page that reached ``since_id``; ``True`` when the sweep may read no more."""
        oldest = _int_or_none(meta.get("oldest_id"))
        if stream.reread is None or stream.since_id is None or oldest is None:
            return False
        if oldest > stream.since_id:
            return False
        stream.reread -= 1
        return stream.reread <= 0

    def _end_sweep(self, stream: StreamState) -> None:
        candidates = [v for v in (stream.since_id, stream.sweep_newest) if v is not None]
        if not candidates and stream.sweep_since is not None:
            candidates = [stream.sweep_since]
        if not candidates and stream.sweep_start is not None:
            start = datetime.fromisoformat(stream.sweep_start.replace("Z", "+00:00"))
            candidates = [snowflake_at(start.timestamp())]
        stream.since_id = max(candidates) if candidates else None
        stream.sweep_since = stream.sweep_start = stream.sweep_newest = stream.reread = None

    def _finish(self, state: XCursor, page: Page) -> None:
        pending = any(s.next_token for s in state.streams.values())
        state.chain = state.chain + 1 if pending else 0
        page.has_more = pending and state.chain < self.cfg.max_pages_per_poll
        if pending and not page.has_more:
            state.chain = 0
        page.cursor = state.dump()

    async def _read_page(
        self, endpoint: str, key: str, params: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        client_params = {k: v for k, v in params.items() if v is not None}
        if endpoint == "mentions":
            brand_id = await self._brand_user_id()
            if token:
                client_params["pagination_token"] = token

            async def call(client: AsyncClient) -> Any:
                return await client.get_users_mentions(
                    brand_id, user_auth=self._user_auth, **client_params
                )
        else:
            query = f"{key.removeprefix('search:')} {self.cfg.query_suffix}".strip()
            if token:
                client_params["next_token"] = token

            async def call(client: AsyncClient) -> Any:
                return await client.search_recent_tweets(
                    query, user_auth=self._user_auth, **client_params
                )

        try:
            response = await self._call(endpoint, call)
        except _BadRequest as exc:
            if token:
                raise _StaleToken from exc
            raise AuthError(f"X rejected the request for {key!r}: {exc}") from exc
        body = await response.json()
        if not isinstance(body, dict):
            raise TransientError(f"X returned a non-object body for {key}")
        return body

    def _absorb(self, body: dict[str, Any], page: Page, seen: set[str], key: str) -> None:
        includes = body.get("includes")
        listed = includes.get("users") if isinstance(includes, dict) else None
        users = {
            u.get("id"): u
            for u in (listed if isinstance(listed, list) else [])
            if isinstance(u, dict) and isinstance(u.get("id"), str | int)
        }
        tweets = body.get("data") or []
        for position, tweet in enumerate(tweets if isinstance(tweets, list) else []):
            try:
                mention = self._to_mention(tweet, users)
            except Exception as exc:  # noqa: BLE001 - any post that does not map is malformed
                page.malformed += 1
                tweet_id = tweet.get("id") if isinstance(tweet, dict) else None
                log.warning(
                    "x[%s]: %s: skipped malformed post at position %d (id=%s): %s",
                    self.name,
                    key,
                    position,
                    tweet_id,
                    _short(exc),
                )
                continue
            if mention is None or mention.external_id in seen:
                continue
            seen.add(mention.external_id)
            page.mentions.append(mention)

    # ---- mapping ------------------------------------------------------------------------

    def _to_mention(self, tweet: Any, users: dict[Any, Any]) -> Mention | None:
        if not isinstance(tweet, dict):
            raise TypeError("post is not an object")
        tweet_id = str(tweet["id"])
        if not tweet_id.isdigit():
            raise ValueError(f"id {tweet_id!r} is not numeric")
        text = tweet["text"]
        if not isinstance(text, str):
            raise TypeError("text is not a string")
        author_id = tweet.get("author_id")
        if author_id is not None and author_id == self._brand_id:
            return None
        user = users.get(author_id)
        refs = tweet.get("referenced_tweets") or []
        parent = next((r["id"] for r in refs if r.get("type") == "replied_to"), None)
        metrics = tweet.get("public_metrics") or {}
        handle = user["username"] if user else (author_id or "unknown")
        raw: dict[str, Any] = {"data": tweet}
        if user:
            raw["includes"] = {"users": [user]}
        return Mention(
            platform="x",
            external_id=tweet_id,
            url=f"https://x.com/{handle}/status/{tweet_id}" if user else _web_url(tweet_id),
            kind="reply" if parent else "post",
            author=_author(user, author_id),
            text=text,
            created_at=datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00")),
            thread=Thread(parent=parent, root=tweet.get("conversation_id")),
            language=_language(tweet.get("lang")),
            metrics=Metrics(
                likes=int(metrics.get("like_count", 0)),
                reposts=int(metrics.get("retweet_count", 0)) + int(metrics.get("quote_count", 0)),
                replies=int(metrics.get("reply_count", 0)),
            ),
            raw=raw,
        )

    def _status_url(self, tweet_id: str) -> str:
        if self._brand_handle:
            return f"https://x.com/{self._brand_handle}/status/{tweet_id}"
        return _web_url(tweet_id)

    # ---- HTTP, limits, errors --------------------------------------------------------------

    @property
    def _user_auth(self) -> bool:
        return self.cfg.bearer_token is None

    def _ensure_client(self) -> AsyncClient:
        if self._client is None:
            cfg = self.cfg
            middlewares = (rebase_middleware(cfg.api_base_url),) if cfg.api_base_url else ()
            self._session = aiohttp.ClientSession(
                middlewares=middlewares, timeout=aiohttp.ClientTimeout(total=cfg.timeout)
            )
            self._client = AsyncClient(
                bearer_token=_plain(cfg.bearer_token),
                consumer_key=_plain(cfg.consumer_key),
                consumer_secret=_plain(cfg.consumer_secret),
                access_token=_plain(cfg.access_token),
                access_token_secret=_plain(cfg.access_token_secret),
                return_type=aiohttp.ClientResponse,
            )
            self._client.session = self._session
        return self._client

    async def _brand_user_id(self) -> str:
        if self._brand_id is None:
            if self.cfg.brand_username:
                name = self.cfg.brand_username.lstrip("@")
                response = await self._call(
                    "user_by_username",
                    lambda c: c.get_user(username=name, user_auth=self._user_auth),
                    budget=False,
                )
            else:
                response = await self._call("me", lambda c: c.get_me(user_auth=True), budget=False)
            body = await response.json()
            if "data" not in body:
                raise AuthError(f"X has no account named {self.cfg.brand_username!r}")
            self._brand_id = str(body["data"]["id"])
            self._brand_handle = self._brand_handle or body["data"].get("username")
        return self._brand_id

    def _limit(self, endpoint: str) -> int | None:
        if self.cfg.reads_per_15min is not None:
            return self.cfg.reads_per_15min
        tier = TIERS[self.cfg.tier]
        return {"mentions": tier.mentions, "search": tier.search}.get(endpoint)

    def _check_budget(self, endpoint: str, now: float) -> None:
        budget = self._budgets.setdefault(endpoint, _Budget())
        spent = budget.remaining is not None and budget.remaining <= 0
        if spent and budget.reset is not None and budget.reset > now:
            raise RateLimited(
                f"X {endpoint}: no requests left until the window resets",
                retry_after=budget.reset - now + 1,
            )
        limit = self._limit(endpoint)
        while budget.sent and budget.sent[0] <= now - WINDOW:
            budget.sent.popleft()
        if limit is not None and len(budget.sent) >= limit:
            raise RateLimited(
                f"X {endpoint}: tier budget of {limit} requests per 15 min spent",
                retry_after=budget.sent[0] + WINDOW - now + 1,
            )

    def _note(self, endpoint: str, headers: Any, now: float) -> None:
        budget = self._budgets.setdefault(endpoint, _Budget())
        budget.sent.append(now)
        remaining = _int_or_none(headers.get("x-rate-limit-remaining"))
        reset = _int_or_none(headers.get("x-rate-limit-reset"))
        if remaining is not None:
            budget.remaining, budget.reset = remaining, reset

    async def _call(
        self, endpoint: str, call: Callable[[AsyncClient], Awaitable[Any]], *, budget: bool = True
    ) -> aiohttp.ClientResponse:
        """Run one tweepy call, translating its failures into repbot's error tree."""
        now = time.time()
        if budget:
            self._check_budget(endpoint, now)
        client = self._ensure_client()
        self.requests_made += 1
        try:
            response: aiohttp.ClientResponse = await call(client)
        except tweepy.TweepyException as exc:
            if isinstance(exc, tweepy.HTTPException):
                self._note(endpoint, exc.response.headers, now)
            raise await _translate(exc, endpoint) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientError(f"X {endpoint}: network error: {_short(exc)}") from exc
        self._note(endpoint, response.headers, now)
        return response

    # ---- monthly read cap ---------------------------------------------------------------

    def _roll_month(self, state: XCursor) -> None:
        month = datetime.now(UTC).strftime("%Y-%m")
        if state.month != month:
            state.month, state.reads = month, 0

    def _check_monthly_reads(self, state: XCursor) -> None:
        cap = self.cfg.monthly_read_cap or TIERS[self.cfg.tier].monthly_reads
        if cap is not None and state.reads >= cap:
            now = datetime.now(UTC)
            first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
            raise RateLimited(
                f"X monthly read cap of {cap} posts reached",
                retry_after=(first - now).total_seconds(),
            )


class _BadRequest(ConnectorError):
    """X answered 400 (bad query or stale pagination token)."""


class _StaleToken(ConnectorError):
    """A pagination token was rejected."""


async def _translate(exc: tweepy.TweepyException, endpoint: str) -> ConnectorError:
    """Map a tweepy exception to repbot's error tree (never including credentials)."""
    if not isinstance(exc, tweepy.HTTPException):
        return TransientError(f"X {endpoint}: {_short(exc)}")
    detail = "; ".join(str(m) for m in exc.api_messages)[:300]
    if isinstance(exc, tweepy.TooManyRequests):
        return RateLimited(f"X {endpoint}: 429 Too Many Requests", retry_after=_retry_after(exc))
    if isinstance(exc, tweepy.Unauthorized):
        return AuthError(
            f"X {endpoint}: 401 Unauthorized: the credentials were rejected "
            "(check bearer_token / consumer and access tokens)"
        )
    if isinstance(exc, tweepy.Forbidden):
        body = await _body(exc.response)
        if 453 in exc.api_codes or body.get("reason") == "client-not-enrolled":
            return AuthError(
                f"X {endpoint}: 403 (code 453 / client-not-enrolled): the app's access tier "
                "does not include this endpoint; upgrade the tier or attach the app to a project"
            )
        return AuthError(f"X {endpoint}: 403 Forbidden: {detail or 'access refused'}")
    if isinstance(exc, tweepy.BadRequest):
        return _BadRequest(f"400 Bad Request: {detail}")
    if isinstance(exc, tweepy.NotFound):
        return AuthError(f"X {endpoint}: 404 Not Found: {detail or 'check brand_user_id'}")
    return TransientError(f"X {endpoint}: {_short(exc)}")


def _retry_after(exc: tweepy.TooManyRequests) -> float | None:
    headers = exc.response.headers
    retry = headers.get("retry-after")
    if retry is not None and retry.replace(".", "", 1).isdigit():
        return max(float(retry), 1.0)
    reset = getattr(exc, "reset_time", None) or _int_or_none(headers.get("x-rate-limit-reset"))
    if reset is not None:
        return max(float(reset) - time.time(), 1.0)
    return None


async def _body(response: Any) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}


def _author(user: dict[str, Any] | None, author_id: str | None) -> Author:
    if not user:
        return Author(id=author_id, handle=author_id or "unknown")
    followers = (user.get("public_metrics") or {}).get("followers_count")
    verified = bool(user.get("verified")) or user.get("verified_type") in (
        "blue",
        "business",
        "government",
    )
    return Author(
        id=str(user.get("id", author_id)),
        handle=str(user["username"]),
        display_name=user.get("name"),
        followers=int(followers) if followers is not None else None,
        verified=verified,
    )


def _language(lang: Any) -> str | None:
    if isinstance(lang, str) and lang and lang not in ("und", "zxx") and not lang.startswith("q"):
        return lang
    return None


def _web_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _plain(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
