"""The HTTP side of the Yelp connector: ``GET /v3/businesses/{id}/reviews`` with a Bearer key."""

from __future__ import annotations

from typing import Any

from .._listing import Http, Response
from .config import YelpConfig

REAL_BASE = "https://api.yelp.com"
HINTS = {
    401: "the API key was rejected (check api_key)",
    403: "the API key may not read reviews (check the plan in the Yelp developer portal)",
    404: "unknown business (check business_ids)",
    400: "Yelp refused the request (check business_ids and locale)",
}


class YelpClient:
    """Yelp Fusion over one aiohttp session."""

    def __init__(self, cfg: YelpConfig) -> None:
        self.cfg = cfg
        self.base = (cfg.api_base_url or REAL_BASE).rstrip("/")
        self.http = Http("Yelp", cfg.timeout, HINTS)

    async def reviews(self, business: str, offset: int) -> Response:
        """Reviews of one business, newest first."""
        params: dict[str, Any] = {"limit": self.cfg.limit, "sort_by": "newest"}
        if offset:
            params["offset"] = offset
        if self.cfg.locale:
            params["locale"] = self.cfg.locale
        headers = {"Authorization": f"Bearer {self.cfg.api_key.get_secret_value()}"}
        url = f"{self.base}/v3/businesses/{business}/reviews"
        return await self.http.call("GET", url, "reviews", params=params, headers=headers)

    async def aclose(self) -> None:
        """Close the session."""
        await self.http.aclose()
