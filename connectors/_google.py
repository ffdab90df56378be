"""What the Google connectors share (``google_business``, ``google_play``).

google-api-python-client is synchronous and sends every request through an ``httplib2.Http``;
:class:`GoogleConnector` runs its calls in a worker thread, one at a time, through the
:class:`~repbot.connectors._google_http.GuardedHttp` (it counts requests, turns network
failures into :class:`~repbot.errors.TransientError` and refuses to let google-auth sleep and
retry a token request the token endpoint answered with 429 or 5xx: the runner waits instead),
inside the connector's own request :class:`Budget`. ``translate`` maps the library's exceptions
onto repbot's error tree without quoting any credential.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from repbot.connector import Connector, ConnectorConfig
from repbot.errors import (
    AuthError,
    ConnectorError,
    MalformedRecord,
    PostError,
    RateLimited,
    TransientError,
)
from repbot.models import Mention, Page, PostedReply

if TYPE_CHECKING:
    import google.auth.exceptions
    from googleapiclient.errors import HttpError

    from ._google_http import GuardedHttp

log = logging.getLogger(__name__)
T = TypeVar("T")

_RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded", "RESOURCE_EXHAUSTED", "quota")


class BadRequest(ConnectorError):
    """Google answered 400 (a stale page token or an invalid parameter)."""


class NotFound(ConnectorError):
    """Google answered 404 (a location, app or review that does not exist or is not ours)."""


class Budget:
    """A sliding-window request budget (a platform quota we must stay inside)."""

    def __init__(self, limit: int | None, window: float) -> None:
        self.limit = limit
        self.window = window
        self.sent: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - self.window:
            self.sent.popleft()

    def allows(self) -> bool:
        """Whether one more request fits in the window."""
        if self.limit is None:
            return True
        self._trim(time.time())
        return len(self.sent) < self.limit

    def spend(self) -> None:
        """Record one request."""
        if self.limit is not None:
            self.sent.append(time.time())

    def retry_after(self) -> float:
        """Seconds until the oldest request leaves the window (at least one)."""
        if not self.sent:
            return 1.0
        return max(self.sent[0] + self.window - time.time(), 1.0)


def translate(exc: Exception, service: str, what: str) -> ConnectorError:
    """Map an exception from googleapiclient or google-auth onto repbot's error tree."""
    import google.auth.exceptions
    from googleapiclient.errors import HttpError

    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, HttpError):
        return _from_http_error(exc, f"{service} {what}")
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return AuthError(f"{service}: the token request was refused ({_refresh_cause(exc)})")
    if isinstance(exc, google.auth.exceptions.GoogleAuthError):
        return AuthError(f"{service}: credentials unusable: {short(exc)}")
    return TransientError(f"{service} {what}: {short(exc)}")


def _from_http_error(exc: HttpError, where: str) -> ConnectorError:
    status = int(exc.resp.status)
    code, message = _error_detail(exc.content)
    detail = f"{code}: {message}" if code else message
    if status == 429 or (status == 403 and any(r in detail for r in _RATE_REASONS)):
        return RateLimited(f"{where}: {status} {detail}"[:300], retry_after=retry_after(exc.resp))
    if status == 401:
        return AuthError(
            f"{where}: 401 UNAUTHENTICATED: the access token was refused "
            "(check the credentials and that they are authorised for this API)"
        )
    if status == 403:
        return AuthError(f"{where}: 403 {detail or 'PERMISSION_DENIED'}"[:300])
    if status == 404:
        return NotFound(f"{where}: 404 {detail or 'NOT_FOUND'}"[:300])
    if status == 400:
        return BadRequest(f"{where}: 400 {detail or 'INVALID_ARGUMENT'}"[:300])
    if status >= 500:
        return TransientError(f"{where}: {status} server error")
    return TransientError(f"{where}: {status} {detail}"[:300])


def _error_detail(content: bytes | None) -> tuple[str, str]:
    """``(status, message)`` of a Google JSON error body (empty strings when absent)."""
    try:
        data = json.loads(content or b"{}")
    except ValueError:
        return "", ""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code = str(error.get("status") or "")
    reasons = [str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)]
    if reasons and reasons[0] != "None":
        code = code or reasons[0]
    return code, str(error.get("message") or "")[:200]


def _refresh_cause(exc: google.auth.exceptions.RefreshError) -> str:
    data = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(data, dict) and data.get("error"):
        cause = str(data["error"])
        if cause == "invalid_grant":
            return "invalid_grant: the refresh token or key was revoked, expired or is wrong"
        if cause == "invalid_client":
            return "invalid_client: the OAuth client id or secret is wrong"
        return cause[:100]
    return short(exc)


def post_error(exc: ConnectorError) -> PostError:
    """A posting failure: rate limits and server errors may pass, the rest will not."""
    return PostError(str(exc), transient=isinstance(exc, RateLimited | TransientError))


def retry_after(response: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (number or HTTP date), at least one."""
    value = response.get("retry-after") if hasattr(response, "get") else None
    if not value:
        return None
    try:
        return max(float(value), 1.0)
    except ValueError:
        pass
    try:
        at = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(at.timestamp() - time.time(), 1.0)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``2024-05-01T10:00:00.123Z``) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_ms(at: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(at.timestamp() * 1000)


def short(exc: BaseException) -> str:
    """The first line of an error message, at most 200 characters."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def endpoint_options(base_url: str | None) -> dict[str, str] | None:
    """googleapiclient ``client_options`` pointing at ``base_url`` (``None``: the real API)."""
    return {"api_endpoint": f"{base_url}/"} if base_url else None


def build_service(name: str, version: str, http: Any, base_url: str | None) -> Any:
    """A googleapiclient service from the library's bundled discovery document."""
    from googleapiclient.discovery import build

    return build(
        name,
        version,
        http=http,
        client_options=endpoint_options(base_url),
        static_discovery=True,
        cache_discovery=False,
    )


class ReviewSweep(Protocol):
    """A sweep down a review list sorted by update time, newest first (epoch ms)."""

    newest: int | None
    """The newest update time the sweep has seen."""

    @property
    def cut(self) -> int | None:
        """The oldest update time the sweep reads."""
        ...

    @property
    def mark(self) -> int | None:
        """The newest update time delivered before the sweep began."""
        ...


class GoogleConnector(Connector):
    """A connector over a Google API: blocking calls in a worker thread, one at a time.

    Subclasses set :attr:`service` (the API's name in messages), :attr:`budget` and
    :attr:`stamped`, and implement the worker-thread side: :meth:`_fetch`, :meth:`_reply`,
    :meth:`_find_reply`, :meth:`_stamp` and :meth:`_forget_services` (drop the services built
    on the closed HTTP object).
    """

    service: ClassVar[str] = "Google"
    gone: ClassVar[str] = ""
    """Added to the message of a post answered 404 (empty: the plain message)."""
    stamped: ClassVar[str] = "update time"
    """The review field :meth:`_stamp` reads (named when a review lacks it)."""
    budget: Budget
    """The platform quota the connector keeps inside (set by the subclass)."""

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("googleapiclient.discovery")
        self._lock = threading.Lock()
        self._http: GuardedHttp | None = None

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far (token requests included)."""
        return self._http.requests if self._http is not None else 0

    async def fetch(self, cursor: str | None) -> Page:
        """The next page of reviews (:meth:`_fetch`, in the worker thread)."""
        return await self._in_thread(self._fetch, cursor)

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Reply to a review or replace our reply (:meth:`_reply`, in the worker thread)."""
        return await self._in_thread(self._reply, mention, text)

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """The review's owner reply, if any (:meth:`_find_reply`, in the worker thread)."""
        return await self._in_thread(self._find_reply, mention)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        http, self._http = self._http, None
        self._forget_services()
        if http is not None:
            await asyncio.to_thread(http.close)

    def _fetch(self, cursor: str | None) -> Page:
        raise NotImplementedError

    def _reply(self, mention: Mention, text: str) -> PostedReply:
        raise NotImplementedError

    def _find_reply(self, mention: Mention) -> PostedReply | None:
        raise NotImplementedError

    def _stamp(self, review: Any) -> datetime | None:
        """When ``review`` was last updated (``None``: it does not say)."""
        raise NotImplementedError

    def _forget_services(self) -> None:
        raise NotImplementedError

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in a worker thread, holding the connector's lock."""
        return await asyncio.to_thread(self._locked, func, *args)

    def _locked(self, func: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return func(*args)

    def _authorized(self, credentials: Any, *, timeout: float, token_uri: str) -> Any:
        """An authorised HTTP object over a fresh :class:`GuardedHttp` (kept for counting)."""
        import google_auth_httplib2

        from ._google_http import GuardedHttp

        self._http = GuardedHttp(timeout=timeout, token_uri=token_uri, service=self.service)
        return google_auth_httplib2.AuthorizedHttp(credentials, http=self._http)

    def _execute(self, request: Any, what: str) -> Any:
        """Send one request inside the budget; every failure raised as a repbot error."""
        self.budget.spend()
        try:
            return request.execute(num_retries=0)
        except Exception as exc:  # every failure is mapped onto repbot's tree
            raise translate(exc, self.service, what) from exc

    def _may_send(self, sent: int, quota: str) -> bool:
        """Whether the budget allows another request; raises when it is spent before the
        fetch sent any (``quota`` says what was spent, e.g. ``200 requests per hour``)."""
        if self.budget.allows():
            return True
        if sent == 0:
            raise RateLimited(
                f"{self.service}: {quota} spent", retry_after=self.budget.retry_after()
            )
        return False

    def _post(self, request: Any, what: str) -> Any:
        """Send a posting request; failures raised as :class:`PostError`."""
        try:
            return self._execute(request, what)
        except ConnectorError as exc:
            if isinstance(exc, NotFound) and self.gone:
                raise PostError(f"{exc} ({self.gone})", transient=False) from exc
            raise post_error(exc) from exc

    def _take(
        self,
        page: Page,
        reviews: list[Any],
        sweep: ReviewSweep,
        mention: Callable[[Any], Mention],
        where: str = "",
    ) -> bool:
        """Emit the reviews at or above the sweep's cut (mapped by ``mention``); True once one
        below it is reached or, on a steady sweep, the page reached the reviews delivered
        before (the overlap costs at most that page). ``where`` names the stream in logs."""
        reached = False
        for position, review in enumerate(reviews):
            at = self._stamp(review)
            if at is None:
                self._malformed(page, position, f"no {self.stamped}", where)
                continue
            stamp = to_ms(at)
            if stamp < (sweep.cut or 0):
                return True
            reached = reached or (sweep.mark is not None and stamp <= sweep.mark)
            sweep.newest = max(sweep.newest or 0, stamp)
            try:
                page.mentions.append(mention(review))
            except (MalformedRecord, ValueError) as exc:
                self._malformed(page, position, short(exc), where)
        return reached

    def _malformed(self, page: Page, position: int, why: str, where: str) -> None:
        page.malformed += 1
        log.warning(
            "%s[%s]: %sskipped malformed review at position %d (%s)",
            self.type_name,
            self.name,
            where,
            position,
            why,
        )
