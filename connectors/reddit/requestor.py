"""A prawcore requestor that fails fast (imported with praw, when a client is built)."""

from __future__ import annotations

from typing import Any

import prawcore

from repbot.errors import AuthError, RateLimited, TransientError

from .client import RateState, is_number, short


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
            raise TransientError(f"Reddit network error: {short(exc.original_exception)}") from exc
        self.rate.update(response.headers)
        status = response.status_code
        target = str(args[1] if len(args) > 1 else kwargs.get("url", ""))
        path = target.split("?")[0].split("/", 3)[-1]
        if status == 429:
            retry = response.headers.get("retry-after")
            wait = float(retry) if retry and is_number(retry) else self.rate.retry_after()
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
