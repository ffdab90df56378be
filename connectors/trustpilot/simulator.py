"""A local stand-in for the Trustpilot API endpoints repbot uses.

Serves, in the documented shapes:

- ``GET /v1/business-units/{id}/reviews`` (``orderBy=createdat.desc``, ``page``, ``perPage``;
  ``links`` with ``rel: next-page``), with the ``apikey`` header;
- ``GET /v1/reviews/{id}`` (one review with its ``companyReply``);
- ``POST /v1/oauth/oauth-business-users-for-applications/accesstoken`` (Basic auth with key and
  secret; ``password`` or ``client_credentials`` grant);
- ``POST /v1/private/reviews/{id}/reply`` (Bearer token; creates or replaces the reply, 201).

``async with TrustpilotSimulator() as sim:`` then point ``api_base_url`` at ``sim.url``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

API_KEY = "tp-sim-key-0001"
API_SECRET = "tp-sim-secret-0001"
USERNAME = "owner@orbit.example"
PASSWORD = "tp-sim-password"
BUSINESS_USER = "5a0000000000000000000bu1"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class SimReview:
    """A review on the simulated Trustpilot; ``raw`` replaces the rendering (malformed)."""

    id: str
    unit: str
    stars: int
    title: str
    text: str
    created_at: datetime
    consumer: str = "Jane Doe"
    updated_at: datetime | None = None
    reply: dict[str, Any] | None = None
    raw: Any = None

    def to_json(self) -> Any:
        """The review object as the API renders it."""
        if self.raw is not None:
            return self.raw
        return {
            "id": self.id,
            "consumer": {
                "id": f"c-{self.id}",
                "displayName": self.consumer,
                "displayLocation": None,
                "numberOfReviews": 3,
            },
            "businessUnit": {"id": self.unit, "identifyingName": "orbit.example"},
            "stars": self.stars,
            "title": self.title,
            "text": self.text,
            "language": "en",
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at) if self.updated_at else None,
            "experiencedAt": _iso(self.created_at),
            "companyReply": self.reply,
            "isVerified": False,
            "numberOfLikes": 0,
            "status": "active",
            "reviewVerificationLevel": "not-verified",
            "links": [
                {
                    "href": f"https://api.trustpilot.com/v1/reviews/{self.id}",
                    "method": "GET",
                    "rel": "reviews",
                }
            ],
        }


@dataclass
class _State:
    reviews: dict[str, SimReview] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    counter: int = 0


class TrustpilotSimulator(SimulatorServer):
    """Trustpilot's reviews, review and reply endpoints on loopback."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = _State()
        super().__init__(host, port)

    def _register(self) -> None:
        self.route("reviews", "GET", "/v1/business-units/{unit}/reviews", self._reviews)
        self.route("review", "GET", "/v1/reviews/{review}", self._review)
        self.route(
            "token",
            "POST",
            "/v1/oauth/oauth-business-users-for-applications/accesstoken",
            self._token,
        )
        self.route("reply", "POST", "/v1/private/reviews/{review}/reply", self._reply)

    @staticmethod
    def credentials() -> dict[str, str]:
        """Source options that the simulator accepts (reading and replying)."""
        return {
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "username": USERNAME,
            "password": PASSWORD,
            "author_business_user_id": BUSINESS_USER,
        }

    # ---- seeding -------------------------------------------------------------------------

    def add_review(
        self,
        unit: str,
        stars: int = 1,
        text: str = "Terrible support, still waiting for my refund.",
        *,
        created_at: datetime | None = None,
        raw: Any = None,
    ) -> SimReview:
        """Publish one review (now, unless ``created_at``)."""
        self.state.counter += 1
        review = SimReview(
            id=f"{self.state.counter:024x}",
            unit=unit,
            stars=stars,
            title=f"Review {self.state.counter}",
            text=text,
            created_at=created_at or datetime.now(UTC),
            raw=raw,
        )
        self.state.reviews[review.id] = review
        return review

    def seed(self, unit: str, count: int, *, spacing: float = 60.0) -> list[SimReview]:
        """``count`` reviews, the newest now, ``spacing`` seconds apart, stars 1-5 in turn."""
        now = datetime.now(UTC)
        return [
            self.add_review(
                unit,
                stars=i % 5 + 1,
                text=f"Review number {i} about Orbit Bank.",
                created_at=now - timedelta(seconds=spacing * (count - i)),
            )
            for i in range(count)
        ]

    def edit(self, review_id: str, stars: int, text: str) -> SimReview:
        """The customer edits a review (``updatedAt`` becomes now)."""
        review = self.state.reviews[review_id]
        review.stars, review.text, review.updated_at = stars, text, datetime.now(UTC)
        return review

    def company_reply(self, review_id: str, text: str) -> None:
        """The business answers a review in Trustpilot's own UI."""
        now = _iso(datetime.now(UTC))
        self.state.reviews[review_id].reply = {
            "text": text,
            "authorBusinessUserId": BUSINESS_USER,
            "authorBusinessUserName": "Orbit Support",
            "createdAt": now,
            "updatedAt": None,
        }

    # ---- auth ----------------------------------------------------------------------------

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        """API key on reads, Basic auth on the token endpoint, a token on replies."""
        if route in ("reviews", "review"):
            ok = request.headers.get("apikey") == API_KEY
        elif route == "token":
            expected = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
            ok = request.headers.get("Authorization") == f"Basic {expected}"
        else:
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            ok = bearer in self.state.tokens
        if ok:
            return None
        return Reply(401, {"message": "Unauthorized", "errorCode": 401})

    # ---- handlers ------------------------------------------------------------------------

    async def _reviews(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        unit = request.match_info["unit"]
        try:
            page = int(recorded.query.get("page", "1"))
            per_page = int(recorded.query.get("perPage", "20"))
        except ValueError:
            return Reply(400, {"message": "Invalid paging parameters"})
        if not 1 <= per_page <= 100 or page < 1:
            return Reply(400, {"message": "perPage must be between 1 and 100"})
        listed = sorted(
            (r for r in self.state.reviews.values() if r.unit == unit),
            key=lambda r: r.created_at,
            reverse=True,
        )
        chunk = listed[(page - 1) * per_page : page * per_page]
        links = []
        if page * per_page < len(listed):
            links.append(
                {
                    "href": f"{self.url}/v1/business-units/{unit}/reviews?page={page + 1}",
                    "method": "GET",
                    "rel": "next-page",
                }
            )
        return Reply(200, {"reviews": [r.to_json() for r in chunk], "links": links})

    async def _review(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        review = self.state.reviews.get(request.match_info["review"])
        if review is None:
            return Reply(404, {"message": "Review not found", "errorCode": 404})
        return Reply(200, review.to_json())

    async def _token(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        form = recorded.form()
        grant = form.get("grant_type")
        if grant == "password" and (
            form.get("username") != USERNAME or form.get("password") != PASSWORD
        ):
            return Reply(401, {"fault": {"faultstring": "Invalid credentials"}})
        if grant not in ("password", "client_credentials"):
            return Reply(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(16)
        self.state.tokens.add(token)
        return Reply(
            200,
            {
                "access_token": token,
                "refresh_token": secrets.token_urlsafe(8),
                "expires_in": "359999",
                "token_type": "BearerToken",
            },
        )

    async def _reply(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        review = self.state.reviews.get(request.match_info["review"])
        if review is None:
            return Reply(404, {"message": "Review not found"})
        body = recorded.json() or {}
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            return Reply(400, {"message": "message is required"})
        if body.get("authorBusinessUserId") != BUSINESS_USER:
            return Reply(403, {"message": "Business user may not reply for this unit"})
        self.company_reply(review.id, message)
        return Reply(201, b"")
