"""The guarded ``httplib2.Http`` of the Google connectors (imported when a client is built)."""

from __future__ import annotations

from typing import Any

import httplib2

from repbot.errors import RateLimited, TransientError

from ._google import retry_after, short


class GuardedHttp(httplib2.Http):  # type: ignore[misc]
    """An ``httplib2.Http`` that counts requests and fails fast (no sleeping retries)."""

    def __init__(self, *, timeout: float, token_uri: str, service: str) -> None:
        super().__init__(timeout=timeout)
        self.token_uri = token_uri
        self.service = service
        self.requests = 0

    def request(  # type: ignore[override]
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        """Send one request; network failures and refused token requests raise repbot errors."""
        self.requests += 1
        try:
            response, content = super().request(
                uri, method, body, headers, redirections, connection_type
            )
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise TransientError(f"{self.service}: network error: {short(exc)}") from exc
        if uri.split("?")[0] == self.token_uri:
            _check_token_answer(self.service, response)
        return response, content


def _check_token_answer(service: str, response: httplib2.Response) -> None:
    if response.status == 429:
        raise RateLimited(
            f"{service}: token endpoint: 429 Too Many Requests",
            retry_after=retry_after(response),
        )
    if response.status >= 500:
        raise TransientError(f"{service}: token endpoint: {response.status} server error")
