"""The Mastodon.py side: one ``Mastodon`` per source, called off the event loop, errors mapped.

Mastodon.py is synchronous (requests), so every call runs in a worker thread. It is created
with ``ratelimit_method="throw"`` (it never sleeps) and a fixed ``mastodon_version`` (no
``/api/v1/instance`` request); its parsed ``X-RateLimit-*`` headers are checked before each call.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from repbot.errors import AuthError, ConnectorError, RateLimited, TransientError

from .config import WINDOW, MastodonConfig

if TYPE_CHECKING:
    from mastodon import Mastodon, MastodonError

T = TypeVar("T")
MASTODON_VERSION = "4.3.0"
"""The API level assumed (no /api/v1/instance request); every call used exists since 3.5."""


class Rejected(ConnectorError):
    """The instance refused a request as invalid (422, other 4xx); ``status`` says which."""

    def __init__(self, message: str, status: int | None) -> None:
        self.status = status
        super().__init__(message)


class MastodonClient:
    """Mastodon.py pointed at the configured instance, with the source's request budget."""

    def __init__(self, cfg: MastodonConfig) -> None:
        from mastodon import Mastodon

        self.cfg = cfg
        self.api = Mastodon(
            access_token=cfg.access_token.get_secret_value(),
            api_base_url=cfg.api_base_url,
            ratelimit_method="throw",
            version_check_mode="created",
            mastodon_version=MASTODON_VERSION,
            request_timeout=cfg.timeout,
            user_agent=cfg.user_agent,
        )
        self.sent: deque[float] = deque()
        self.requests_made = 0

    async def call(self, endpoint: str, fn: Callable[[Mastodon], T]) -> T:
        """Run ``fn(api)`` in a worker thread; raise repbot errors for its failures."""
        from mastodon import MastodonError

        self._check_budget(endpoint, time.time())
        self.requests_made += 1
        self.sent.append(time.time())
        try:
            return await asyncio.to_thread(fn, self.api)
        except MastodonError as exc:
            raise self.translate(exc, endpoint) from exc

    def close(self) -> None:
        """Release the HTTP session."""
        self.api.session.close()

    def _check_budget(self, endpoint: str, now: float) -> None:
        api = self.api
        reset = api.ratelimit_reset
        remaining = api.ratelimit_remaining
        if reset is not None and reset > now and remaining <= self.cfg.min_ratelimit_remaining:
            raise RateLimited(
                f"mastodon {endpoint}: {remaining} requests left until the window resets",
                retry_after=max(reset - now, 1.0),
            )
        while self.sent and self.sent[0] <= now - WINDOW:
            self.sent.popleft()
        if len(self.sent) >= self.cfg.requests_per_5min:
            raise RateLimited(
                f"mastodon {endpoint}: budget of {self.cfg.requests_per_5min} requests "
                "per 5 minutes spent",
                retry_after=max(self.sent[0] + WINDOW - now, 1.0),
            )

    def translate(self, exc: MastodonError, endpoint: str) -> ConnectorError:
        """Map a Mastodon.py exception to repbot's error tree (never including the token)."""
        from mastodon import (
            MastodonAPIError,
            MastodonNetworkError,
            MastodonNotFoundError,
            MastodonRatelimitError,
            MastodonServerError,
            MastodonUnauthorizedError,
        )

        where = f"mastodon {endpoint}"
        if isinstance(exc, MastodonRatelimitError):
            reset = self.api.ratelimit_reset
            wait = max(reset - time.time(), 1.0) if reset else None
            return RateLimited(f"{where}: 429 Too Many Requests", retry_after=wait)
        if isinstance(exc, MastodonUnauthorizedError):
            return AuthError(
                f"{where}: 401 Unauthorized: the access token was rejected (revoked or wrong "
                "instance); create a new one and update access_token"
            )
        if isinstance(exc, MastodonNetworkError | MastodonServerError):
            return TransientError(f"{where}: {_describe(exc)}")
        status = _status(exc)
        if status == 403:
            return AuthError(
                f"{where}: 403 Forbidden: {_detail(exc) or 'refused'}: the token lacks a scope "
                "(read:notifications, read:statuses, read:search, read:accounts, write:statuses) "
                "or the account is suspended"
            )
        if isinstance(exc, MastodonNotFoundError):
            return Rejected(f"{where}: 404 Not Found: {_detail(exc)}", 404)
        if isinstance(exc, MastodonAPIError) and status is not None:
            return Rejected(f"{where}: {status}: {_detail(exc)}", status)
        return TransientError(f"{where}: {_describe(exc)}")


def _status(exc: MastodonError) -> int | None:
    args = exc.args
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _detail(exc: MastodonError) -> str:
    args = exc.args
    return str(args[3])[:200] if len(args) > 3 and args[3] else ""


def _describe(exc: MastodonError) -> str:
    status = _status(exc)
    if status is not None:
        return f"{status} {_detail(exc) or 'server error'}"
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def as_list(value: Any) -> list[Any]:
    """A Mastodon.py answer that should be a list (a malformed one becomes empty)."""
    return list(value) if isinstance(value, list) else []
