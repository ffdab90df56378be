"""The console queue's read side: keyset pages, search, and the small live-update endpoints.

``GET /queue/changes`` answers a polling page with the ids that entered the shown filter since
its last poll and the current version of every card it shows; ``GET /queue/cards`` renders the
cards of chosen ids. The page inserts new cards only when the user asks ("3 new") and updates
changed cards in place, so nothing moves under the pointer.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from repbot.models import State, utcnow
from repbot.store.base import Item
from repbot.store.queueing import QueueCursor, QueueFilter, SearchError

if TYPE_CHECKING:
    from repbot.approval.web import Console

PAGE_SIZE = 50
MAX_SHOWN = 500
# A change committed while the previous poll was being answered still counts as new: the page
# asks again from a little before that answer and ignores the ids it already shows.
_OVERLAP = timedelta(seconds=5)


STATE_FILTERS = ["awaiting_approval", "snoozed", "approved", "posted", "failed", "rejected", "all"]


def parse_filters(request: web.Request) -> dict[str, str]:
    """The console's filter values from the query (an unknown state means the default)."""
    state = request.query.get("state", "awaiting_approval")
    if state not in STATE_FILTERS:
        state = "awaiting_approval"
    return {
        "state": state,
        "platform": request.query.get("platform", "")[:100],
        "intent": request.query.get("intent", "")[:100],
        "q": request.query.get("q", "").strip()[:500],
    }


def queue_filter(filters: dict[str, str]) -> QueueFilter:
    """The store filter for the console's filter values (``state``, ``platform`` ...)."""
    state = filters["state"]
    return QueueFilter(
        states=None if state == "all" else (State(state),),
        platform=filters["platform"] or None,
        intent=filters["intent"] or None,
        search=filters["q"] or None,
    )


def page_cursor(request: web.Request) -> QueueCursor | None:
    """The ``after`` cursor of a "Load more" request; 400 when it is not one."""
    raw = request.query.get("after")
    if not raw:
        return None
    try:
        return QueueCursor.decode(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(text="bad page cursor; reload the queue") from exc


def list_url(filters: dict[str, str], **extra: str) -> str:
    """``/`` with the non-default ``filters`` (and ``extra``) as its query."""
    query = {
        k: v for k, v in filters.items() if v and not (k == "state" and v == "awaiting_approval")
    }
    query.update(extra)
    return "/?" + urlencode(query) if query else "/"


def more_url(filters: dict[str, str], cursor: QueueCursor | None) -> str:
    """The "Load more" link of a page ('' on the last page)."""
    return list_url(filters, after=cursor.encode()) if cursor else ""


def since_token(now: datetime | None = None) -> str:
    """Where the next live-update poll starts."""
    return ((now or utcnow()) - _OVERLAP).isoformat(timespec="microseconds")


def card_version(item: Item) -> str:
    """A short digest of everything a card shows: it changes whenever the card would."""
    parts = (
        item.state.value,
        item.urgency,
        item.draft,
        item.final_text,
        item.decided_by,
        item.snooze_until,
        item.last_error,
        item.attempts,
        item.posted_url,
        item.mention.text,
        item.mention.updated_at,
        item.mention.owner_reply,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def matches(item: Item, where: QueueFilter) -> bool:
    """Whether ``item`` still belongs in a list shown with ``where`` (search aside)."""
    return (
        (where.states is None or item.state in where.states)
        and (not where.platform or item.mention.platform == where.platform)
        and (not where.intent or item.intent == where.intent)
    )


def _ids(request: web.Request) -> list[int]:
    raw = request.query.get("ids", "")
    parts = [p for p in raw.split(",") if p]
    if len(parts) > MAX_SHOWN or not all(p.isdigit() and len(p) < 19 for p in parts):
        raise web.HTTPBadRequest(text=f"ids: up to {MAX_SHOWN} comma-separated item ids")
    return [int(p) for p in parts]


def _since(request: web.Request) -> datetime:
    try:
        since = datetime.fromisoformat(request.query.get("since", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(text="since: an ISO time from the queue page") from exc
    if since.tzinfo is None:
        raise web.HTTPBadRequest(text="since: an ISO time with its UTC offset")
    return since.astimezone(UTC)


class QueueEndpoints:
    """``/queue/changes`` and ``/queue/cards`` for one console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def changes(self, request: web.Request) -> web.Response:
        """``GET /queue/changes``: entered ids, versions of the shown ids, counts."""
        self.console.require_login(request)
        where = queue_filter(parse_filters(request))
        shown = _ids(request)
        now = utcnow()
        store = self.console.store
        try:
            entered = store.queue_entered(where, _since(request), limit=100)
        except SearchError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        known = set(shown)
        body = {
            "entered": [i for i in entered if i not in known],
            "versions": {str(i.id): card_version(i) for i in store.items(shown)},
            "counts": store.counts(),
            "since": since_token(now),
        }
        response = web.json_response(body)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def cards(self, request: web.Request) -> web.Response:
        """``GET /queue/cards?ids=…``: those cards' HTML, in the order asked for."""
        session, is_new = self.console.require_login(request)
        filters = parse_filters(request)
        items = self.console.store.items(_ids(request))
        context = self.console.card_context(items, filters)
        context["left"] = {i.id for i in items if not matches(i, queue_filter(filters))}
        return self.console.page(request, session, is_new, "_cards.html", **context)


def add_queue_routes(app: web.Application, console: Console) -> None:
    """Register the live-update endpoints of ``console``."""
    endpoints = QueueEndpoints(console)
    app.router.add_get("/queue/changes", endpoints.changes)
    app.router.add_get("/queue/cards", endpoints.cards)
