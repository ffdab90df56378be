"""The atproto side: one ``AsyncClient`` per source, its session, errors and rate limits.

The client logs in once with the handle and app password (``createSession``) and atproto
refreshes the access token (``refreshSession``) before it expires. Listings are read with
``invoke_query`` so each item is mapped (and a malformed one skipped) on its own; replies,
threads and handle look-ups use the typed methods.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from repbot.errors import AuthError, ConnectorError, RateLimited, TransientError

from .config import WINDOW, BlueskyConfig

if TYPE_CHECKING:
    from atproto import AsyncClient
    from atproto_client.exceptions import AtProtocolError

T = TypeVar("T")
_EXPIRED = {"ExpiredToken", "InvalidToken"}


class Rejected(ConnectorError):
    """The server refused a request as invalid (400, 404); ``error`` is its XRPC error name."""

    def __init__(self, message: str, error: str | None) -> None:
        self.error = error
        super().__init__(message)


class BlueskyClient:
    """atproto's ``AsyncClient`` pointed at ``api_base_url``, with the source's budget."""

    def __init__(self, cfg: BlueskyConfig) -> None:
        from atproto import AsyncClient
        from atproto_client.request import AsyncRequest

        self.cfg = cfg
        self.api = AsyncClient(base_url=cfg.api_base_url, request=AsyncRequest(timeout=cfg.timeout))
        self.sent: deque[float] = deque()
        self.remaining: int | None = None
        self.reset: float | None = None
        self.logged_in = False
        self.did = ""
        self.requests_made = 0

    async def login(self) -> None:
        """Create the session once (later calls reuse and refresh it)."""
        from atproto_client.exceptions import AtProtocolError, BadRequestError, UnauthorizedError

        if self.logged_in:
            return
        password = self.cfg.app_password.get_secret_value()
        try:
            self._count(time.time())
            profile = await self.api.login(self.cfg.handle, password)
        except (UnauthorizedError, BadRequestError) as exc:
            raise AuthError(
                f"bluesky login as {self.cfg.handle}: {_detail(exc) or 'refused'}: check the "
                "handle and app_password (an app password, not the account password)"
            ) from exc
        except AtProtocolError as exc:
            raise self.translate(exc, "login") from exc
        self.did = profile.did if profile is not None else ""
        self.logged_in = True

    async def query(self, nsid: str, params: Any) -> dict[str, Any]:
        """A raw XRPC query: the JSON body, with the rate-limit headers noted."""
        response = await self.call(nsid, lambda api: api.invoke_query(nsid, params=params))
        headers = response.headers
        if "ratelimit-remaining" in headers:
            self.remaining = _int(headers.get("ratelimit-remaining"))
            self.reset = _int(headers.get("ratelimit-reset"))
        body = response.content
        if not isinstance(body, dict):
            raise TransientError(f"bluesky {nsid}: answer is not a JSON object")
        return body

    async def call(self, endpoint: str, fn: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """Run one atproto call after the budget check; map its failures."""
        from atproto_client.exceptions import AtProtocolError

        await self.login()
        now = time.time()
        self._check_budget(endpoint, now)
        self._count(now)
        try:
            return await fn(self.api)
        except AtProtocolError as exc:
            raise self.translate(exc, endpoint) from exc

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.api.request.close()

    def _count(self, now: float) -> None:
        self.requests_made += 1
        self.sent.append(now)

    def _check_budget(self, endpoint: str, now: float) -> None:
        if self.remaining is not None and self.remaining <= 1 and self.reset and self.reset > now:
            raise RateLimited(
                f"bluesky {endpoint}: no requests left until the window resets",
                retry_after=max(self.reset - now, 1.0),
            )
        while self.sent and self.sent[0] <= now - WINDOW:
            self.sent.popleft()
        if len(self.sent) >= self.cfg.requests_per_5min:
            raise RateLimited(
                f"bluesky {endpoint}: budget of {self.cfg.requests_per_5min} requests per 5 "
                "minutes spent",
                retry_after=max(self.sent[0] + WINDOW - now, 1.0),
            )

    def translate(self, exc: AtProtocolError, endpoint: str) -> ConnectorError:
        """Map an atproto exception to repbot's error tree (never including credentials)."""
        from atproto_client.exceptions import (
            BadRequestError,
            NetworkError,
            RateLimitExceededError,
            RequestErrorBase,
            UnauthorizedError,
        )

        where = f"bluesky {endpoint}"
        if isinstance(exc, RateLimitExceededError):
            reset = exc.reset_at
            wait = exc.retry_after
            if wait is None and reset is not None:
                wait = reset.timestamp() - time.time()
            return RateLimited(f"{where}: 429 Rate Limit Exceeded", retry_after=max(wait or 1, 1))
        error = _error(exc)
        if isinstance(exc, UnauthorizedError):
            if error in _EXPIRED:
                self.logged_in = False
                return TransientError(f"{where}: session expired ({error}); logging in again")
            return AuthError(f"{where}: {_detail(exc) or 'refused'}: check the app password")
        if isinstance(exc, NetworkError):
            return TransientError(f"{where}: network error: {_detail(exc) or type(exc).__name__}")
        status = (
            exc.response.status_code if isinstance(exc, RequestErrorBase) and exc.response else None
        )
        if status is not None and status >= 500:
            return TransientError(f"{where}: {status} {_detail(exc)}".rstrip())
        if isinstance(exc, BadRequestError) or status in (400, 404):
            if error in _EXPIRED:
                self.logged_in = False
                return TransientError(f"{where}: session expired ({error}); logging in again")
            return Rejected(f"{where}: {_detail(exc)}", error)
        return TransientError(f"{where}: {_detail(exc) or type(exc).__name__}")


def _error(exc: AtProtocolError) -> str | None:
    from atproto_client.exceptions import RequestErrorBase

    response = exc.response if isinstance(exc, RequestErrorBase) else None
    content = response.content if response is not None else None
    return getattr(content, "error", None)


def _detail(exc: AtProtocolError) -> str:
    from atproto_client.exceptions import RequestErrorBase

    response = exc.response if isinstance(exc, RequestErrorBase) else None
    content = response.content if response is not None else None
    error, message = getattr(content, "error", None), getattr(content, "message", None)
    parts = [str(p) for p in (response.status_code if response else None, error, message) if p]
    return " ".join(parts)[:200]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
