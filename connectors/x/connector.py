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

import importlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp

from repbot import paging
from repbot.connector import Connector, ConnectorConfig
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited, TransientError
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import HandleSyntax, Limit, Platform
from repbot.secrets import register_secret

from .client import BadRequest, Budget, StaleToken, plain, rebase_middleware, short, translate
from .config import SEARCH_HORIZON, TIERS, WINDOW, XConfig
from .mapping import (
    EXPANSIONS,
    TWEET_FIELDS,
    USER_FIELDS,
    int_or_none,
    snowflake_at,
    status_url,
    to_mention,
)

if TYPE_CHECKING:
    from tweepy.asynchronous import AsyncClient

log = logging.getLogger(__name__)


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


class XConnector(Connector):
    """Listens to X through the v2 API and replies with ``create_tweet``."""

    type_name: ClassVar[str] = "x"
    platform: ClassVar[str] = "x"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform(
            "x",
            "social",
            Limit(280, "weighted", url_length=23),
            HandleSyntax(re.compile(r"[A-Za-z0-9_]{1,15}"), "@{handle}", 15),
            can_reply=True,
            emoji=":bird:",
        ),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = XConfig

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("tweepy.asynchronous")
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
        self._budgets: dict[str, Budget] = {}
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
        since = paging.sweep_start(
            stream.since_id,
            began=previous,
            overlap=self.cfg.overlap,
            key_at=snowflake_at,
            span=int(self.cfg.overlap * 1000) << 22,
            floor=stream.floor or 1,
        )
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
        except StaleToken:
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
        newest = int_or_none(meta.get("newest_id"))
        if newest is not None:
            stream.sweep_newest = max(stream.sweep_newest or 0, newest)
        oldest = int_or_none(meta.get("oldest_id"))
        token = meta.get("next_token")
        stream.next_token, stream.reread = paging.next_page(
            token,
            reached=paging.reaches_mark(stream.since_id, oldest, unique=True),
            rereads=stream.reread,
        )
        if token and not stream.next_token:
            log.debug("x[%s]: %s: reached posts already seen; sweep ends", self.name, key)
        if not stream.next_token:
            self._end_sweep(stream)

    @staticmethod
    def _prime(stream: StreamState, meta: dict[str, Any]) -> None:
        """First run without lookback: start after the newest existing post, emitting nothing
        (like praw's ``skip_existing``; X's ids, not this machine's clock, set the start)."""
        newest = int_or_none(meta.get("newest_id"))
        stream.since_id = stream.floor = newest if newest is not None else 1
        stream.next_token = stream.sweep_newest = None

    def _end_sweep(self, stream: StreamState) -> None:
        mark = paging.new_mark(stream.since_id, stream.sweep_newest)
        if mark is None and stream.sweep_since is not None:
            mark = stream.sweep_since
        if mark is None and stream.sweep_start is not None:
            start = datetime.fromisoformat(stream.sweep_start.replace("Z", "+00:00"))
            mark = snowflake_at(start.timestamp())
        stream.since_id = mark
        stream.sweep_since = stream.sweep_start = stream.sweep_newest = stream.reread = None

    def _finish(self, state: XCursor, page: Page) -> None:
        pending = any(s.next_token for s in state.streams.values())
        state.chain, page.has_more = paging.chain(pending, state.chain, self.cfg.max_pages_per_poll)
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
        except BadRequest as exc:
            if token:
                raise StaleToken from exc
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
                mention = to_mention(tweet, users, self._brand_id)
            except Exception as exc:  # noqa: BLE001 - any post that does not map is malformed
                page.malformed += 1
                tweet_id = tweet.get("id") if isinstance(tweet, dict) else None
                log.warning(
                    "x[%s]: %s: skipped malformed post at position %d (id=%s): %s",
                    self.name,
                    key,
                    position,
                    tweet_id,
                    short(exc),
                )
                continue
            if mention is None or mention.external_id in seen:
                continue
            seen.add(mention.external_id)
            page.mentions.append(mention)

    def _status_url(self, tweet_id: str) -> str:
        return status_url(self._brand_handle, tweet_id)

    # ---- HTTP, limits, errors --------------------------------------------------------------

    @property
    def _user_auth(self) -> bool:
        return self.cfg.bearer_token is None

    def _ensure_client(self) -> AsyncClient:
        if self._client is None:
            from tweepy.asynchronous import AsyncClient

            cfg = self.cfg
            middlewares = (rebase_middleware(cfg.api_base_url),) if cfg.api_base_url else ()
            self._session = aiohttp.ClientSession(
                middlewares=middlewares, timeout=aiohttp.ClientTimeout(total=cfg.timeout)
            )
            self._client = AsyncClient(
                bearer_token=plain(cfg.bearer_token),
                consumer_key=plain(cfg.consumer_key),
                consumer_secret=plain(cfg.consumer_secret),
                access_token=plain(cfg.access_token),
                access_token_secret=plain(cfg.access_token_secret),
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
        budget = self._budgets.setdefault(endpoint, Budget())
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
        budget = self._budgets.setdefault(endpoint, Budget())
        budget.sent.append(now)
        remaining = int_or_none(headers.get("x-rate-limit-remaining"))
        reset = int_or_none(headers.get("x-rate-limit-reset"))
        if remaining is not None:
            budget.remaining, budget.reset = remaining, reset

    async def _call(
        self, endpoint: str, call: Callable[[AsyncClient], Awaitable[Any]], *, budget: bool = True
    ) -> aiohttp.ClientResponse:
        """Run one tweepy call, translating its failures into repbot's error tree."""
        now = time.time()
        if budget:
            self._check_budget(endpoint, now)
        import tweepy

        client = self._ensure_client()
        self.requests_made += 1
        try:
            response: aiohttp.ClientResponse = await call(client)
        except tweepy.TweepyException as exc:
            if isinstance(exc, tweepy.HTTPException):
                self._note(endpoint, exc.response.headers, now)
            raise await translate(exc, endpoint) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientError(f"X {endpoint}: network error: {short(exc)}") from exc
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


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
