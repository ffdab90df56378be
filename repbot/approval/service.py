"""The approval rules, once, for every surface (Slack, the web console, whatever comes next).

A surface parses a request into a :class:`Request`, asks :meth:`ApprovalService.decide` and
renders the :class:`Result`. The service owns who may decide (Slack users and user groups,
console names), the two-person rule for urgent drafts, edit versus approve, the checks a
human's edit must pass (the platform's length, the guardrails) and the answer a race loser gets.
Decisions are recorded through :func:`repbot.workflow.decide`.

Identities are ``slack:<user id>`` and ``web:<login name>``; a console account linked to a
Slack id is the same person as that Slack user (:attr:`Request.person`). The two-person rule
counts two distinct people, whichever surfaces they came from. The service also owns the undo
window (an approval is posted ``undo_seconds`` later unless undone), claims ("I'm on it": while
someone else's claim is live a decision needs a takeover first), bulk decisions and retry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from repbot import workflow
from repbot.approval import render
from repbot.approval.config import ApprovalConfig
from repbot.brand import BrandConfig
from repbot.classify.feedback import RELABELS, label_from_reason
from repbot.errors import InvalidTransition, StoreError
from repbot.models import State, utcnow
from repbot.respond import guardrails, limits
from repbot.respond.config import GuardrailConfig
from repbot.store.base import Action, Claim, Decision, Item, Store

log = logging.getLogger(__name__)

Verb = Literal[
    "approve",
    "edit",
    "reject",
    "snooze",
    "posted_manually",
    "undo",
    "claim",
    "takeover",
    "relabel",
]
Outcome = Literal["accepted", "pending", "refused", "duplicate", "already_decided"]
GroupMembers = Callable[[str], Awaitable[set[str] | None]]
"""Members of a Slack user group, or None when they cannot be read now."""

GROUP_TTL = 300.0
NOT_APPROVER = "Only configured approvers can decide on drafts."
SAME_PERSON = "Waiting for a second approver: it must be someone else."
EMPTY_EDIT = "The reply cannot be empty."
UNDO_OVER = "Too late to undo: the undo window is over."
SENIOR_ONLY = "Press and legal mentions need a senior approver (approval.senior_approvers)."
UNKNOWN_LABEL = "Unknown label; choose one of: "
NOT_RETRYABLE = "Only failed items can be retried."
UNDO_SECONDS = 30.0
CLAIM_MINUTES = 15.0
_OPEN = (State.AWAITING_APPROVAL, State.SNOOZED)
_CLAIMED_VERBS = frozenset({"approve", "edit", "reject", "snooze"})


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
    slack_id: str | None = None
    """The Slack user id a console account is linked to (it then counts as that person)."""
    override: bool = False
    """The editor confirmed an edit the guardrails flag (recorded in the audit trail)."""

    @property
    def recorded_as(self) -> str:
        """The actor the decision history records."""
        return self.actor or self.identity

    @property
    def person(self) -> str:
        """Who this is for the two-person rule and claims: the linked Slack user, if any."""
        return f"slack:{self.slack_id}" if self.slack_id else self.identity


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
    claim: Claim | None = None
    warnings: tuple[str, ...] = ()
    """Guardrail problems an accepted edit was approved with (``override``)."""

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
        senior_approvers: Collection[str] | None = None,
        guard: EditGuard | None = None,
        clock: Callable[[], float] = time.monotonic,
        undo_seconds: float = UNDO_SECONDS,
        claim_minutes: float = CLAIM_MINUTES,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store, self.guard, self.clock, self.now = store, guard, clock, now
        self.undo_window = timedelta(seconds=undo_seconds)
        self.claim_time = timedelta(minutes=claim_minutes)
        self.slack_approvers = list(slack_approvers)
        self.web_approvers = (
            None if web_approvers is None else {n.casefold() for n in web_approvers}
        )
        self.two_person_threshold = two_person_threshold
        self.senior_approvers = (
            None if senior_approvers is None else {n.casefold() for n in senior_approvers}
        )
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
            senior_approvers=cfg.senior_approvers,
            guard=guard,
            undo_seconds=cfg.undo_seconds,
            claim_minutes=cfg.claim_minutes,
        )

    def use_group_lookup(self, members: GroupMembers) -> None:
        """Resolve Slack user groups with ``members`` (the Slack surface supplies it)."""
        self._group_members = members

    # permissions
    async def is_approver(self, identity: str, slack_id: str | None = None) -> bool:
        """Whether ``identity`` may decide (see the class docstring); a console account linked
        to ``slack_id`` may also decide as that Slack user."""
        if slack_id and await self.is_approver(f"slack:{slack_id}"):
            return True
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

    async def may_decide(
        self, identity: str, item_id: int, what: str, channel: str, slack_id: str | None = None
    ) -> bool:
        """:meth:`is_approver`, with a refusal recorded in the audit trail."""
        if await self.is_approver(identity, slack_id):
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
    def edit_problem(self, item: Item, text: str, override: bool = False) -> str | None:
        """Why ``text`` may not replace the item's draft (None when it may). Guardrail problems
        the edit adds are waived by ``override``; emptiness and the platform's length never."""
        if not text.strip():
            return EMPTY_EDIT
        too_long = limits.length_problem(text, item.mention.platform, render.length_limit(item))
        if too_long or override:
            return too_long
        added = self.guardrail_problems(item, text)
        return (
            f"The edit cannot be approved: {'; '.join(added)}. Confirm the override to approve"
            " it anyway."
            if added
            else None
        )

    def guardrail_problems(self, item: Item, text: str) -> list[str]:
        """Guardrail problems ``text`` adds to the item's draft (none without a guard)."""
        return self.guard.added_problems(item, text) if self.guard is not None else []

    # decisions
    async def decide(self, req: Request) -> Result:
        """Check and record ``req``; never raises for a refused or lost decision."""
        allowed = await self.may_decide(
            req.identity, req.item_id, req.verb, req.channel, req.slack_id
        )
        if not allowed:
            return Result("refused", NOT_APPROVER)
        try:
            item = self.store.get(req.item_id)
        except StoreError as exc:
            return Result("refused", f"Nothing was recorded: {exc}")
        if req.verb in ("claim", "takeover"):
            return self._claim(req, item)
        if req.verb == "undo":
            return self._undo(req)
        if req.verb == "relabel":
            return self._relabel(req, item)
        blocker = self._claimed_by_other(req, item)
        if blocker is not None:
            return Result("refused", claimed_message(blocker, self.now()), claim=blocker)
        result = await self._decide(req, item)
        if result.changed and req.verb in _CLAIMED_VERBS:
            self.store.release_claim(item.id, req.recorded_as)
        return result

    async def _decide(self, req: Request, item: Item) -> Result:
        verb = req.verb
        if verb in ("approve", "edit", "posted_manually") and not self._senior_ok(req, item):
            return Result("refused", SENIOR_ONLY)
        if verb == "reject":
            result = self._record(req, verb)
            label = label_from_reason(req.reason)
            if label and result.outcome == "accepted":
                self._feedback(req, item, label)
            return result
        if verb == "snooze" or verb == "posted_manually":
            return self._record(req, verb)
        if verb != "approve" and verb != "edit":
            return Result("refused", f"unknown decision {verb!r}")
        text = item.draft if verb == "approve" else (req.text or "").strip()
        warnings: list[str] = []
        if req.verb == "edit":
            problem = self.edit_problem(item, text or "", req.override)
            if problem:
                return Result("refused", problem)
            warnings = self.guardrail_problems(item, text or "") if req.override else []
        action: Action = "approve" if text == (item.draft or "").strip() else verb
        if self._needs_two(item):
            result = self._two_person(req, item, action, text)
        else:
            result = self._record(req, action, text=text)
        if warnings and result.changed:
            self.store.audit(
                "guardrail_override",
                req.recorded_as,
                item.id,
                problems=warnings,
                channel=req.channel,
            )
            result = replace(result, warnings=tuple(warnings))
        return result

    # senior approvers and relabels (learning from approvers)
    def _senior_ok(self, req: Request, item: Item) -> bool:
        """Whether ``req`` may approve ``item``: a senior-flagged item (legal, press) needs
        someone in ``senior_approvers`` when that list is configured."""
        if self.senior_approvers is None or not item.analysis.get("senior"):
            return True
        names = {req.identity.partition(":")[2].casefold(), (req.slack_id or "").casefold()}
        return bool(names & self.senior_approvers)

    def _relabel(self, req: Request, item: Item) -> Result:
        label = (req.reason or "").strip().lower()
        if label not in RELABELS:
            return Result("refused", UNKNOWN_LABEL + ", ".join(RELABELS))
        self._feedback(req, item, label)
        return Result("accepted", state=item.state)

    def _feedback(self, req: Request, item: Item, label: str) -> None:
        try:
            self.store.add_feedback(
                item.id,
                label,
                req.recorded_as,
                channel=req.channel,
                previous=item.intent,
                reason=req.reason if req.verb == "reject" else None,
            )
        except StoreError as exc:
            log.warning("feedback label for #%s not stored: %s", item.id, exc)

    # claims ("I'm on it") and the undo window
    def claim_of(self, item_id: int) -> Claim | None:
        """The item's live claim, if any."""
        return self.store.claims([item_id], self.now()).get(item_id)

    def claims(self, item_ids: Collection[int]) -> dict[int, Claim]:
        """The live claims of ``item_ids`` (one query, for a list)."""
        return self.store.claims(item_ids, self.now())

    def _claimed_by_other(self, req: Request, item: Item) -> Claim | None:
        if req.verb not in _CLAIMED_VERBS or item.state not in _OPEN:
            return None
        claim = self.claim_of(item.id)
        return claim if claim is not None and claim.identity != req.person else None

    def _claim(self, req: Request, item: Item) -> Result:
        if item.state not in _OPEN:
            return _lost(item)
        current = self.claim_of(item.id)
        if current and current.identity != req.person and req.verb != "takeover":
            return Result("refused", claimed_message(current, self.now()), claim=current)
        now = self.now()
        held = self.store.claim(
            item.id,
            req.person,
            req.recorded_as,
            now=now,
            expires=now + self.claim_time,
            holder=current.identity if current else None,
        )
        if held.identity != req.person:  # someone else claimed it a moment ago
            return Result("refused", claimed_message(held, now), claim=held)
        return Result("accepted", claim=held)

    def _undo(self, req: Request) -> Result:
        try:
            decision = workflow.undo(
                self.store, req.item_id, req.recorded_as, self.now(), req.channel
            )
        except InvalidTransition:
            item = self.store.get(req.item_id)
            if item.state is State.APPROVED:
                return Result("refused", UNDO_OVER, state=item.state)
            return _lost(item)
        return Result("accepted", decision=decision)

    def undo_deadline(self, item: Item) -> datetime | None:
        """When the item's undo window ends, while it is still open (None otherwise)."""
        return item.post_after if workflow.undoable(item, self.now()) else None

    # bulk decisions and retry
    async def bulk(self, requests: Sequence[Request]) -> list[tuple[int, Result]]:
        """Decide each request on its own (every rule applies to each item); the results tell
        which were recorded and which lost a race or were refused."""
        return [(req.item_id, await self.decide(req)) for req in requests]

    async def retry(
        self, identity: str, item_ids: Sequence[int], channel: str, slack_id: str | None = None
    ) -> list[tuple[int, Result]]:
        """Requeue failed items one by one (``repbot requeue`` for the console)."""
        results: list[tuple[int, Result]] = []
        for item_id in item_ids:
            if not await self.may_decide(identity, item_id, "retry", channel, slack_id):
                results.append((item_id, Result("refused", NOT_APPROVER)))
                continue
            results.append((item_id, self._retry_one(item_id)))
        return results

    def _retry_one(self, item_id: int) -> Result:
        try:
            item = self.store.get(item_id)
            if item.state is not State.FAILED:
                return Result("refused", NOT_RETRYABLE, state=item.state)
            workflow.requeue(self.store, [item_id])
        except InvalidTransition:
            return _lost(self.store.get(item_id))
        except StoreError as exc:
            return Result("refused", f"Nothing was recorded: {exc}")
        return Result("accepted", state=workflow.requeue_target(item))

    def _needs_two(self, item: Item) -> bool:
        threshold = self.two_person_threshold
        return threshold is not None and item.urgency is not None and item.urgency >= threshold

    def _two_person(self, req: Request, item: Item, action: Action, text: str | None) -> Result:
        pending = self.pending(item.id)
        if pending and req.dedupe is not None and pending.get("dedupe") == req.dedupe:
            return Result("duplicate")
        first = _identity_of(pending) if pending else None
        if pending and first != req.person and (action == "approve" or text == pending["text"]):
            actor = f"{pending['actor']}+{req.recorded_as}"
            return self._record(req, pending["action"], text=pending["text"], actor=actor)
        if pending and first == req.person and action == "approve":
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
                post_after=self.now() + self.undo_window,
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
            "identity": req.person,
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


def claimed_message(claim: Claim, now: datetime) -> str:
    """``alice is on it (claimed 4 min ago); take it over to decide.``"""
    return f"{claim.actor} is on it ({claim_age(claim, now)}); take it over to decide."


def claim_age(claim: Claim, now: datetime) -> str:
    """``claimed 4 min ago`` (``claimed just now`` under a minute)."""
    minutes = int((now - claim.claimed_at).total_seconds() // 60)
    return "claimed just now" if minutes < 1 else f"claimed {minutes} min ago"


def state_word(state: State | None) -> str:
    """``approved``, ``rejected``… for a race loser's answer."""
    if state is None:
        return "decided"
    return render.STATE_LABELS.get(state, state.value).lower()
