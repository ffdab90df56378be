"""The HTTP side of the RSS connector: conditional GETs with aiohttp, errors mapped."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp

from repbot.errors import AuthError, RateLimited, TransientError


@dataclass
class Fetched:
    """One feed request's outcome: ``body`` is ``None`` when the server answered 304."""

    body: bytes | None
    etag: str | None
    modified: str | None
    too_large: bool = False
    content_type: str | None = None


async def get_feed(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    modified: str | None,
    max_bytes: int,
) -> Fetched:
    """GET ``url`` conditionally (``If-None-Match``/``If-Modified-Since``); map failures."""
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
    }
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    try:
        async with session.get(url, headers=headers) as response:
            if response.status == 304:
                return Fetched(None, etag, modified)
            _raise_for(response, url)
            body = await response.content.read(max_bytes + 1)
            return Fetched(
                body[: max_bytes + 1],
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
                too_large=len(body) > max_bytes,
                content_type=response.headers.get("Content-Type"),
            )
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise TransientError(f"rss {url}: network error: {type(exc).__name__}") from exc


def _raise_for(response: aiohttp.ClientResponse, url: str) -> None:
    status = response.status
    if status < 400:
        return
    if status == 429:
        raise RateLimited(f"rss {url}: 429 Too Many Requests", retry_after=retry_after(response))
    if status >= 500:
        raise TransientError(f"rss {url}: {status} {response.reason or 'server error'}")
    if status in (401, 403):
        raise AuthError(f"rss {url}: {status}: the feed refused access (private or blocked feed)")
    if status in (404, 410):
        raise AuthError(f"rss {url}: {status}: the feed does not exist; check the URL")
    raise AuthError(f"rss {url}: {status} {response.reason or ''}".rstrip())


def retry_after(response: aiohttp.ClientResponse) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), at least 1."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().replace(".", "", 1).isdigit():
        return max(float(value), 1.0)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 1.0)
    except (TypeError, ValueError):
        return None
