"""The approval rules, once, for every surface (Slack, the web console, whatever comes next).

A surface parses a request into a :class:`Request`, asks :meth:`ApprovalService.decide` and
renders the :class:`Result`. The service owns who may decide (Slack users and user groups,
console names), the two-person rule for urgent drafts, edit versus approve, the checks a
human's edit must pass (the platform's length, the guardrails) and the answer a race loser gets.
Decisions are recorded through :func:`repbot.workflow.decide`.

Identities are ``slack:<user id>`` and ``web:<login name>``; the two-person rule counts two
distinct identities, whichever surfaces they came from.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from repbot import workflow
from repbot.approval import render
from repbot.approval.config import ApprovalConfig
from repbot.brand import BrandConfig
from repbot.errors import InvalidTransition, StoreError
from repbot.models import State
from repbot.respond import guardrails, limits
from repbot.respond.config import GuardrailConfig
from repbot.store.base import Action, Decision, Item, Store

log = logging.getLogger(__name__)

Verb = Literal["approve", "edit", "reject", "snooze", "posted_manually"]
Outcome = Literal["accepted", "pending", "refused", "duplicate", "already_decided"]
GroupMembers = Callable[[str], Awaitable[set[str] | None]]
"""Members of a Slack user group, or None when they cannot be read now."""

GROUP_TTL = 300.0
NOT_APPROVER = "Only configured approvers can decide on drafts."
SAME_PERSON = "Waiting for a second approver: it must be someone else."
EMPTY_EDIT = "The reply cannot be empty."
_OPEN = (State.AWAITING_APPROVAL, State.SNOOZED)


@dataclass(frozen=True)
class Request:
    """One human's decision as a surface parsed it.

    ``identity`` names the person for the rules (``slack:U1``, ``web:alice``); ``actor`` is
    what the decision history records (defaults to ``identity``). ``text`` is the edited reply
    (``edit``), ``reason`` the reject reason or the posted URL (``posted_manually``).
    """

    item_id: int
    verb: Verb
    identity: str
    channel: str
    actor: str = ""
    text: str | None = None
    reason: str | None = None
    snooze_until: datetime | None = None
    dedupe: str | None = None

    @property
    def recorded_as(self) -> str:
        """The actor the decision history records."""
        return self.actor or self.identity


@dataclass(frozen=True)
class Result:
    """What became of a :class:`Request`; each surface renders it in its own words.

    ``accepted``: recorded (``decision``); ``pending``: a first approval, a second person must
    approve; ``refused``: nothing recorded, ``reason`` says why; ``duplicate``: this very
    request was handled before; ``already_decided``: someone decided first (``state`` and
    ``decided_by``).
    """

    outcome: Outcome
    reason: str = ""
    decision: Decision | None = None
    state: State | None = None
    decided_by: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the item or its pending approval changed (its messages need a refresh)."""
        return self.outcome in ("accepted", "pending")


class EditGuard:
    """The guardrail checks a human's edit must pass: nothing the draft did not already have."""

    def __init__(self, brand: BrandConfig, cfg: GuardrailConfig) -> None:
        self.brand, self.cfg = brand, cfg

    def added_problems(self, item: Item, text: str) -> list[str]:
        """Guardrail problems of ``text`` that the item's draft does not have."""
        before = set(self._check(item, item.draft or "")) if item.draft else set()
        return [p for p in self._check(item, text) if p not in before]

    def _check(self, item: Item, text: str) -> list[str]:
        return guardrails.check(
            text, brand=self.brand, cfg=self.cfg, mention_text=item.mention.text
        )


class ApprovalService:
    """Permissions, the two-person rule, edit checks and recording of human decisions.

    ``slack_approvers``: Slack user (``U…``/``W…``) and user-group (``S…``) ids; empty means
    every Slack user may decide. ``web_approvers``: console login names; None means everyone
    who logs in. ``two_person_threshold``: urgency at or above which an approval needs two
    distinct people. ``guard``: guardrail checks on edits (None: only the length is checked).
    """

    def __init__(
        self,
        store: Store,
        *,
        slack_approvers: Collection[str] = (),
        web_approvers: Collection[str] | None = None,
        two_person_threshold: float | None = None,
        guard: EditGuard | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.guard, self.clock = store, guard, clock
        self.slack_approvers = list(slack_approvers)
        self.web_approvers = (
            None if web_approvers is None else {n.casefold() for n in web_approvers}
        )
        self.two_person_threshold = two_person_threshold
        self._group_members: GroupMembers | None = None
        self._groups: dict[str, tuple[float, set[str]]] = {}

    @classmethod
    def from_config(
        cls, cfg: ApprovalConfig, store: Store, *, guard: EditGuard | None
    ) -> ApprovalService:
        """The service for the ``approval`` section (threshold and Slack approvers from
        ``approval.slack`` when present, enabled or not)."""
        slack = cfg.slack
        return cls(
            store,
            slack_approvers=slack.approvers if slack else (),
            web_approvers=cfg.web.approvers,
            two_person_threshold=slack.two_person_threshold if slack else None,
            guard=guard,
        )

    def use_group_lookup(self, members: GroupMembers) -> None:
        """Resolve Slack user groups with ``members`` (the Slack surface supplies it)."""
        self._group_members = members

    # permissions
    async def is_approver(self, identity: str) -> bool:
        """Whether ``identity`` may decide (see the class docstring)."""
        kind, _, name = identity.partition(":")
        if kind == "web":
            return self.web_approvers is None or name.casefold() in self.web_approvers
        if kind != "slack":
            return False
        if not self.slack_approvers or name in self.slack_approvers:
            return True
        for group in (a for a in self.slack_approvers if a.startswith("S")):
            if name in await self._members(group):
                return True
        return False

    async def may_decide(self, identity: str, item_id: int, what: str, channel: str) -> bool:
        """:meth:`is_approver`, with a refusal recorded in the audit trail."""
        if await self.is_approver(identity):
            return True
        self.store.audit("refused", identity, item_id, action=what, channel=channel)
        return False

    async def _members(self, group: str) -> set[str]:
        cached = self._groups.get(group)
        if cached and self.clock() - cached[0] < GROUP_TTL:
            return cached[1]
        found = await self._group_members(group) if self._group_members else None
        if found is None:
            return cached[1] if cached else set()
        self._groups[group] = (self.clock(), found)
        return found

    # edits
    def edit_problem(self, item: Item, text: str) -> str | None:
        """Why ``text`` may not replace the item's draft (None when it may)."""
        if not text.strip():
            return EMPTY_EDIT
        too_long = limits.length_problem(text, item.mention.platform, render.length_limit(item))
        if too_long or self.guard is None:
            return too_long
        added = self.guard.added_problems(item, text)
        return f"The edit cannot be approved: {'; '.join(added)}." if added else None

    # decisions
    async def decide(self, req: Request) -> Result:
        """Check and record ``req``; never raises for a refused or lost decision."""
        if not await self.may_decide(req.identity, req.item_id, req.verb, req.channel):
            return Result("refused", NOT_APPROVER)
        try:
            item = self.store.get(req.item_id)
        except StoreError as exc:
            return Result("refused", f"Nothing was recorded: {exc}")
        if req.verb not in ("approve", "edit"):
            return self._record(req, req.verb)
        text = item.draft if req.verb == "approve" else (req.text or "").strip()
        if req.verb == "edit":
            problem = self.edit_problem(item, text or "")
            if problem:
                return Result("refused", problem)
        action: Action = "approve" if text == (item.draft or "").strip() else req.verb
        if self._needs_two(item):
            return self._two_person(req, item, action, text)
        return self._record(req, action, text=text)

    def _needs_two(self, item: Item) -> bool:
        threshold = self.two_person_threshold
        return threshold is not None and item.urgency is not None and item.urgency >= threshold

    def _two_person(self, req: Request, item: Item, action: Action, text: str | None) -> Result:
        pending = self.pending(item.id)
        if pending and req.dedupe is not None and pending.get("dedupe") == req.dedupe:
            return Result("duplicate")
        first = _identity_of(pending) if pending else None
        if pending and first != req.identity and (action == "approve" or text == pending["text"]):
            actor = f"{pending['actor']}+{req.recorded_as}"
            return self._record(req, pending["action"], text=pending["text"], actor=actor)
        if pending and first == req.identity and action == "approve":
            return Result("refused", SAME_PERSON)
        if item.state not in _OPEN:
            return _lost(item)
        self._set_pending(req, action, text)
        return Result("pending")

    def _record(
        self, req: Request, action: Action, *, text: str | None = None, actor: str | None = None
    ) -> Result:
        try:
            decision = workflow.decide(
                self.store,
                req.item_id,
                action,
                actor or req.recorded_as,
                text=text,
                reason=req.reason,
                snooze_until=req.snooze_until,
                dedupe_key=req.dedupe,
                channel=req.channel,
            )
        except InvalidTransition:
            return _lost(self.store.get(req.item_id))
        except StoreError as exc:
            return Result("refused", f"Nothing was recorded: {exc}")
        if decision.duplicate:
            return Result("duplicate", decision=decision)
        self.store.kv_set(_pending_key(req.item_id), None)
        return Result("accepted", decision=decision)

    # the first of two approvals
    def pending(self, item_id: int) -> dict[str, Any] | None:
        """The recorded first approval of an urgent draft (``actor``, ``action``, ``text``)."""
        raw = self.store.kv_get(_pending_key(item_id))
        return json.loads(raw) if raw else None

    def first_approval(self, item: Item) -> dict[str, Any] | None:
        """:meth:`pending` for an open draft under the two-person rule (None otherwise)."""
        if item.state not in _OPEN or not self._needs_two(item):
            return None
        return self.pending(item.id)

    def _set_pending(self, req: Request, action: Action, text: str | None) -> None:
        value = {
            "identity": req.identity,
            "actor": req.recorded_as,
            "action": action,
            "text": text,
            "dedupe": req.dedupe,
        }
        self.store.kv_set(_pending_key(req.item_id), json.dumps(value))
        self.store.audit("first_approval", req.identity, req.item_id, action=action)


def _pending_key(item_id: int) -> str:
    return f"slack:pending:{item_id}"  # the name predates the console's part in the rule


def _identity_of(pending: dict[str, Any]) -> str:
    """Who gave a first approval (entries written before identities name Slack's user id)."""
    return str(pending.get("identity") or f"slack:{pending.get('user', '')}")


def _lost(item: Item) -> Result:
    return Result("already_decided", state=item.state, decided_by=item.decided_by)


def web_identity(name: str) -> str:
    """The identity of a console user who logged in as ``name`` (``web:`` when anonymous)."""
    return f"web:{name.removeprefix('web:')}"


def state_word(state: State | None) -> str:
    """``approved``, ``rejected``… for a race loser's answer."""
    if state is None:
        return "decided"
    return render.STATE_LABELS.get(state, state.value).lower()
