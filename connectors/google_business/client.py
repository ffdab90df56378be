"""The HTTP side shared by the Google connectors (``google_business``, ``google_play``).

google-api-python-client is synchronous and sends every request through an ``httplib2.Http``;
:class:`GuardedHttp` is that object: it counts requests, turns network failures into
:class:`~repbot.errors.TransientError` and refuses to let google-auth sleep and retry a token
request the token endpoint answered with 429 or 5xx (the runner waits instead). ``translate``
maps the library's exceptions onto repbot's error tree without quoting any credential.
"""

from __future__ import annotations

import json
import time
from collections import deque
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from repbot.errors import AuthError, ConnectorError, PostError, RateLimited, TransientError

if TYPE_CHECKING:
    import google.auth.exceptions
    from googleapiclient.errors import HttpError

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
