"""A local Mastodon instance speaking the API endpoints repbot uses, in Mastodon's shapes.

- ``GET /api/v1/accounts/verify_credentials`` (route ``verify_credentials``);
- ``GET /api/v1/notifications`` (``types[]``, ``min_id``/``max_id``/``since_id``, ``limit``,
  ``Link`` header; route ``notifications``);
- ``GET /api/v1/timelines/tag/{tag}`` (route ``timeline_hashtag``);
- ``GET /api/v2/search`` (``type=statuses``, ``min_id``, ``limit``; route ``search``);
- ``POST /api/v1/statuses`` (``Idempotency-Key`` honoured; route ``status_post``);
- ``GET /api/v1/statuses/{id}/context`` (route ``status_context``).

Every answer carries ``X-RateLimit-Limit/Remaining/Reset`` (300 per 5 minutes, ISO reset) and
errors use Mastodon's ``{"error": …}`` bodies. Ids are Mastodon's: statuses
``milliseconds << 16`` plus a sequence, notifications a counter.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

WINDOW_SECONDS = 300
LIMIT = 300


@dataclass
class SimAccount:
    """An account on the simulated instance (``domain`` set for remote accounts)."""

    id: str
    username: str
    domain: str | None = None
    display_name: str = ""
    followers: int = 10

    @property
    def acct(self) -> str:
        return f"{self.username}@{self.domain}" if self.domain else self.username

    def to_json(self, base: str) -> dict[str, Any]:
        host = self.domain or base
        return {
            "id": self.id,
            "username": self.username,
            "acct": self.acct,
            "display_name": self.display_name,
            "locked": False,
            "bot": False,
            "created_at": "2026-01-01T00:00:00.000Z",
            "note": "",
            "url": f"https://{host}/@{self.username}",
            "followers_count": self.followers,
            "following_count": 5,
            "statuses_count": 42,
            "emojis": [],
            "fields": [],
        }


@dataclass
class SimStatus:
    """A status; ``raw`` replaces the rendered object (malformed records)."""

    id: int
    account: SimAccount
    text: str
    created_at: datetime
    in_reply_to_id: int | None = None
    visibility: str = "public"
    language: str | None = "en"
    tags: list[str] = field(default_factory=list)
    raw: dict[str, Any] | None = None


class MastodonSimulator(SimulatorServer):
    """The simulated instance; ``brand`` is the account the access token belongs to."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = "sim-mastodon-" + secrets.token_hex(8)
        self.brand = SimAccount("100", "acme", display_name="Acme")
        self.accounts: dict[str, SimAccount] = {}
        self.statuses: dict[int, SimStatus] = {}
        self.notifications: list[tuple[int, SimStatus | dict[str, Any]]] = []
        self.idempotent: dict[str, int] = {}
        self.window: tuple[float, int] = (time.time(), 0)
        self.limit = LIMIT
        self._seq = 0
        self._notification_id = 0
        super().__init__(host, port)

    def _register(self) -> None:
        self.route("verify_credentials", "GET", "/api/v1/accounts/verify_credentials", self._me)
        self.route("notifications", "GET", "/api/v1/notifications", self._notifications)
        self.route("timeline_hashtag", "GET", "/api/v1/timelines/tag/{tag}", self._tag)
        self.route("search", "GET", "/api/v2/search", self._search)
        self.route("status_post", "POST", "/api/v1/statuses", self._post)
        self.route("status_context", "GET", "/api/v1/statuses/{id}/context", self._context)

    def options(self) -> dict[str, Any]:
        """Source options pointing a connector at this instance."""
        return {"api_base_url": self.url, "access_token": self.token}

    # ---- seeding ------------------------------------------------------------------------

    def account(self, username: str, domain: str | None = "fedi.example") -> SimAccount:
        """The (remote by default) account ``username``, created on first use."""
        key = f"{username}@{domain}"
        if key not in self.accounts:
            self.accounts[key] = SimAccount(str(200 + len(self.accounts)), username, domain)
        return self.accounts[key]

    def new_id(self, when: datetime | None = None) -> int:
        """A status id for ``when`` (now by default), increasing."""
        ms = int((when or datetime.now(UTC)).timestamp() * 1000)
        self._seq = (self._seq + 1) % 65536
        candidate = (ms << 16) + self._seq
        return max(candidate, max(self.statuses, default=0) + 1) if when is None else candidate

    def add_status(self, text: str, author: SimAccount | None = None, **options: Any) -> SimStatus:
        """Create a status (by ``author``, a remote account by default)."""
        when = options.pop("created_at", None)
        status = SimStatus(
            self.new_id(when),
            author or self.account("dana"),
            text,
            when or datetime.now(UTC),
            **options,
        )
        self.statuses[status.id] = status
        return status

    def mention(self, text: str = "@acme help!", **options: Any) -> SimStatus:
        """A status mentioning the brand, delivered as a ``mention`` notification."""
        status = self.add_status(text, **options)
        self._notify(status)
        return status

    def seed_mentions(self, count: int) -> list[SimStatus]:
        """``count`` mention notifications from different accounts."""
        return [
            self.mention(f"@acme order {i} is late", author=self.account(f"u{i % 50}"))
            for i in range(count)
        ]

    def malformed_notification(self, body: dict[str, Any]) -> None:
        """A notification whose rendered object is ``body`` plus its id."""
        self._notify(body)

    def _notify(self, item: SimStatus | dict[str, Any]) -> None:
        self._notification_id += 1
        self.notifications.append((self._notification_id, item))

    # ---- rendering ----------------------------------------------------------------------

    def status_json(self, status: SimStatus) -> dict[str, Any]:
        """The status in Mastodon's shape."""
        if status.raw is not None:
            return {"id": str(status.id), **status.raw}
        host = status.account.domain or "sim.example"
        parent = self.statuses.get(status.in_reply_to_id or -1)
        return {
            "id": str(status.id),
            "created_at": status.created_at.strftime("%Y-%m-%dT%H:%M:%S.") + "000Z",
            "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
            "in_reply_to_account_id": parent.account.id if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"https://{host}/users/{status.account.username}/statuses/{status.id}",
            "url": f"https://{host}/@{status.account.username}/{status.id}",
            "replies_count": sum(
                1 for s in self.statuses.values() if s.in_reply_to_id == status.id
            ),
            "reblogs_count": 0,
            "favourites_count": 1,
            "edited_at": None,
            "content": f"<p>{status.text}</p>",
            "reblog": None,
            "account": status.account.to_json("sim.example"),
            "media_attachments": [],
            "mentions": [],
            "tags": [{"name": t, "url": f"https://sim.example/tags/{t}"} for t in status.tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _notification_json(self, nid: int, item: SimStatus | dict[str, Any]) -> dict[str, Any]:
        if isinstance(item, dict):
            return {"id": str(nid), **item}
        return {
            "id": str(nid),
            "type": "mention",
            "created_at": item.created_at.strftime("%Y-%m-%dT%H:%M:%S.") + "000Z",
            "account": item.account.to_json("sim.example"),
            "status": self.status_json(item),
        }

    # ---- handlers -----------------------------------------------------------------------

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "The access token is invalid"})
        return None

    def rate_limit(self, route: str) -> tuple[dict[str, str], Reply | None]:
        start, used = self.window
        now = time.time()
        if now - start >= WINDOW_SECONDS:
            start, used = now, 0
        used += 1
        self.window = (start, used)
        reset = datetime.fromtimestamp(start + WINDOW_SECONDS, UTC)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - used, 0)),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if used > self.limit:
            return headers, Reply(429, {"error": "Too many requests"}, headers)
        return headers, None

    async def _me(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        return Reply(200, {**self.brand.to_json("sim.example"), "source": {"privacy": "public"}})

    async def _notifications(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        types = request.query.getall("types[]", [])
        items = [(n, i) for n, i in self.notifications if not types or _type(i) in types]
        chosen = _window(items, request.query)
        body = [self._notification_json(n, i) for n, i in chosen]
        return Reply(200, body, _link(request, [n for n, _ in chosen]))

    async def _tag(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        tag = request.match_info["tag"].lower()
        items = [
            (s.id, s)
            for s in sorted(self.statuses.values(), key=lambda s: s.id)
            if tag in (t.lower() for t in s.tags) and s.visibility == "public"
        ]
        chosen = _window(items, request.query)
        return Reply(
            200, [self.status_json(s) for _, s in chosen], _link(request, [n for n, _ in chosen])
        )

    async def _search(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        query = request.query.get("q", "").lower()
        items = [
            (s.id, s)
            for s in sorted(self.statuses.values(), key=lambda s: s.id)
            if query and query in s.text.lower() and s.visibility == "public"
        ]
        chosen = _window(items, request.query, default=20, adjacent=False)
        return Reply(
            200,
            {"accounts": [], "hashtags": [], "statuses": [self.status_json(s) for _, s in chosen]},
        )

    async def _post(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        form = await request.post() if not recorded.body.startswith(b"{") else recorded.json()
        text = str(form.get("status", ""))
        if not text.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if len(text) > 500:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        parent_raw = form.get("in_reply_to_id")
        parent = int(str(parent_raw)) if parent_raw else None
        if parent is not None and parent not in self.statuses:
            return Reply(404, {"error": "Record not found"})
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotent:
            return Reply(200, self.status_json(self.statuses[self.idempotent[key]]))
        status = self.add_status(
            text,
            self.brand,
            in_reply_to_id=parent,
            visibility=str(form.get("visibility") or "public"),
        )
        if key:
            self.idempotent[key] = status.id
        return Reply(200, self.status_json(status))

    async def _context(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        sid = int(request.match_info["id"])
        if sid not in self.statuses:
            return Reply(404, {"error": "Record not found"})
        descendants: list[SimStatus] = []
        frontier = [sid]
        while frontier:
            children = [s for s in self.statuses.values() if s.in_reply_to_id in frontier]
            descendants += children
            frontier = [s.id for s in children]
        ancestors: list[SimStatus] = []
        parent = self.statuses[sid].in_reply_to_id
        while parent in self.statuses:
            ancestors.insert(0, self.statuses[parent])
            parent = self.statuses[parent].in_reply_to_id
        return Reply(
            200,
            {
                "ancestors": [self.status_json(s) for s in ancestors],
                "descendants": [
                    self.status_json(s) for s in sorted(descendants, key=lambda s: s.id)
                ],
            },
        )


def _type(item: SimStatus | dict[str, Any]) -> str:
    return str(item.get("type", "mention")) if isinstance(item, dict) else "mention"


def _window(
    items: list[tuple[int, Any]], query: Any, default: int = 40, *, adjacent: bool = True
) -> list[tuple[int, Any]]:
    """Mastodon's paging over ``items`` sorted by id: newest first in the answer.

    ``min_id`` on a timeline returns the page just above it; on a search (``adjacent=False``)
    it only filters.
    """
    limit = min(int(query.get("limit", default)), 80)
    if "max_id" in query:
        items = [p for p in items if p[0] < int(query["max_id"])]
    if "min_id" in query and not adjacent:
        items = [p for p in items if p[0] > int(query["min_id"])]
    elif "min_id" in query:
        above = [p for p in items if p[0] > int(query["min_id"])][:limit]
        return list(reversed(above))
    if "since_id" in query:
        items = [p for p in items if p[0] > int(query["since_id"])]
    return list(reversed(items[-limit:])) if items else []


def _link(request: web.Request, ids: list[int]) -> dict[str, str]:
    if not ids:
        return {}
    base = f"{request.scheme}://{request.host}{request.path}"
    return {
        "Link": f'<{base}?max_id={min(ids)}>; rel="next", <{base}?min_id={max(ids)}>; rel="prev"'
    }


def ago(seconds: float) -> datetime:
    """A time ``seconds`` ago (seeding helper)."""
    return datetime.now(UTC) - timedelta(seconds=seconds)
