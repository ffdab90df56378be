"""The HTTP side of the Trustpilot connector: public reviews with the API key, and the private
reply endpoint with an OAuth business-user token (password or client-credentials grant)."""

from __future__ import annotations

import base64
import time
from typing import Any

from repbot.errors import AuthError, TransientError

from .._listing import Http, Response
from .config import TrustpilotConfig

REAL_BASE = "https://api.trustpilot.com"
TOKEN_PATH = "/v1/oauth/oauth-business-users-for-applications/accesstoken"
HINTS = {
    401: "the API key or the OAuth token was rejected (check api_key / api_secret)",
    403: "the application may not use this endpoint or business unit",
    404: "unknown business unit or review (check business_unit_ids)",
}


class TrustpilotClient:
    """Trustpilot's REST API over one aiohttp session."""

    def __init__(self, cfg: TrustpilotConfig) -> None:
        self.cfg = cfg
        self.base = (cfg.api_base_url or REAL_BASE).rstrip("/")
        self.http = Http("Trustpilot", cfg.timeout, HINTS)
        self._token: str | None = None
        self._expires = 0.0

    def _key(self) -> dict[str, str]:
        return {"apikey": self.cfg.api_key.get_secret_value()}

    async def reviews(self, unit: str, page: int) -> Response:
        """One page of a business unit's reviews, newest first."""
        params = {"orderBy": "createdat.desc", "perPage": self.cfg.per_page, "page": page}
        url = f"{self.base}/v1/business-units/{unit}/reviews"
        return await self.http.call("GET", url, "reviews", params=params, headers=self._key())

    async def review(self, review_id: str) -> Response:
        """One review (with its company reply), or a 404 response."""
        url = f"{self.base}/v1/reviews/{review_id}"
        return await self.http.call("GET", url, "review", headers=self._key(), allow=(404,))

    async def reply(self, review_id: str, message: str) -> Response:
        """Create or replace the company reply to a review.

        A cached token refused with 401 (revoked or expired early) is dropped and the failure
        reported as transient, so that the retry fetches a new one.
        """
        cached = self._token is not None
        headers = {"Authorization": f"Bearer {await self._access_token()}"}
        body = {"authorBusinessUserId": self.cfg.author_business_user_id, "message": message}
        url = f"{self.base}/v1/private/reviews/{review_id}/reply"
        try:
            return await self.http.call("POST", url, "reply", json=body, headers=headers)
        except AuthError as exc:
            if not cached or "HTTP 401" not in str(exc):
                raise
            self._token = None
            raise TransientError(f"{exc}; a new token will be fetched") from exc

    async def _access_token(self) -> str:
        if self._token is not None and time.time() < self._expires - 60:
            return self._token
        cfg = self.cfg
        if cfg.api_secret is None:
            raise AuthError("Trustpilot replies need api_secret")
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if cfg.username is not None and cfg.password is not None:
            form = {
                "grant_type": "password",
                "username": cfg.username,
                "password": cfg.password.get_secret_value(),
            }
        pair = f"{cfg.api_key.get_secret_value()}:{cfg.api_secret.get_secret_value()}"
        auth = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        url = self.base + TOKEN_PATH
        answer = await self.http.call("POST", url, "token", data=form, headers=auth)
        body: Any = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise AuthError("Trustpilot token endpoint answered without an access_token")
        self._token = body["access_token"]
        self._expires = time.time() + float(body.get("expires_in") or 3600)
        return self._token

    async def aclose(self) -> None:
        """Close the session."""
        await self.http.aclose()
