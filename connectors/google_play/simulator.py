"""A local Google Play Android Publisher API (reviews) with a service-account token endpoint.

Speaks the documented JSON shapes: ``POST /token`` (JWT-bearer grant: the assertion is checked
against the service account's public key, issuer and audience), ``GET
/androidpublisher/v3/applications/{package}/reviews`` (``maxResults`` up to 100, ``token``
pagination in ``tokenPagination.nextPageToken``, newest modification first, only the last
seven days), ``GET .../reviews/{id}`` and ``POST .../reviews/{id}:reply`` (at most 350
characters). Errors use Google's ``{"error": {"code", "message", "status"}}`` body.
"""

from __future__ import annotations

import json
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from repbot.connectors.google_business.simulator import google_error, page_of
from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

REPLY_MAX_CHARS = 350
WINDOW = timedelta(days=7)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
"""The audience google-auth signs service-account assertions for, whatever the token_uri."""
_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_SAMPLES = (
    (1, "Crashes every time I open it after the update {n}"),
    (2, "Login\tFingerprint login stopped working, passcode every time ({n})"),
    (3, "OK app but notifications arrive late ({n})"),
    (4, "Good app, dark mode please ({n})"),
    (5, "Best banking app I have used, transfers are instant ({n})"),
)


def timestamp(at: datetime) -> dict[str, Any]:
    """A protobuf ``Timestamp`` as the API writes it (seconds as a string)."""
    return {"seconds": str(int(at.timestamp())), "nanos": at.microsecond * 1000}


class GooglePlaySimulator(SimulatorServer):
    """The reviews part of the Android Publisher API over loopback."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 11) -> None:
        self.package = "com.acme.bank"
        self.client_email = "repbot@acme-project.iam.gserviceaccount.com"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.reviews: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self._rng = random.Random(seed)
        super().__init__(host, port)

    def key_info(self, token_uri: str | None = None) -> dict[str, Any]:
        """The service account's JSON key, as the Cloud console downloads it."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": "acme-project",
            "private_key_id": "sim-key-1",
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "100200300400500600700",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri or f"{self.url}/token",
        }

    def write_key(self, path: Path) -> Path:
        """Write the JSON key file to ``path``."""
        path.write_text(json.dumps(self.key_info()), encoding="utf-8")
        return path

    def credentials(self, key_file: Path) -> dict[str, Any]:
        """Connector options pointing at this simulator (writes the key file)."""
        return {
            "package_name": self.package,
            "service_account_file": str(self.write_key(key_file)),
            "api_base_url": self.url,
        }

    # ---- publishing -----------------------------------------------------------------------

    def add_review(
        self,
        text: str,
        stars: int = 5,
        *,
        author: str = "A User",
        at: datetime | None = None,
        reply: str | None = None,
        thumbs_up: int = 0,
    ) -> dict[str, Any]:
        """Publish a review modified at ``at`` (default now)."""
        review_id = "gp:AOqpTO" + secrets.token_urlsafe(30)
        when = at or datetime.now(UTC)
        user = {
            "text": text,
            "lastModified": timestamp(when),
            "starRating": stars,
            "reviewerLanguage": "en_GB",
            "device": "a52q",
            "androidOsVersion": 34,
            "appVersionCode": 412,
            "appVersionName": "4.12.0",
            "thumbsUpCount": thumbs_up,
            "thumbsDownCount": 0,
        }
        review: dict[str, Any] = {
            "reviewId": review_id,
            "authorName": author,
            "comments": [{"userComment": user}],
        }
        self.reviews[review_id] = review
        if reply is not None:
            self.set_reply(review_id, reply, at=when)
        return review

    def add_raw(self, payload: dict[str, Any]) -> None:
        """List ``payload`` verbatim (for malformed records), at the top of the listing."""
        self.reviews[str(payload.get("reviewId") or f"raw-{len(self.reviews)}")] = payload

    def edit_review(
        self, review_id: str, text: str, stars: int, at: datetime | None = None
    ) -> None:
        """The user edits their review: new text and stars, a new ``lastModified``."""
        user = self.reviews[review_id]["comments"][0]["userComment"]
        user.update(text=text, starRating=stars, lastModified=timestamp(at or datetime.now(UTC)))

    def set_reply(self, review_id: str, text: str, at: datetime | None = None) -> dict[str, Any]:
        """The developer replies (in the Play Console, or through the API)."""
        developer = {"text": text, "lastModified": timestamp(at or datetime.now(UTC))}
        comments = [c for c in self.reviews[review_id]["comments"] if "developerComment" not in c]
        self.reviews[review_id]["comments"] = [*comments, {"developerComment": developer}]
        return developer

    def seed_reviews(
        self, count: int, *, spread_seconds: float = 3600.0, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Publish ``count`` reviews over the ``spread_seconds`` before ``until``."""
        start = (until or datetime.now(UTC)) - timedelta(seconds=spread_seconds)
        step = spread_seconds / max(count, 1)
        made = []
        for i in range(count):
            stars, text = self._rng.choice(_SAMPLES)
            author = f"User {self._rng.randrange(10_000)}"
            made.append(
                self.add_review(
                    text.format(n=i), stars, author=author, at=start + timedelta(seconds=i * step)
                )
            )
        return made

    # ---- server ---------------------------------------------------------------------------

    def _register(self) -> None:
        base = "/androidpublisher/v3/applications/{package}/reviews"
        self.route("token", "POST", "/token", self._token)
        self.route("reviews", "GET", base, self._list)
        self.route("review", "GET", base + "/{id}", self._get)
        self.route("reply", "POST", base + "/{id}:reply", self._reply)

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        if route == "token":
            return None
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            message = "Request had invalid authentication credentials."
            return Reply(401, google_error(401, message, "UNAUTHENTICATED"))
        if request.match_info["package"] != self.package:
            message = "The caller does not have permission"
            return Reply(403, google_error(403, message, "PERMISSION_DENIED"))
        return None

    async def _token(self, request: web.Request, rec: RecordedRequest) -> Reply:
        form = rec.form()
        if form.get("grant_type") != _GRANT:
            return Reply(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self._key.public_key(),
                algorithms=["RS256"],
                audience=[f"{self.url}/token", GOOGLE_TOKEN_URI],
                issuer=self.client_email,
            )
        except jwt.PyJWTError:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT"})
        if "androidpublisher" not in str(claims.get("scope", "")):
            return Reply(400, {"error": "invalid_scope"})
        token = "ya29.c.sim-" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    async def _list(self, request: web.Request, rec: RecordedRequest) -> Reply:
        size = min(int(rec.query.get("maxResults", "10")), 100)
        recent = datetime.now(UTC) - WINDOW
        items = [r for r in self.reviews.values() if _modified(r) >= recent]
        items.sort(key=_modified, reverse=True)
        chosen, token = page_of(items, size, rec.query.get("token"))
        body: dict[str, Any] = {"pageInfo": {"totalResults": len(items), "resultPerPage": size}}
        if chosen:
            body["reviews"] = chosen
        if token:
            body["tokenPagination"] = {"nextPageToken": token}
        return Reply(200, body)

    async def _get(self, request: web.Request, rec: RecordedRequest) -> Reply:
        review = self.reviews.get(request.match_info["id"])
        if review is None:
            return Reply(404, google_error(404, "Review not found.", "NOT_FOUND"))
        return Reply(200, review)

    async def _reply(self, request: web.Request, rec: RecordedRequest) -> Reply:
        review_id = request.match_info["id"]
        if review_id not in self.reviews:
            return Reply(404, google_error(404, "Review not found.", "NOT_FOUND"))
        text = str((rec.json() or {}).get("replyText", ""))
        if not text or len(text) > REPLY_MAX_CHARS:
            message = "Reply text is too long." if text else "Reply text is empty."
            return Reply(400, google_error(400, message, "INVALID_ARGUMENT"))
        developer = self.set_reply(review_id, text)
        return Reply(200, {"result": {"replyText": text, "lastEdited": developer["lastModified"]}})


def _modified(review: dict[str, Any]) -> datetime:
    for entry in review.get("comments") or []:
        user = entry.get("userComment") if isinstance(entry, dict) else None
        if isinstance(user, dict) and isinstance(user.get("lastModified"), dict):
            return datetime.fromtimestamp(int(user["lastModified"].get("seconds", 0)), UTC)
    return datetime.now(UTC)
