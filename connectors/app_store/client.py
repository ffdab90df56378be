"""The HTTP side of the App Store connector: App Store Connect with ES256 bearer tokens.

A token is a JWT signed with the API key's P-256 private key (header ``kid``; claims ``iss``,
``iat``, ``exp`` at most 20 minutes later, ``aud: appstoreconnect-v1``). It is cached and
replaced a minute before it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repbot.errors import AuthError

from .._listing import Http, Response
from .config import AppStoreConfig

REAL_BASE = "https://api.appstoreconnect.apple.com"
AUDIENCE = "appstoreconnect-v1"
HINTS = {
    401: "the token was refused (check issuer_id, key_id and the .p8 key, and the clock)",
    403: "the API key's role may not read or answer customer reviews (use Customer Support "
    "or higher)",
    404: "unknown app or review (check app_ids)",
    400: "App Store Connect refused the request (check territories)",
    409: "App Store Connect refused the response",
}


class AppStoreClient:
    """App Store Connect over one aiohttp session."""

    def __init__(self, cfg: AppStoreConfig, base_dir: Callable[[], Path]) -> None:
        self.cfg = cfg
        self.base = (cfg.api_base_url or REAL_BASE).rstrip("/")
        self.http = Http("App Store Connect", cfg.timeout, HINTS)
        self.base_dir = base_dir
        self._token: str | None = None
        self._expires = 0.0
        self.tokens_made = 0

    def _key(self) -> str:
        if self.cfg.private_key is not None:
            return self.cfg.private_key.get_secret_value()
        path = Path(self.cfg.private_key_path or "")
        path = path if path.is_absolute() else self.base_dir() / path
        try:
            return path.read_text()
        except OSError as exc:
            raise AuthError(f"App Store Connect: cannot read private_key_path {path}") from exc

    def token(self, now: float | None = None) -> str:
        """A valid bearer token (cached; a new one a minute before expiry)."""
        import jwt

        now = time.time() if now is None else now
        if self._token is not None and now < self._expires - 60:
            return self._token
        expires = int(now + self.cfg.token_lifetime)
        claims = {"iss": self.cfg.issuer_id, "iat": int(now), "exp": expires, "aud": AUDIENCE}
        try:
            token = jwt.encode(
                claims, self._key(), algorithm="ES256", headers={"kid": self.cfg.key_id}
            )
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise AuthError(
                "App Store Connect: the private key is not a valid .p8 (EC P-256) key"
            ) from exc
        self._token, self._expires = token, float(expires)
        self.tokens_made += 1
        return token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    async def reviews(self, app_id: str, cursor: str | None) -> Response:
        """One page of an app's customer reviews with their responses, newest first."""
        params: dict[str, Any] = {
            "sort": "-createdDate",
            "limit": self.cfg.limit,
            "include": "response",
        }
        if self.cfg.territories:
            params["filter[territory]"] = ",".join(self.cfg.territories)
        if cursor:
            params["cursor"] = cursor
        url = f"{self.base}/v1/apps/{app_id}/customerReviews"
        return await self.http.call(
            "GET", url, "customerReviews", params=params, headers=self._auth()
        )

    async def response_of(self, review_id: str) -> Response:
        """The review's response, or a 404 answer when it has none."""
        url = f"{self.base}/v1/customerReviews/{review_id}/response"
        return await self.http.call("GET", url, "response", headers=self._auth(), allow=(404,))

    async def respond(self, review_id: str, text: str) -> Response:
        """Create the review's response, replacing any earlier one."""
        body = {
            "data": {
                "type": "customerReviewResponses",
                "attributes": {"responseBody": text},
                "relationships": {"review": {"data": {"type": "customerReviews", "id": review_id}}},
            }
        }
        url = f"{self.base}/v1/customerReviewResponses"
        return await self.http.call(
            "POST", url, "customerReviewResponses", json=body, headers=self._auth()
        )

    async def aclose(self) -> None:
        """Close the session."""
        await self.http.aclose()
