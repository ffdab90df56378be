"""Console routes for actions on several items: bulk reject or snooze, Retry, requeue by state.

The surface only parses and renders: each item is decided through
:class:`~repbot.approval.service.ApprovalService` (every rule applies to every item), and the
answer names the items that lost a race and who decided them first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from repbot import workflow
from repbot.approval import render
from repbot.approval.service import Request, Result, Verb, state_word, web_identity
from repbot.errors import InvalidTransition
from repbot.models import State

if TYPE_CHECKING:
    from repbot.approval.accounts import Account
    from repbot.approval.web import Console

MAX_BULK = 500
BULK_REASONS = {
    "spam": "spam",
    "irrelevant": "irrelevant",
    "duplicate": "duplicate",
    "no_reply": "no reply needed",
}
"""The reasons offered for a bulk reject (value → recorded reason)."""
_BULK_VERBS: dict[str, Verb] = {"reject": "reject", "snooze": "snooze"}


def add_routes(app: web.Application, console: Console) -> None:
    """``POST /bulk``, ``POST /items/{id}/retry`` and ``POST /admin/requeue``."""
    actions = _Actions(console)
    app.router.add_post("/bulk", actions.bulk)
    app.router.add_post("/items/{id:\\d+}/retry", actions.retry)
    app.router.add_post("/admin/requeue", actions.requeue_state)


class _Actions:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def bulk(self, request: web.Request) -> web.Response:
        """Reject (with a reason) or snooze every checked item, each through the service."""
        session, form = await self.console.check_post(request)
        account = self.console.require_role(request, "approver")
        ids = await _ids(request)
        verb = _BULK_VERBS.get(form.get("action", ""))
        if verb is None:
            raise web.HTTPBadRequest(text="bulk action must be reject or snooze")
        reason = until = None
        if verb == "reject":
            reason = BULK_REASONS.get(form.get("reason", ""))
            if reason is None:
                raise web.HTTPBadRequest(text=f"reason must be one of {', '.join(BULK_REASONS)}")
        else:
            try:
                until = render.snooze_until(form.get("until", "1h"), self.console.tz)
            except ValueError as exc:
                raise web.HTTPBadRequest(text=str(exc)) from exc
        actor = self.console.actor(session)
        requests = [
            Request(
                item_id,
                verb,
                _identity(actor),
                "web",
                actor=actor,
                reason=reason,
                snooze_until=until,
                slack_id=linked_slack_id(self.console, account),
            )
            for item_id in ids
        ]
        results = await self.console.service.bulk(requests)
        for item_id, result in results:
            await self.console.after(item_id, result)
        done = "Rejected" if verb == "reject" else "Snoozed"
        return self._answer(request, form, results, done)

    async def retry(self, request: web.Request) -> web.Response:
        """The Retry button of a failed item: requeue it where it stopped."""
        session, form = await self.console.check_post(request)
        account = self.console.require_role(request, "approver")
        item_id = int(request.match_info["id"])
        actor = self.console.actor(session)
        results = await self.console.service.retry(
            _identity(actor), [item_id], "web", linked_slack_id(self.console, account)
        )
        for done_id, result in results:
            await self.console.after(done_id, result)
        return self._answer(request, form, results, "Requeued")

    async def requeue_state(self, request: web.Request) -> web.Response:
        """Admin action: requeue every failed (or skipped) item, like ``repbot requeue``."""
        session, form = await self.console.check_post(request)
        self.console.require_role(request, "admin")
        try:
            state = State(form.get("state", "failed"))
            moved = workflow.requeue_state(self.console.store, state)
        except (ValueError, InvalidTransition) as exc:
            raise web.HTTPBadRequest(text=f"cannot requeue: {exc}") from exc
        self.console.store.audit(
            "requeued_by_state",
            self.console.actor(session),
            None,
            state=state.value,
            count=len(moved),
        )
        if self.console.on_decision is not None:
            for item_id in moved:
                self.console.on_decision(item_id)
        message = f"Requeued {len(moved)} {state.value} item(s)."
        return self.console._answer(request, form, message, ok=True)

    def _answer(
        self,
        request: web.Request,
        form: dict[str, str],
        results: list[tuple[int, Result]],
        done: str,
    ) -> web.Response:
        accepted = [i for i, r in results if r.outcome in ("accepted", "pending", "duplicate")]
        message = summary(done, results)
        if "application/json" in request.headers.get("Accept", ""):
            body: dict[str, Any] = {
                "ok": len(accepted) == len(results),
                "message": message,
                "results": [_json(i, r) for i, r in results],
            }
            return web.json_response(body, status=200 if accepted or not results else 409)
        return self.console._answer(request, form, message, ok=bool(accepted))


def summary(done: str, results: list[tuple[int, Result]]) -> str:
    """``Rejected 3 of 4. #12 was already approved by alice.`` for a bulk answer."""
    ok = sum(r.outcome in ("accepted", "pending", "duplicate") for _, r in results)
    parts = [f"{done} {ok} of {len(results)}."]
    parts.extend(
        item_message(i, r) for i, r in results if r.outcome in ("refused", "already_decided")
    )
    return " ".join(parts)


def item_message(item_id: int, result: Result) -> str:
    """Why one item of a bulk action was not changed."""
    if result.outcome == "already_decided":
        who = result.decided_by or "someone"
        return f"#{item_id} was already {state_word(result.state)} by {who}."
    return f"#{item_id}: {result.reason}"


def _json(item_id: int, result: Result) -> dict[str, Any]:
    return {
        "id": item_id,
        "outcome": result.outcome,
        "state": result.state.value if result.state else None,
        "decided_by": result.decided_by,
        "message": "" if result.changed else item_message(item_id, result),
    }


def linked_slack_id(console: Console, account: Account) -> str | None:
    """The Slack user id ``account`` is linked to (it then decides as that Slack user too)."""
    if account.slack_user_id:
        return account.slack_user_id
    if account.kind == "account" and account.id is not None:
        record = console.store.user_by_id(account.id)
        return record.slack_user_id if record else None
    return None


def _identity(actor: str) -> str:
    return actor if actor.startswith("slack:") else web_identity(actor if actor != "web" else "")


async def _ids(request: web.Request) -> list[int]:
    """The checked item ids (``id`` fields); 400 when there are none, too many, or bad ones."""
    data = await request.post()  # read (and cached) by check_post already
    raw = [v for v in data.getall("id", []) if isinstance(v, str)]
    if not raw:
        raise web.HTTPBadRequest(text="select at least one item")
    if len(raw) > MAX_BULK:
        raise web.HTTPBadRequest(text=f"at most {MAX_BULK} items at once")
    try:
        ids = [int(v) for v in raw]
    except ValueError as exc:
        raise web.HTTPBadRequest(text="item ids must be numbers") from exc
    if any(i <= 0 or i > 2**62 for i in ids):
        raise web.HTTPBadRequest(text="item ids must be positive")
    return list(dict.fromkeys(ids))
