"""The HTTP side of the Hacker News connector: Algolia's ``/api/v1/search_by_date``."""

from __future__ import annotations

from typing import Any

from .._listing import Http, Response
from .config import HackerNewsConfig

REAL_BASE = "https://hn.algolia.com"
HINTS = {
    400: "Algolia refused the search (check queries and tags)",
    403: "Algolia refused this client",
    404: "no such search endpoint (check api_base_url)",
}


class HackerNewsClient:
    """Algolia HN Search over one aiohttp session (no credentials)."""

    def __init__(self, cfg: HackerNewsConfig) -> None:
        self.cfg = cfg
        self.base = (cfg.api_base_url or REAL_BASE).rstrip("/")
        self.http = Http("Hacker News search", cfg.timeout, HINTS)

    async def search(
        self, query: str, after: float | None, page: int, until: int | None = None
    ) -> Response:
        """Hits for ``query`` created after ``after`` (and at or before ``until``, epoch
        seconds), newest first."""
        params: dict[str, Any] = {
            "query": query,
            "tags": self.cfg.tags,
            "hitsPerPage": self.cfg.hits_per_page,
            "page": page,
        }
        filters = [f"created_at_i>{int(after)}"] if after is not None else []
        if until is not None:
            filters.append(f"created_at_i<={until}")
        if filters:
            params["numericFilters"] = ",".join(filters)
        url = f"{self.base}/api/v1/search_by_date"
        return await self.http.call("GET", url, f"search {query!r}", params=params)

    async def aclose(self) -> None:
        """Close the session."""
        await self.http.aclose()
