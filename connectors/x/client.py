"""The HTTP side of the X connector: tweepy pointed at a simulator, errors mapped, rate budgets."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import SecretStr
from yarl import URL

from repbot.errors import AuthError, ConnectorError, RateLimited, TransientError

from .mapping import int_or_none

if TYPE_CHECKING:
    import tweepy

REAL_HOST = "api.twitter.com"


@dataclass
class Budget:
    """Rate-limit knowledge for one endpoint: the server's headers and our own request log."""

    remaining: int | None = None
    reset: float | None = None
    sent: deque[float] = field(default_factory=deque)


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


class BadRequest(ConnectorError):
    """X answered 400 (bad query or stale pagination token)."""


class StaleToken(ConnectorError):
    """A pagination token was rejected."""


async def translate(exc: tweepy.TweepyException, endpoint: str) -> ConnectorError:
    """Map a tweepy exception to repbot's error tree (never including credentials)."""
    import tweepy

    if not isinstance(exc, tweepy.HTTPException):
        return TransientError(f"X {endpoint}: {short(exc)}")
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
        return BadRequest(f"400 Bad Request: {detail}")
    if isinstance(exc, tweepy.NotFound):
        return AuthError(f"X {endpoint}: 404 Not Found: {detail or 'check brand_user_id'}")
    return TransientError(f"X {endpoint}: {short(exc)}")


def _retry_after(exc: tweepy.TooManyRequests) -> float | None:
    headers = exc.response.headers
    retry = headers.get("retry-after")
    if retry is not None and retry.replace(".", "", 1).isdigit():
        return max(float(retry), 1.0)
    reset = getattr(exc, "reset_time", None) or int_or_none(headers.get("x-rate-limit-reset"))
    if reset is not None:
        return max(float(reset) - time.time(), 1.0)
    return None


async def _body(response: Any) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}


def plain(secret: SecretStr | None) -> str | None:
    """A secret's value, or ``None``."""
    return secret.get_secret_value() if secret is not None else None


def short(exc: BaseException) -> str:
    """The first line of an error message, at most 200 characters."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
