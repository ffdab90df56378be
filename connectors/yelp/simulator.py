"""A local stand-in for Yelp Fusion's ``GET /v3/businesses/{id}/reviews``.

Speaks the documented shape (``reviews`` with ``id``, ``url``, ``text`` excerpt, ``rating``,
``time_created`` in Pacific time and ``user``; ``total``; ``possible_languages``), returns at most
``plan_limit`` reviews (3, as on standard plans), honours ``limit``, ``offset`` and
``sort_by=newest``, checks the Bearer key and answers errors in Yelp's
``{"error": {"code", "description"}}`` form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

API_KEY = "yelp-sim-key-0001"
PACIFIC = ZoneInfo("America/Los_Angeles")
EXCERPT = 160


def yelp_error(code: str, description: str) -> dict[str, Any]:
    """An error body in Yelp's shape, e.g. ``yelp_error("TOKEN_INVALID", "...")``."""
    return {"error": {"code": code, "description": description}}


@dataclass
class SimReview:
    """A review on the simulated Yelp; ``raw`` replaces the rendering (malformed records)."""

    id: str
    business: str
    rating: int
    text: str
    created_at: datetime
    user: str = "Dori G."
    raw: Any = None

    def to_json(self) -> Any:
        """The review as Fusion renders it (an excerpt of the text)."""
        if self.raw is not None:
            return self.raw
        text = self.text if len(self.text) <= EXCERPT else self.text[: EXCERPT - 3] + "..."
        local = self.created_at.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "id": self.id,
            "url": f"https://www.yelp.com/biz/{self.business}?adjust_creative=sim&hrid={self.id}"
            "&utm_campaign=yelp_api_v3&utm_medium=api_v3_business_reviews&utm_source=sim",
            "text": text,
            "rating": self.rating,
            "time_created": local,
            "user": {
                "id": f"u-{self.id}",
                "profile_url": f"https://www.yelp.com/user_details?userid=u-{self.id}",
                "image_url": None,
                "name": self.user,
            },
        }


class YelpSimulator(SimulatorServer):
    """Yelp Fusion's reviews endpoint on loopback."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, plan_limit: int = 3) -> None:
        self.reviews: dict[str, SimReview] = {}
        self.plan_limit = plan_limit
        self._counter = 0
        super().__init__(host, port)

    def _register(self) -> None:
        self.route("reviews", "GET", "/v3/businesses/{business}/reviews", self._reviews)

    @staticmethod
    def credentials() -> dict[str, str]:
        """Source options the simulator accepts."""
        return {"api_key": API_KEY}

    def add_review(
        self,
        business: str,
        rating: int = 1,
        text: str = "Waited an hour and nobody apologised.",
        *,
        created_at: datetime | None = None,
        raw: Any = None,
    ) -> SimReview:
        """Publish one review (now, unless ``created_at``; Yelp keeps whole seconds)."""
        self._counter += 1
        when = (created_at or datetime.now(UTC)).replace(microsecond=0)
        review = SimReview(f"yelp{self._counter:018d}", business, rating, text, when, raw=raw)
        self.reviews[review.id] = review
        return review

    def seed(self, business: str, count: int, *, spacing: float = 3600.0) -> list[SimReview]:
        """``count`` reviews, the newest now, ``spacing`` seconds apart."""
        now = datetime.now(UTC)
        return [
            self.add_review(
                business,
                rating=i % 5 + 1,
                text=f"Review {i} of {business}. " + "Long story about the visit. " * 8,
                created_at=now - timedelta(seconds=spacing * (count - 1 - i)),
            )
            for i in range(count)
        ]

    def edit(self, review_id: str, rating: int, text: str) -> SimReview:
        """The customer updates a review: Yelp dates it anew and keeps its id."""
        review = self.reviews[review_id]
        review.rating, review.text = rating, text
        review.created_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        return review

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        """Fusion's Bearer API key."""
        if request.headers.get("Authorization") == f"Bearer {API_KEY}":
            return None
        return Reply(
            401, yelp_error("TOKEN_INVALID", "Invalid access token or authorization header.")
        )

    async def _reviews(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        business = request.match_info["business"]
        listed = sorted(
            (r for r in self.reviews.values() if r.business == business),
            key=lambda r: r.created_at,
            reverse=True,
        )
        if not listed and business.startswith("missing"):
            return Reply(
                404, yelp_error("BUSINESS_NOT_FOUND", "The requested business could not be found.")
            )
        try:
            limit = int(recorded.query.get("limit", "20"))
            offset = int(recorded.query.get("offset", "0"))
        except ValueError:
            return Reply(400, yelp_error("VALIDATION_ERROR", "limit and offset must be integers"))
        if not 1 <= limit <= 50:
            return Reply(400, yelp_error("VALIDATION_ERROR", f"{limit} is not valid for limit"))
        visible = listed[: max(self.plan_limit, 0)]
        chunk = visible[offset : offset + limit]
        return Reply(
            200,
            {
                "reviews": [r.to_json() for r in chunk],
                "total": len(listed),
                "possible_languages": ["en"],
            },
        )
