"""Google Business Profile connector: the reviews of every configured location (or all of an
account's locations) through google-api-python-client, replies with ``updateReply``.

Locations come from the Business Information API v1 (``accounts.locations.list``, 100 per
request, re-read every ``locations_refresh``); reviews from the My Business API v4
(``accounts.locations.reviews.list``, ``orderBy=updateTime desc``) so that an edited review
surfaces at the top again and is re-emitted with its new ``updated_at``. Each location is one
stream: a sweep reads pages until it reaches reviews updated before the newest one delivered
(lowered by ``overlap``), so a quiet location costs one request per poll. A poll is a round over
the locations in id order, at most ``max_requests_per_fetch`` requests per fetch; the cursor
says where the round resumes (``Page.has_more``), so a chain with hundreds of locations is read
in bounded steps and a crash repeats at most one step.

googleapiclient is blocking: every call runs in a worker thread (``asyncio.to_thread``) on one
``httplib2.Http`` per connector, used by one thread at a time. The connector never sleeps or
retries: it raises :class:`~repbot.errors.RateLimited` (Retry-After, or its own per-minute
budget), :class:`~repbot.errors.TransientError` or :class:`~repbot.errors.AuthError`.
"""

from __future__ import annotations

import bisect
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from repbot.connector import ConnectorConfig
from repbot.errors import PostError, TransientError
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import Limit, Platform
from repbot.secrets import register_secret

from .._google import (
    BadRequest,
    Budget,
    GoogleConnector,
    NotFound,
    build_service,
    endpoint_options,
)
from . import mapping
from .config import GoogleBusinessConfig
from .discovery import DOCUMENT, SCOPE

log = logging.getLogger(__name__)
SERVICE = "Google Business Profile"
READ_MASK = "name,title,metadata"


@dataclass
class Sweep:
    """A location's sweep in progress: the next page, the lowest update time it reads (ms),
    the newest update time it has seen and the newest delivered before it began."""

    token: str | None
    cut: int
    newest: int | None = None
    mark: int | None = None


@dataclass
class BusinessCursor:
    """The persisted position: per location the newest ``updateTime`` delivered (epoch ms),
    the sweeps in progress and where the current round resumes."""

    marks: dict[str, int] = field(default_factory=dict)
    sweeps: dict[str, Sweep] = field(default_factory=dict)
    pos: str | None = None

    @classmethod
    def load(cls, text: str | None) -> BusinessCursor:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            marks = {str(k): int(v) for k, v in data.get("m", {}).items()}
            sweeps = {str(k): Sweep(*v) for k, v in data.get("s", {}).items()}
            return cls(marks, sweeps, data.get("p"))
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            log.warning("google_business: ignoring unreadable cursor (%s); starting afresh", exc)
            return cls()

    def dump(self) -> str:
        """Compact JSON: one integer per location, a list per sweep in progress."""
        data: dict[str, Any] = {"v": 1, "m": self.marks}
        if self.sweeps:
            data["s"] = {k: [s.token, s.cut, s.newest, s.mark] for k, s in self.sweeps.items()}
        if self.pos is not None:
            data["p"] = self.pos
        return json.dumps(data, separators=(",", ":"), sort_keys=True)


class GoogleBusinessConnector(GoogleConnector):
    """Listens to Business Profile reviews and replies to them (one reply per review)."""

    type_name: ClassVar[str] = "google_business"
    platform: ClassVar[str] = "google_business"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("google_business", "review", Limit(4_096, "utf8"), can_reply=True, emoji=":star:"),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = GoogleBusinessConfig
    service: ClassVar[str] = SERVICE
    stamped: ClassVar[str] = "updateTime or createTime"

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, GoogleBusinessConfig)
        self.cfg: GoogleBusinessConfig = config
        for secret in (config.client_secret, config.refresh_token):
            register_secret(secret.get_secret_value())
        self.budget = Budget(config.requests_per_minute, 60.0)
        self._apis: tuple[Any, Any] | None = None
        self._locations: dict[str, mapping.Location] | None = None
        self._listed_at = 0.0

    # ---- public API ---------------------------------------------------------------------

    async def delete_reply(self, mention: Mention) -> None:
        """Remove the owner's reply of a review (``deleteReply``)."""
        await self._in_thread(self._delete_reply, mention)

    # ---- sync side (worker thread) ---------------------------------------------------------

    def _forget_services(self) -> None:
        self._apis = None

    def _services(self) -> tuple[Any, Any]:
        """(reviews v4, business information v1), built once."""
        if self._apis is None:
            import google.oauth2.credentials
            from googleapiclient.discovery import build_from_document

            cfg = self.cfg
            credentials = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
                token=None,
                refresh_token=cfg.refresh_token.get_secret_value(),
                client_id=cfg.client_id,
                client_secret=cfg.client_secret.get_secret_value(),
                token_uri=cfg.token_uri,
                scopes=[SCOPE],
            )
            authed = self._authorized(credentials, timeout=cfg.timeout, token_uri=cfg.token_uri)
            reviews = build_from_document(
                DOCUMENT, http=authed, client_options=endpoint_options(cfg.api_base_url)
            )
            info = build_service("mybusinessbusinessinformation", "v1", authed, cfg.api_base_url)
            self._apis = (reviews.accounts().locations().reviews(), info.accounts().locations())
        return self._apis

    def _fetch(self, cursor: str | None) -> Page:
        state = BusinessCursor.load(cursor)
        locations = self._known_locations()
        ids = sorted(locations)
        index = bisect.bisect_left(ids, state.pos) if state.pos else 0
        page, sent = Page(), 0
        while index < len(ids) and sent < self.cfg.max_requests_per_fetch:
            if not self._may_send(sent, f"{self.cfg.requests_per_minute} requests per minute"):
                break
            sent += 1
            if self._read(locations[ids[index]], state, page):
                index += 1
        state.pos = ids[index] if index < len(ids) else None
        state.marks = {k: v for k, v in state.marks.items() if k in locations}
        state.sweeps = {k: v for k, v in state.sweeps.items() if k in locations}
        page.has_more = state.pos is not None
        page.cursor = state.dump()
        return page

    def _known_locations(self) -> dict[str, mapping.Location]:
        """The watched locations (re-listed every ``locations_refresh``)."""
        fresh = time.time() - self._listed_at < self.cfg.locations_refresh
        if self._locations is not None and fresh:
            return self._locations
        listed = self._list_locations()
        if self.cfg.locations:
            listed = {i: listed.get(i) or mapping.Location(i) for i in self.cfg.locations}
        self._locations, self._listed_at = listed, time.time()
        return listed

    def _list_locations(self) -> dict[str, mapping.Location]:
        _, api = self._services()
        found: dict[str, mapping.Location] = {}
        token: str | None = None
        while True:
            request = api.list(
                parent=self.cfg.account, pageSize=100, pageToken=token, readMask=READ_MASK
            )
            body = self._execute(request, f"locations of {self.cfg.account}")
            for item in body.get("locations") or []:
                location = _location(item)
                if location is not None:
                    found[location.ident] = location
            token = body.get("nextPageToken")
            if not token:
                return found

    def _read(self, location: mapping.Location, state: BusinessCursor, page: Page) -> bool:
        """One page of one location's reviews; True when its sweep is finished."""
        sweep = state.sweeps.get(location.ident) or self._begin(location.ident, state)
        parent = f"{self.cfg.account}/locations/{location.ident}"
        try:
            body = self._list_reviews(parent, sweep.token)
        except (NotFound, BadRequest) as exc:
            if isinstance(exc, BadRequest) and sweep.token is None:
                raise
            log.warning("google_business[%s]: %s: %s; skipped this round", self.name, parent, exc)
            state.sweeps.pop(location.ident, None)
            return True
        reached = self._take(
            page,
            body.get("reviews") or [],
            sweep,
            lambda review: mapping.to_mention(review, location),
            f"location {location.ident}: ",
        )
        token = body.get("nextPageToken")
        if reached or not token:
            state.marks[location.ident] = max(state.marks.get(location.ident, 0), sweep.newest or 0)
            if sweep.newest is None and location.ident not in state.marks:
                state.marks[location.ident] = sweep.cut
            state.sweeps.pop(location.ident, None)
            return True
        sweep.token = str(token)
        state.sweeps[location.ident] = sweep
        return False

    def _begin(self, ident: str, state: BusinessCursor) -> Sweep:
        mark = state.marks.get(ident)
        if mark is None:
            return Sweep(None, to_ms_now() - int(self.cfg.initial_lookback * 1000))
        return Sweep(None, mark - int(self.cfg.overlap * 1000), mark=mark)

    def _list_reviews(self, parent: str, token: str | None) -> dict[str, Any]:
        reviews, _ = self._services()
        request = reviews.list(
            parent=parent, pageSize=self.cfg.page_size, pageToken=token, orderBy="updateTime desc"
        )
        body = self._execute(request, f"reviews of {parent}")
        if not isinstance(body, dict) or not isinstance(body.get("reviews", []), list):
            raise TransientError(f"{SERVICE}: reviews of {parent}: not a review list")
        return body

    def _stamp(self, review: Any) -> datetime | None:
        return mapping.updated(review)

    # ---- replies -------------------------------------------------------------------------

    def _reply(self, mention: Mention, text: str) -> PostedReply:
        """Set the owner's reply of a review (``updateReply``; replaces an existing one)."""
        name = review_name(mention)
        reviews, _ = self._services()
        self._post(reviews.updateReply(name=name, body={"comment": text}), "reply")
        return PostedReply(external_id=f"{name}/reply", url=mention.url)

    def _find_reply(self, mention: Mention) -> PostedReply | None:
        """The review's ``reviewReply`` if it has one (made by us or in Google's own UI)."""
        name = review_name(mention)
        reviews, _ = self._services()
        body = self._post(reviews.get(name=name), "review look-up")
        if not isinstance(body, dict) or mapping.owner_reply(body, mapping.Location("")) is None:
            return None
        return PostedReply(external_id=f"{name}/reply", url=mention.url)

    def _delete_reply(self, mention: Mention) -> None:
        reviews, _ = self._services()
        self._post(reviews.deleteReply(name=review_name(mention)), "reply deletion")


def review_name(mention: Mention) -> str:
    """The review's resource name (``accounts/a/locations/l/reviews/r``), checked."""
    parts = mention.external_id.split("/")
    if len(parts) != 6 or parts[0::2] != ["accounts", "locations", "reviews"] or "" in parts:
        raise PostError(f"not a Business Profile review: {mention.external_id!r}", transient=False)
    return mention.external_id


def to_ms_now() -> int:
    """Now in epoch milliseconds."""
    return int(time.time() * 1000)


def _location(item: Any) -> mapping.Location | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    ident = item["name"].rsplit("/", 1)[-1]
    if not ident:
        return None
    metadata = _dict(item.get("metadata"))
    title = item.get("title") if isinstance(item.get("title"), str) else None
    url = metadata.get("mapsUri") if isinstance(metadata.get("mapsUri"), str) else None
    return mapping.Location(ident, title, url)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
