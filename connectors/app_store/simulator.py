"""A local stand-in for the App Store Connect endpoints repbot uses.

- ``GET /v1/apps/{id}/customerReviews`` (``sort=-createdDate``, ``limit``, ``cursor``,
  ``include=response``, ``filter[territory]``; JSON:API ``data``, ``included``, ``links.next``,
  ``meta.paging``);
- ``GET /v1/customerReviews/{id}/response`` (200 or 404);
- ``POST /v1/customerReviewResponses`` (201; replaces the review's earlier response).

Every request must carry an ES256 JWT signed by the simulator's key (``credentials()`` hands
out the private key): ``kid`` and ``iss`` must match, ``aud`` be ``appstoreconnect-v1`` and the
lifetime at most 20 minutes, as Apple checks. Responses carry ``X-Rate-Limit``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KEY_ID = "2X9R4HXF34"


def apple_error(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    """An App Store Connect error body."""
    return {
        "errors": [
            {
                "id": "b1f1c7e4-0000-4000-8000-000000000000",
                "status": str(status),
                "code": code,
                "title": title,
                "detail": detail,
            }
        ]
    }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


@dataclass
class SimReview:
    """A customer review; ``raw`` replaces the rendering (malformed records)."""

    id: str
    app: str
    rating: int
    title: str
    body: str
    created_at: datetime
    territory: str = "USA"
    nickname: str = "sad_user_42"
    response: dict[str, Any] | None = None
    raw: Any = None

    def to_json(self) -> Any:
        """The ``customerReviews`` resource."""
        if self.raw is not None:
            return self.raw
        related = (
            {"type": "customerReviewResponses", "id": self.response["id"]}
            if self.response
            else None
        )
        return {
            "type": "customerReviews",
            "id": self.id,
            "attributes": {
                "rating": self.rating,
                "title": self.title,
                "body": self.body,
                "reviewerNickname": self.nickname,
                "createdDate": _iso(self.created_at),
                "territory": self.territory,
            },
            "relationships": {
                "response": {
                    "data": related,
                    "links": {
                        "self": f"/v1/customerReviews/{self.id}/relationships/response",
                        "related": f"/v1/customerReviews/{self.id}/response",
                    },
                }
            },
            "links": {"self": f"/v1/customerReviews/{self.id}"},
        }


class AppStoreSimulator(SimulatorServer):
    """App Store Connect's customer review endpoints on loopback."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.reviews: dict[str, SimReview] = {}
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._counter = 0
        self.tokens_seen: set[str] = set()
        super().__init__(host, port)

    def _register(self) -> None:
        self.route("reviews", "GET", "/v1/apps/{app}/customerReviews", self._reviews)
        self.route("response", "GET", "/v1/customerReviews/{review}/response", self._response)
        self.route("respond", "POST", "/v1/customerReviewResponses", self._respond)

    def credentials(self) -> dict[str, str]:
        """Source options whose tokens the simulator accepts."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {"issuer_id": ISSUER, "key_id": KEY_ID, "private_key": pem}

    # ---- seeding -------------------------------------------------------------------------

    def add_review(
        self,
        app: str,
        rating: int = 1,
        body: str = "Crashes every time I open my statement.",
        *,
        created_at: datetime | None = None,
        territory: str = "USA",
        raw: Any = None,
    ) -> SimReview:
        """Publish one review (now, unless ``created_at``)."""
        self._counter += 1
        review = SimReview(
            id=f"00000{self._counter:03d}-{self._counter:04x}-4000-8000-{self._counter:012x}",
            app=app,
            rating=rating,
            title=f"Review {self._counter}",
            body=body,
            created_at=(created_at or datetime.now(UTC)).replace(microsecond=0),
            territory=territory,
            raw=raw,
        )
        self.reviews[review.id] = review
        return review

    def seed(self, app: str, count: int, *, spacing: float = 600.0) -> list[SimReview]:
        """``count`` reviews, the newest now, ``spacing`` seconds apart."""
        now = datetime.now(UTC)
        territories = ("USA", "GBR", "DEU", "FRA")
        return [
            self.add_review(
                app,
                rating=i % 5 + 1,
                body=f"Review {i} of the app.",
                created_at=now - timedelta(seconds=spacing * (count - 1 - i)),
                territory=territories[i % 4],
            )
            for i in range(count)
        ]

    def edit(self, review_id: str, rating: int, body: str) -> SimReview:
        """The customer edits the review: same id, its date becomes now."""
        review = self.reviews[review_id]
        review.rating, review.body = rating, body
        review.created_at = datetime.now(UTC).replace(microsecond=0)
        return review

    def respond_in_console(self, review_id: str, text: str) -> dict[str, Any]:
        """A developer answers in App Store Connect (or the API call lands)."""
        self._counter += 1
        response = {
            "type": "customerReviewResponses",
            "id": f"resp-{self._counter:08d}",
            "attributes": {
                "responseBody": text,
                "lastModifiedDate": _iso(datetime.now(UTC)),
                "state": "PENDING_PUBLISH",
            },
            "relationships": {"review": {"data": {"type": "customerReviews", "id": review_id}}},
        }
        self.reviews[review_id].response = response
        return response

    # ---- auth ----------------------------------------------------------------------------

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        """Apple's checks on the bearer JWT."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["ES256"],
                audience="appstoreconnect-v1",
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
            valid = header.get("kid") == KEY_ID and claims["exp"] - claims["iat"] <= 1200
        except jwt.PyJWTError:
            valid = False
        if valid:
            self.tokens_seen.add(token)
            return None
        return Reply(
            401,
            apple_error(
                401,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
                "Provide a properly configured and signed bearer token, and make sure that it "
                "has not expired.",
            ),
        )

    def rate_limit(self, route: str) -> tuple[dict[str, str], Reply | None]:
        """Apple's ``X-Rate-Limit`` header (the hourly budget is never spent here)."""
        used = len(self.requests)
        return {"X-Rate-Limit": f"user-hour-lim:3600;user-hour-rem:{max(3600 - used, 0)};"}, None

    # ---- handlers ------------------------------------------------------------------------

    async def _reviews(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        app, query = request.match_info["app"], recorded.query
        if app.startswith("missing"):
            return Reply(
                404,
                apple_error(
                    404,
                    "NOT_FOUND",
                    "The specified resource does not exist.",
                    f"There is no resource of type 'apps' with id '{app}'",
                ),
            )
        limit = int(query.get("limit", "50"))
        offset = _offset(query.get("cursor"))
        listed = sorted(
            (r for r in self.reviews.values() if r.app == app), key=lambda r: r.created_at
        )
        if query.get("sort") == "-createdDate":
            listed.reverse()
        territories = query.get("filter[territory]")
        if territories:
            listed = [r for r in listed if r.territory in territories.split(",")]
        chunk = listed[offset : offset + limit]
        body: dict[str, Any] = {
            "data": [r.to_json() for r in chunk],
            "links": {"self": f"{self.url}{request.path_qs}"},
            "meta": {"paging": {"total": len(listed), "limit": limit}},
        }
        if "response" in query.get("include", "").split(","):
            body["included"] = [r.response for r in chunk if r.response and r.raw is None]
        if offset + limit < len(listed):
            cursor = base64.urlsafe_b64encode(json.dumps({"o": offset + limit}).encode()).decode()
            body["links"]["next"] = (
                f"{self.url}/v1/apps/{app}/customerReviews?cursor={cursor}&limit={limit}"
                "&sort=-createdDate&include=response"
            )
        return Reply(200, body)

    async def _response(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        review = self.reviews.get(request.match_info["review"])
        if review is None or review.response is None:
            return Reply(
                404, apple_error(404, "NOT_FOUND", "The specified resource does not exist.", "")
            )
        return Reply(200, {"data": review.response, "links": {"self": request.path}})

    async def _respond(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        data = (recorded.json() or {}).get("data") or {}
        text = (data.get("attributes") or {}).get("responseBody")
        related = ((data.get("relationships") or {}).get("review") or {}).get("data") or {}
        review = self.reviews.get(str(related.get("id")))
        if data.get("type") != "customerReviewResponses" or not text or review is None:
            return Reply(
                409,
                apple_error(
                    409,
                    "ENTITY_ERROR",
                    "The provided entity includes an error.",
                    "responseBody and a known review are required",
                ),
            )
        return Reply(201, {"data": self.respond_in_console(review.id, text)})


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])
