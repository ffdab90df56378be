"""A local Google Business Profile: OAuth token endpoint, locations (v1) and reviews (v4).

Speaks the documented JSON shapes: ``POST /token`` (refresh-token grant), ``GET
/v1/accounts/{a}/locations`` (``readMask`` required, ``pageSize`` up to 100), ``GET
/v4/accounts/{a}/locations/{l}/reviews`` (``orderBy=updateTime desc``, ``pageSize`` up to 50,
opaque ``pageToken``), ``GET .../reviews/{r}``, ``PUT`` and ``DELETE .../reviews/{r}/reply``
(a reply's comment is at most 4,096 bytes). Errors use Google's ``{"error": {"code",
"message", "status"}}`` body.
"""

from __future__ import annotations

import base64
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

STAR_NAMES = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
REPLY_MAX_BYTES = 4096
_SAMPLES = (
    (1, "Waited 40 minutes and nobody apologised. Visit {n} was the last."),
    (2, "Staff friendly but my order {n} was wrong again."),
    (3, "Fine, nothing special. Parking is hard ({n})."),
    (4, "Quick service, clean branch, will come back ({n})."),
    (5, "Aisha at the desk sorted everything in ten minutes, brilliant ({n})!"),
)


def google_error(status: int, message: str, code: str) -> dict[str, Any]:
    """Google's JSON error body."""
    return {"error": {"code": status, "message": message, "status": code}}


def stamp(at: datetime) -> str:
    """RFC 3339 with milliseconds, as Google writes times."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class SimLocation:
    """One business location."""

    ident: str
    title: str
    reviews: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def maps_uri(self) -> str:
        return f"https://maps.google.com/maps?cid={self.ident}"


class GoogleBusinessSimulator(SimulatorServer):
    """The Business Profile APIs over loopback, with helpers to publish and edit reviews."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 7) -> None:
        self.client_id = "sim-client.apps.googleusercontent.com"
        self.client_secret = "sim-client-secret-" + secrets.token_hex(4)
        self.refresh_token = "1//sim-refresh-" + secrets.token_hex(8)
        self.account = "1100220033"
        self.locations: dict[str, SimLocation] = {}
        self.tokens: set[str] = set()
        self._rng = random.Random(seed)
        super().__init__(host, port)

    def credentials(self) -> dict[str, Any]:
        """Connector options pointing at this simulator."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "account": f"accounts/{self.account}",
            "api_base_url": self.url,
        }

    # ---- publishing -----------------------------------------------------------------------

    def add_location(self, title: str, ident: str | None = None) -> SimLocation:
        """A new location of the account."""
        ident = ident or str(10**15 + len(self.locations) * 7919)
        location = self.locations[ident] = SimLocation(ident, title)
        return location

    def add_review(
        self,
        location: SimLocation,
        comment: str | None,
        stars: int = 5,
        *,
        reviewer: str = "A Customer",
        anonymous: bool = False,
        at: datetime | None = None,
        reply: str | None = None,
    ) -> dict[str, Any]:
        """Publish a review (``at`` is its create and update time, default now)."""
        when = at or datetime.now(UTC)
        review_id = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        name = f"accounts/{self.account}/locations/{location.ident}/reviews/{review_id}"
        review: dict[str, Any] = {
            "name": name,
            "reviewId": review_id,
            "reviewer": {
                "profilePhotoUrl": "https://lh3.googleusercontent.com/a/sim",
                "displayName": "" if anonymous else reviewer,
                "isAnonymous": anonymous,
            },
            "starRating": STAR_NAMES[stars - 1],
            "createTime": stamp(when),
            "updateTime": stamp(when),
        }
        if comment is not None:
            review["comment"] = comment
        location.reviews[name] = review
        if reply is not None:
            self.set_reply(name, reply, at=when)
        return review

    def add_raw(self, location: SimLocation, payload: dict[str, Any]) -> None:
        """List ``payload`` verbatim among the location's reviews (for malformed records)."""
        key = payload.get("name") or f"raw-{len(location.reviews)}"
        location.reviews[str(key)] = payload

    def edit_review(
        self, name: str, comment: str, stars: int, at: datetime | None = None
    ) -> dict[str, Any]:
        """The reviewer edits their review: new text and stars, a new ``updateTime``."""
        review = self.review(name)
        review.update(
            comment=comment,
            starRating=STAR_NAMES[stars - 1],
            updateTime=stamp(at or datetime.now(UTC)),
        )
        return review

    def set_reply(self, name: str, comment: str, at: datetime | None = None) -> None:
        """The owner replies (in Google's own UI, or through the API)."""
        when = stamp(at or datetime.now(UTC))
        self.review(name)["reviewReply"] = {"comment": comment, "updateTime": when}

    def review(self, name: str) -> dict[str, Any]:
        """The review called ``name``."""
        ident = name.split("/")[3]
        return self.locations[ident].reviews[name]

    def seed_reviews(
        self,
        count: int,
        locations: list[SimLocation] | None = None,
        *,
        spread_seconds: float = 3600.0,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Publish ``count`` reviews spread over the locations and the ``spread_seconds``
        before ``until`` (default now)."""
        places = locations or list(self.locations.values()) or [self.add_location("Main St")]
        start = (until or datetime.now(UTC)) - timedelta(seconds=spread_seconds)
        step = spread_seconds / max(count, 1)
        made = []
        for i in range(count):
            stars, text = self._rng.choice(_SAMPLES)
            made.append(
                self.add_review(
                    places[i % len(places)],
                    text.format(n=i),
                    stars,
                    reviewer=f"Reviewer {self._rng.randrange(10_000)}",
                    at=start + timedelta(seconds=i * step),
                )
            )
        return made

    # ---- server ---------------------------------------------------------------------------

    def _register(self) -> None:
        base = "/v4/accounts/{a}/locations/{l}/reviews"
        self.route("token", "POST", "/token", self._token)
        self.route("locations", "GET", "/v1/accounts/{a}/locations", self._locations)
        self.route("reviews", "GET", base, self._reviews)
        self.route("review", "GET", base + "/{r}", self._review)
        self.route("update_reply", "PUT", base + "/{r}/reply", self._update_reply)
        self.route("delete_reply", "DELETE", base + "/{r}/reply", self._delete_reply)

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        if route == "token":
            return None
        header = request.headers.get("Authorization", "")
        if header.removeprefix("Bearer ") not in self.tokens:
            body = google_error(
                401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
            )
            return Reply(
                401, body, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
            )
        return None

    async def _token(self, request: web.Request, rec: RecordedRequest) -> Reply:
        form = rec.form()
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Reply(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != self.refresh_token
        ):
            return Reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        token = "ya29.sim-" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        scope = "https://www.googleapis.com/auth/business.manage"
        return Reply(
            200, {"access_token": token, "expires_in": 3599, "scope": scope, "token_type": "Bearer"}
        )

    def _account_ok(self, request: web.Request) -> Reply | None:
        if request.match_info["a"] != self.account:
            return Reply(
                403, google_error(403, "The caller does not have permission", "PERMISSION_DENIED")
            )
        return None

    async def _locations(self, request: web.Request, rec: RecordedRequest) -> Reply:
        denied = self._account_ok(request)
        if denied is not None:
            return denied
        if not rec.query.get("readMask"):
            return Reply(
                400, google_error(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
            )
        size = min(int(rec.query.get("pageSize", "10")), 100)
        items = [self.locations[k] for k in sorted(self.locations)]
        chosen, token = page_of(items, size, rec.query.get("pageToken"))
        body: dict[str, Any] = {
            "locations": [
                {
                    "name": f"locations/{loc.ident}",
                    "title": loc.title,
                    "metadata": {"mapsUri": loc.maps_uri, "placeId": f"ChIJsim{loc.ident}"},
                }
                for loc in chosen
            ]
        }
        if token:
            body["nextPageToken"] = token
        return Reply(200, body if chosen else {})

    async def _reviews(self, request: web.Request, rec: RecordedRequest) -> Reply:
        location = self._location(request)
        if isinstance(location, Reply):
            return location
        size = min(int(rec.query.get("pageSize", "50")), 50)
        items = list(location.reviews.values())
        if rec.query.get("orderBy") == "updateTime desc":
            items.sort(
                key=lambda r: str(r.get("updateTime") or r.get("createTime") or ""), reverse=True
            )
        chosen, token = page_of(items, size, rec.query.get("pageToken"))
        body: dict[str, Any] = {"totalReviewCount": len(items)}
        if items:
            stars = [
                STAR_NAMES.index(r["starRating"]) + 1
                for r in items
                if r.get("starRating") in STAR_NAMES
            ]
            body["averageRating"] = round(sum(stars) / max(len(stars), 1), 1)
        if chosen:
            body["reviews"] = chosen
        if token:
            body["nextPageToken"] = token
        return Reply(200, body)

    def _location(self, request: web.Request) -> SimLocation | Reply:
        denied = self._account_ok(request)
        if denied is not None:
            return denied
        location = self.locations.get(request.match_info["l"])
        if location is None:
            return Reply(404, google_error(404, "Requested entity was not found.", "NOT_FOUND"))
        return location

    def _find(self, request: web.Request) -> dict[str, Any] | Reply:
        location = self._location(request)
        if isinstance(location, Reply):
            return location
        name = (
            f"accounts/{self.account}/locations/{location.ident}/reviews/{request.match_info['r']}"
        )
        review = location.reviews.get(name)
        if review is None:
            return Reply(404, google_error(404, "Requested entity was not found.", "NOT_FOUND"))
        return review

    async def _review(self, request: web.Request, rec: RecordedRequest) -> Reply:
        review = self._find(request)
        return review if isinstance(review, Reply) else Reply(200, review)

    async def _update_reply(self, request: web.Request, rec: RecordedRequest) -> Reply:
        review = self._find(request)
        if isinstance(review, Reply):
            return review
        comment = str((rec.json() or {}).get("comment", ""))
        if not comment or len(comment.encode()) > REPLY_MAX_BYTES:
            return Reply(
                400, google_error(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
            )
        self.set_reply(review["name"], comment)
        return Reply(200, review["reviewReply"])

    async def _delete_reply(self, request: web.Request, rec: RecordedRequest) -> Reply:
        review = self._find(request)
        if isinstance(review, Reply):
            return review
        review.pop("reviewReply", None)
        return Reply(200, {})


def page_of(items: list[Any], size: int, token: str | None) -> tuple[list[Any], str | None]:
    """One page of ``items`` from the opaque ``token``, and the next page's token."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode() + b"==").decode().removeprefix("o"))
        except ValueError:
            start = len(items)
    chosen = items[start : start + size]
    more = start + size < len(items)
    return chosen, base64.urlsafe_b64encode(f"o{start + size}".encode()).decode() if more else None
