"""What the review and forum connectors share: HTTP with mapped errors, and newest-first sweeps.

Trustpilot, Yelp, App Store Connect and Hacker News each list items newest first, one page at
a time. :class:`ListingConnector` walks one *stream* per business, app or query with
:mod:`repbot.paging`: a steady poll reads the first page and stops once a page reaches items
already delivered (one request per quiet stream); a burst follows the pages (``has_more``) up to
``max_pages_per_poll``. Besides new items, a sweep re-emits every item *changed* (an edited
review, an owner reply made in the platform's own UI) since the newest change it delivered, so
the core can record the revision or close the mention. Every ``refresh_interval`` a sweep reads
``refresh_pages`` further pages of known items, to see edits and replies on older reviews.

Times are the platform's (``created_at`` and ``updated_at`` / ``owner_reply.created_at`` of the
mapped mentions); this machine's clock only sets the overlap and the first run's lookback.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import aiohttp
from pydantic import Field, field_validator

from repbot import paging
from repbot.connector import Connector, ConnectorConfig
from repbot.durations import Duration, parse_duration
from repbot.errors import AuthError, ConnectorError, PostError, RateLimited, TransientError
from repbot.models import Mention, Page
from repbot.secrets import redact

log = logging.getLogger(__name__)
DEFAULT_RETRY_AFTER = 60.0


class ListingConfig(ConnectorConfig):
    """Options every listing connector has (see docs/CONNECTORS.md)."""

    max_pages_per_poll: int = Field(
        10, ge=1, description="Pages followed in one poll before yielding to the next interval."
    )
    overlap: float = Field(
        300.0,
        ge=0,
        description="Items created or changed this many seconds before the previous poll are "
        "read again (the platform may list them late).",
    )
    initial_lookback: float = Field(
        7 * 86400.0, ge=0, description="Seconds of history read on the first run (0: none)."
    )
    refresh_interval: Duration | None = Field(
        6 * 3600.0,
        description="Seconds between sweeps that re-read older items for edits and owner "
        "replies (null: never).",
    )
    refresh_pages: int = Field(
        2, ge=1, description="Pages of already-delivered items a refresh sweep reads."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    api_base_url: str | None = Field(
        None, description="Base URL of a local simulator (null: the real API)."
    )

    @field_validator("overlap", "initial_lookback", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        """Seconds, a duration string such as ``7d``, or 0."""
        if value == 0 or value == "0":
            return 0.0
        return parse_duration(value)


@dataclass
class Listed:
    """One page of a listing: the raw items and the token of the next page (``None``: end)."""

    items: list[Any]
    next: str | None = None


@dataclass
class Stream:
    """Where one stream stands (times are epoch seconds, from the platform's dates).

    ``mark``/``changed``: newest creation / change delivered by finished sweeps. ``floor`` /
    ``since_change``: the current sweep emits items created / changed after them. ``token``:
    the sweep's next page; ``reread``: pages reaching ``mark`` it may still read. ``start``:
    where the first run began; nothing older is ever emitted as new.
    """

    mark: float | None = None
    changed: float | None = None
    began: float | None = None
    token: str | None = None
    floor: float | None = None
    since_change: float | None = None
    newest: float | None = None
    newest_change: float | None = None
    reread: int | None = None
    start: float = 0.0
    primed: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ListingCursor:
    """The persisted position of a listing connector, as JSON."""

    streams: dict[str, Stream] = field(default_factory=dict)
    chain: int = 0
    refresh_at: float | None = None

    @classmethod
    def load(cls, text: str | None, label: str) -> ListingCursor:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            streams = {k: Stream(**v) for k, v in data.get("streams", {}).items()}
            return cls(streams, int(data.get("chain", 0)), data.get("refresh_at"))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("%s: ignoring unreadable cursor (%s); starting afresh", label, exc)
            return cls()

    def dump(self) -> str:
        """The cursor as compact JSON."""
        data = {
            "v": 1,
            "streams": {k: s.to_json() for k, s in self.streams.items()},
            "chain": self.chain,
            "refresh_at": self.refresh_at,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


def change_time(mention: Mention) -> float | None:
    """When ``mention`` last changed: its edit or the owner reply, whichever is newer."""
    times = [mention.updated_at]
    if mention.owner_reply is not None:
        times.append(mention.owner_reply.created_at)
    stamps = [t.timestamp() for t in times if t is not None]
    return max(stamps) if stamps else None


def short(exc: BaseException) -> str:
    """The first line of an error message, at most 200 characters, secrets redacted."""
    text = str(exc) or type(exc).__name__
    return redact(text.splitlines()[0][:200])


def retry_after(headers: Any, now: float | None = None) -> float:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), Yelp's ``RateLimit-ResetTime``
    (ISO time), or a reset header (epoch seconds, or seconds from now)."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        try:
            return max(float(value), 1.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(value).timestamp() - now, 1.0)
            except (TypeError, ValueError):
                pass
    reset_time = headers.get("RateLimit-ResetTime")
    if reset_time:
        try:
            return max(parse_time(reset_time).timestamp() - now, 1.0)
        except (TypeError, ValueError):
            pass
    for name in ("X-RateLimit-Reset", "RateLimit-Reset"):
        reset = headers.get(name)
        if reset and reset.replace(".", "", 1).isdigit():
            seconds = float(reset)
            # An epoch timestamp, or (RateLimit-Reset) seconds from now.
            return max(seconds - now if seconds > 1e9 else seconds, 1.0)
    return DEFAULT_RETRY_AFTER


@dataclass
class Response:
    """A JSON answer: status, parsed body (``None`` when empty) and headers."""

    status: int
    body: Any
    headers: Any


class Http:
    """One aiohttp session per source; statuses mapped to repbot's error tree.

    ``label`` names the platform in messages; ``hints`` maps 401/403 to the likely cause. No
    message includes a secret (platform messages pass through :func:`redact`).
    """

    def __init__(self, label: str, timeout: float, hints: dict[int, str]) -> None:
        self.label = label
        self.timeout = timeout
        self.hints = hints
        self.requests = 0
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        allow: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> Response:
        """Send one request; statuses in ``allow`` are returned instead of raised."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self.requests += 1
        try:
            async with self._session.request(method, url, **kwargs) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientError(f"{self.label} {endpoint}: network error: {short(exc)}") from exc
        readable, body = _json(raw)
        if status < 400 or status in allow:
            if status < 300 and not readable:
                raise TransientError(f"{self.label} {endpoint}: the answer is not JSON")
            return Response(status, body, headers)
        raise self.error(status, body, headers, endpoint)

    def error(self, status: int, body: Any, headers: Any, endpoint: str) -> ConnectorError:
        """The repbot error for an HTTP failure."""
        where = f"{self.label} {endpoint}: HTTP {status}"
        detail = redact(_message(body))[:300]
        if status == 429:
            return RateLimited(f"{where} (rate limited)", retry_after=retry_after(headers))
        if status >= 500:
            return TransientError(f"{where}: {detail or 'server error'}")
        hint = self.hints.get(status, "the request was refused")
        return AuthError(f"{where}: {hint}" + (f" ({detail})" if detail else ""))

    async def aclose(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _json(raw: bytes) -> tuple[bool, Any]:
    """Whether ``raw`` is empty or JSON, and its value."""
    if not raw.strip():
        return True, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None


def _message(body: Any) -> str:
    """The human part of a platform's error body (shapes of the four platforms)."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("detail") or first.get("title") or first.get("code") or "")
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("description") or error.get("code") or "")
        for key in ("message", "details", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return ""


def as_post_error(exc: ConnectorError) -> PostError:
    """A failed post: rate limits and server errors may be retried, refusals need a person."""
    return PostError(str(exc), transient=not isinstance(exc, AuthError))


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time (``Z`` or an offset) as an aware datetime; raises on anything else."""
    if not isinstance(value, str):
        raise TypeError(f"time {value!r} is not a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return parsed


class ListingClient(Protocol):
    """The platform side of a listing connector: requests go through its :class:`Http`."""

    http: Http

    async def aclose(self) -> None:
        """Close the HTTP session."""
        ...


class ListingConnector(Connector):
    """A connector over newest-first listings, one stream per key (see the module docs).

    Subclasses set :attr:`client` and implement :meth:`stream_keys`, :meth:`read` (one page
    of a stream) and :meth:`parse` (one raw item as a mention; raise on a malformed one).
    """

    client: ListingClient

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, ListingConfig)
        self.listing: ListingConfig = config

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far."""
        return self.client.http.requests

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.client.aclose()

    def stream_keys(self) -> list[str]:
        """The streams to poll (one per business, app or query)."""
        raise NotImplementedError

    async def read(self, key: str, stream: Stream, token: str | None) -> Listed:
        """One page of stream ``key`` (``token``: the page after the first)."""
        raise NotImplementedError

    def parse(self, key: str, item: Any) -> Mention:
        """One raw item as a mention; raise on anything that does not map."""
        raise NotImplementedError

    async def fetch(self, cursor: str | None) -> Page:
        """Continue the pending sweeps, else start a sweep on every stream and read its page."""
        state = ListingCursor.load(cursor, f"{self.type_name}[{self.name}]")
        keys = self.stream_keys()
        pending = [k for k in keys if k in state.streams and state.streams[k].token]
        if not pending:
            now = time.time()
            refresh = self._refresh_due(state, now)
            for key in keys:
                self._begin(state.streams.setdefault(key, Stream(primed=False)), now, refresh)
        page = Page()
        for key in pending or keys:
            await self._sweep_page(key, state.streams[key], page)
        waiting = any(state.streams[k].token for k in keys if k in state.streams)
        state.chain, page.has_more = paging.chain(
            waiting, state.chain, self.listing.max_pages_per_poll
        )
        page.cursor = state.dump()
        return page

    def _refresh_due(self, state: ListingCursor, now: float) -> bool:
        interval = self.listing.refresh_interval
        if state.refresh_at is None or interval is None:
            state.refresh_at = now
            return False
        if now - state.refresh_at < interval:
            return False
        state.refresh_at = now
        return True

    def _begin(self, stream: Stream, now: float, refresh: bool) -> None:
        previous, stream.began = stream.began, now
        stream.newest = stream.newest_change = None
        cfg = self.listing
        if stream.mark is None:
            stream.floor = stream.start = now - cfg.initial_lookback
            stream.since_change, stream.reread = stream.floor, 1
            return
        stream.floor = paging.sweep_start(
            stream.mark,
            began=previous,
            overlap=cfg.overlap,
            key_at=float,
            span=cfg.overlap,
            floor=stream.start,
        )
        changed = stream.changed if stream.changed is not None else stream.mark
        stream.since_change = paging.sweep_start(
            changed,
            began=previous,
            overlap=cfg.overlap,
            key_at=float,
            span=cfg.overlap,
            floor=stream.start,
        )
        stream.reread = cfg.refresh_pages + 1 if refresh else 1

    async def _sweep_page(self, key: str, stream: Stream, page: Page) -> None:
        listed = await self.read(key, stream, stream.token)
        mentions = self._parse_all(key, listed.items, page)
        created = [m.created_at.timestamp() for m in mentions]
        changes = [c for c in map(change_time, mentions) if c is not None]
        stream.newest = paging.new_mark(stream.newest, max(created, default=None))
        stream.newest_change = paging.new_mark(stream.newest_change, max(changes, default=None))
        if not stream.primed:
            if self.listing.initial_lookback == 0:
                stream.primed, stream.token = True, None
                self._end(stream)
                stream.start = stream.mark if stream.mark is not None else stream.start
                return
            stream.primed = True
        for mention in mentions:
            if self._emits(stream, mention):
                page.mentions.append(mention)
        limit = stream.mark if stream.mark is not None else stream.floor
        stream.token, stream.reread = paging.next_page(
            listed.next,
            reached=paging.reaches_mark(limit, min(created, default=None), unique=False),
            rereads=stream.reread,
        )
        if not stream.token:
            self._end(stream)

    @staticmethod
    def _emits(stream: Stream, mention: Mention) -> bool:
        if stream.floor is None or mention.created_at.timestamp() > stream.floor:
            return True
        changed = change_time(mention)
        return (
            changed is not None
            and stream.since_change is not None
            and (changed > stream.since_change)
        )

    @staticmethod
    def _end(stream: Stream) -> None:
        stream.mark = paging.new_mark(stream.mark, stream.newest)
        if stream.mark is None:
            stream.mark = stream.floor
        stream.changed = paging.new_mark(stream.changed, stream.newest_change)
        stream.token = stream.reread = stream.newest = stream.newest_change = None

    def _parse_all(self, key: str, items: list[Any], page: Page) -> list[Mention]:
        mentions: list[Mention] = []
        for position, item in enumerate(items):
            try:
                mentions.append(self.parse(key, item))
            except Exception as exc:  # noqa: BLE001 - any item that does not map is malformed
                page.malformed += 1
                item_id = item.get("id") if isinstance(item, dict) else None
                log.warning(
                    "%s[%s]: %s: skipped malformed item at position %d (id=%s): %s",
                    self.type_name,
                    self.name,
                    key,
                    position,
                    item_id,
                    short(exc),
                )
        return mentions
