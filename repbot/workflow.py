"""The mention state machine: which state may follow which, what a decision is allowed on, the
retry policy, and requeue.

Every caller (pipeline, poster, approval surfaces, CLI) moves an item through these functions.
They decide the target state and the states the item must be in, and the store persists the
move as one compare-and-set transaction: it refuses (:class:`repbot.errors.InvalidTransition`)
when the row is no longer in one of the expected states. A store holds no rule of its own.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from repbot.errors import InvalidTransition, StoreError
from repbot.models import State

if TYPE_CHECKING:  # the store imports this module; its types are only annotations here
    from repbot.store.base import Action, Decision, Item, PostIntent, Store

TRANSITIONS: dict[State, frozenset[State]] = {
    State.NEW: frozenset({State.CLASSIFIED, State.SKIPPED, State.FAILED}),
    State.CLASSIFIED: frozenset({State.DRAFTED, State.SKIPPED, State.FAILED, State.NEW}),
    State.DRAFTED: frozenset({State.AWAITING_APPROVAL, State.SKIPPED, State.FAILED}),
    State.AWAITING_APPROVAL: frozenset(
        {State.APPROVED, State.REJECTED, State.SNOOZED, State.AWAITING_APPROVAL, State.FAILED}
        | {State.NEW, State.SKIPPED}  # issue 14: edited (redraft) or answered on the platform
    ),
    State.SNOOZED: frozenset(
        {State.AWAITING_APPROVAL, State.APPROVED, State.REJECTED, State.NEW, State.SKIPPED}
    ),
    State.APPROVED: frozenset({State.POSTING, State.POSTED, State.FAILED, State.AWAITING_APPROVAL}),
    State.POSTING: frozenset({State.POSTED, State.APPROVED, State.FAILED}),
    State.FAILED: frozenset(
        {State.NEW, State.CLASSIFIED, State.APPROVED, State.POSTED, State.SKIPPED}
    ),
    State.POSTED: frozenset(),
    State.REJECTED: frozenset({State.AWAITING_APPROVAL}),
    State.SKIPPED: frozenset({State.NEW}),
}
"""The allowed edges. ``approved → posted`` is "post manually"; ``approved → awaiting_approval``
is an undo inside the undo window; ``failed → …`` is requeue."""

_AWAITING = frozenset({State.AWAITING_APPROVAL, State.SNOOZED})
DECISIONS: dict[str, tuple[frozenset[State], State]] = {
    "approve": (_AWAITING, State.APPROVED),
    "edit": (_AWAITING, State.APPROVED),
    "reject": (_AWAITING, State.REJECTED),
    "snooze": (frozenset({State.AWAITING_APPROVAL}), State.SNOOZED),  # not again while snoozed
    "posted_manually": (frozenset({State.APPROVED, State.FAILED}), State.POSTED),
}
"""Per human action: the states it may be taken in and the state it leads to."""

REQUEUABLE = frozenset({State.FAILED, State.SKIPPED})


def sources(to: State) -> frozenset[State]:
    """The states from which ``to`` may be entered."""
    return frozenset(s for s, targets in TRANSITIONS.items() if to in targets)


def check(mention_id: int, current: State, expected: Collection[State]) -> None:
    """Raise :class:`InvalidTransition` unless ``current`` is one of ``expected``.

    Stores call this inside their transaction, against the row they just read.
    """
    if current not in expected:
        wanted = ", ".join(sorted(s.value for s in expected)) or "nothing"
        raise InvalidTransition(f"mention {mention_id} is {current.value}, expected {wanted}")


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed attempt (classify, draft or post) is retried, and when the item fails.

    ``attempts`` counts failures including the one just seen; the delay before the next try is
    ``base * 2 ** (attempts - 1)`` seconds, at most ``cap``, less a random share of up to
    ``jitter`` of it (so items that failed together, e.g. in an outage, do not all retry at the
    same moment); at ``max_attempts`` it fails. ``jitter=0`` makes the delay exact.
    """

    max_attempts: int = 5
    base: float = 5.0
    cap: float = 3600.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be between 0 and 1, not {self.jitter}")

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next try after ``attempts`` failures (jittered)."""
        full = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=full * (1.0 - self.jitter * self.rng.random()))

    def retry_at(self, attempts: int, now: datetime, transient: bool = True) -> datetime | None:
        """When to try again after ``attempts`` failures, or None: the item fails."""
        if not transient or attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts)


def decide(
    store: Store,
    mention_id: int,
    action: Action,
    actor: str,
    *,
    text: str | None = None,
    reason: str | None = None,
    snooze_until: datetime | None = None,
    dedupe_key: str | None = None,
    channel: str = "web",
    posted_url: str | None = None,
    post_after: datetime | None = None,
) -> Decision:
    """Record a human decision on ``mention_id`` and move it to the state the action implies.

    An approval is posted from ``post_after`` on (the end of its undo window; None: at once).
    A repeated ``dedupe_key`` returns the first decision marked ``duplicate``; a decision on an
    item in a state that does not allow it raises :class:`InvalidTransition`; an approval
    without text raises :class:`StoreError`. For ``posted_manually`` the reply's link is
    ``posted_url``, or ``reason`` when that is not given (the surfaces send it there).
    """
    if action not in DECISIONS:
        raise StoreError(f"unknown decision {action!r}")
    expected, to = DECISIONS[action]
    if action in ("approve", "edit") and not (text or "").strip():
        raise StoreError("an approved reply needs text")
    if action == "posted_manually":
        posted_url = posted_url or reason
    with store.batch():  # the approval and its undo window commit together
        decision = store.decide(
            mention_id,
            action,
            actor,
            to=to,
            expected=expected,
            text=text,
            reason=reason,
            snooze_until=snooze_until if to is State.SNOOZED else None,
            posted_url=posted_url if to is State.POSTED else None,
            dedupe_key=dedupe_key,
            channel=channel,
        )
        if to is State.APPROVED and post_after is not None and not decision.duplicate:
            store.set_post_after(mention_id, post_after)
    return decision


def undoable(item: Item, now: datetime) -> bool:
    """Whether ``item`` is an approval still inside its undo window (not posting, not retried)."""
    return (
        item.state is State.APPROVED
        and item.attempts == 0
        and item.last_error is None
        and item.post_after is not None
        and now < item.post_after
    )


def undo(store: Store, mention_id: int, actor: str, now: datetime, channel: str) -> Decision:
    """approved → awaiting_approval inside the undo window, the approved text kept as the draft.

    Raises :class:`InvalidTransition` when the item is not approved or its window is over (the
    poster may have taken it: the store's compare-and-set decides that race).
    """
    item = store.get(mention_id)
    if not undoable(item, now):
        if item.state is State.APPROVED:
            raise InvalidTransition(f"mention {mention_id}: the undo window is over")
        check(mention_id, item.state, {State.APPROVED})
    return store.undo(mention_id, actor, channel=channel, expected={State.APPROVED})


def classified(
    store: Store, mention_id: int, analysis: dict[str, Any], skip_reason: str | None = None
) -> None:
    """new → classified (then → skipped when ``skip_reason``), storing the analysis."""
    store.set_classified(mention_id, analysis, skip_reason=skip_reason, expected={State.NEW})


def drafted(store: Store, mention_id: int, text: str, meta: dict[str, Any]) -> None:
    """classified → drafted → awaiting_approval with the draft."""
    store.set_draft(mention_id, text, meta, expected={State.CLASSIFIED})


def skip(store: Store, mention_id: int, reason: str) -> None:
    """Move an item that needs no reply to skipped."""
    store.skip(mention_id, reason, expected=sources(State.SKIPPED) - _AWAITING)


def record_failure(
    store: Store, item: Item, error: str, policy: RetryPolicy, now: datetime
) -> datetime | None:
    """Count a failed pipeline step on ``item``: retry it later, or move it to failed.

    Returns when it will be retried, or None when it failed for good.
    """
    attempts = item.attempts + 1
    retry_at = policy.retry_at(attempts, now)
    if retry_at is None and State.FAILED not in TRANSITIONS[item.state]:
        retry_at = now + policy.delay(attempts)  # no failed edge here: keep retrying
    to = State.FAILED if retry_at is None else item.state
    store.record_failure(
        item.id, error, attempts=attempts, retry_at=retry_at, to=to, expected={item.state}
    )
    return retry_at


def begin_post(store: Store, mention_id: int) -> PostIntent:
    """approved → posting, writing the idempotency key before the platform is called."""
    return store.begin_post(mention_id, expected={State.APPROVED})


def complete_post(store: Store, mention_id: int, external_id: str, url: str | None) -> None:
    """posting → posted with the platform's reply id and link."""
    store.complete_post(mention_id, external_id, url, expected={State.POSTING})


def post_failed(
    store: Store,
    item: Item,
    error: str,
    policy: RetryPolicy,
    now: datetime,
    *,
    transient: bool = True,
) -> datetime | None:
    """posting → approved (retried at the returned time) or → failed (returns None)."""
    attempts = item.attempts + 1
    retry_at = policy.retry_at(attempts, now, transient)
    to = State.FAILED if retry_at is None else State.APPROVED
    store.post_failed(item.id, error, retry_at, attempts=attempts, to=to, expected={State.POSTING})
    return retry_at


def wake_snoozed(store: Store, now: datetime) -> list[int]:
    """Snoozed items whose time has come go back to awaiting_approval."""
    return store.wake_snoozed(now, expected={State.SNOOZED})


def requeue_target(item: Item) -> State:
    """Where a failed or skipped item goes back in: the step it had not finished."""
    if item.state is State.FAILED and item.final_text:
        return State.APPROVED
    if item.state is State.FAILED and item.analysis:
        return State.CLASSIFIED
    return State.NEW


def requeue(store: Store, mention_ids: Sequence[int]) -> list[int]:
    """Put failed or skipped items back into the pipeline with a fresh attempt count.

    All or nothing: when one item is missing or in another state, nothing moves
    (:class:`StoreError` or :class:`InvalidTransition`). Returns the ids moved.
    """
    with store.batch():
        for mention_id in mention_ids:
            item = store.get(mention_id)
            check(mention_id, item.state, REQUEUABLE)
            store.requeue(mention_id, requeue_target(item), expected={item.state})
    return list(mention_ids)


def requeue_state(store: Store, state: State, limit: int = 10_000) -> list[int]:
    """Requeue every item in ``state`` (failed or skipped), up to ``limit``."""
    if state not in REQUEUABLE:
        raise InvalidTransition(f"only failed or skipped items can be requeued, not {state}")
    return requeue(store, [item.id for item in store.queue([state], limit=limit)])
