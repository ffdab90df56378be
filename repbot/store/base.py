"""The Store interface: every read and write the pipeline, runner and approval code need.

SQL lives behind this interface (the SQLite implementation is :mod:`repbot.store.sqlite`), so a
PostgreSQL store with ``FOR UPDATE SKIP LOCKED`` claims can be added without touching callers.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from repbot.models import Mention, State
from repbot.respond.draft import ApprovedExample as ApprovedExample
from repbot.respond.history import StoredExample as StoredExample

Action = Literal["approve", "edit", "reject", "snooze", "posted_manually"]


@dataclass(frozen=True)
class Item:
    """A stored mention with everything the pipeline learned about it."""

    id: int
    source: str
    mention: Mention
    state: State
    ingested_at: datetime
    attempts: int = 0
    last_error: str | None = None
    analysis: dict[str, Any] = field(default_factory=dict)
    sentiment: str | None = None
    intent: str | None = None
    urgency: float | None = None
    draft: str | None = None
    draft_meta: dict[str, Any] = field(default_factory=dict)
    final_text: str | None = None
    skip_reason: str | None = None
    snooze_until: datetime | None = None
    next_attempt_at: datetime | None = None
    posted_url: str | None = None
    decided_by: str | None = None

    @property
    def explanation(self) -> list[tuple[str, float]]:
        """The urgency factors and their contributions."""
        return [(str(f), float(c)) for f, c in self.analysis.get("explanation", [])]


@dataclass(frozen=True)
class IngestResult:
    """What one ingest call stored; ``rejected`` says why each malformed record was skipped."""

    new_ids: list[int]
    duplicates: int
    rejected: list[str] = field(default_factory=list)

    @property
    def malformed(self) -> int:
        """Records the store could not keep (skipped; the rest of the page was stored)."""
        return len(self.rejected)


@dataclass(frozen=True)
class Decision:
    """A recorded human decision."""

    id: int
    mention_id: int
    action: Action
    actor: str
    text: str | None
    reason: str | None
    created_at: datetime
    duplicate: bool = False


@dataclass(frozen=True)
class PostIntent:
    """A reply about to be posted: written before the platform is called."""

    mention_id: int
    idempotency_key: str
    text: str
    attempts: int


@dataclass(frozen=True)
class PruneResult:
    """What one prune removed."""

    raw_payloads: int
    audit_rows: int
    pages_freed: int = 0


@dataclass(frozen=True)
class SourceStatus:
    """Health of one source, as /healthz and `repbot check` show it."""

    source: str
    cursor: str | None
    last_success: datetime | None
    last_error: str | None
    failures: int
    disabled: bool
    disabled_reason: str | None


class Store(abc.ABC):
    """Durable state: mentions and their states, cursors, drafts, decisions, posts, audit."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the database."""

    @abc.abstractmethod
    def batch(self) -> AbstractContextManager[None]:
        """Run several store calls as one transaction (all or nothing): ``with store.batch():``.

        A call that fails inside the batch undoes only its own writes; an exception that leaves
        the block undoes the whole batch.
        """

    @abc.abstractmethod
    def prune(self, raw_before: datetime | None, audit_before: datetime | None) -> PruneResult:
        """Delete raw payloads and audit rows of closed items (posted, rejected, skipped) whose
        state was last changed before the cutoffs, in small transactions, and audit the prune.

        Open items, KPIs, decisions, drafts and posts are never touched.
        """

    # ingest and cursors
    @abc.abstractmethod
    def ingest(self, source: str, mentions: list[Mention], cursor: str | None) -> IngestResult:
        """Store new mentions (deduped on platform+external_id) and the cursor, atomically.

        A mention that cannot be stored is skipped and listed in ``rejected``; it never stops
        the rest of the page or the cursor from being stored.
        """

    @abc.abstractmethod
    def get_cursor(self, source: str) -> str | None:
        """The last cursor saved for ``source``."""

    @abc.abstractmethod
    def record_source_result(
        self, source: str, error: str | None = None, disable: bool = False
    ) -> None:
        """Note a successful poll (``error`` None) or a failure, optionally disabling it."""

    @abc.abstractmethod
    def enable_source(self, source: str) -> None:
        """Re-enable a disabled source."""

    @abc.abstractmethod
    def source_status(self) -> list[SourceStatus]:
        """Health of every source seen so far."""

    # pipeline
    @abc.abstractmethod
    def pending(self, state: State, limit: int, now: datetime | None = None) -> list[Item]:
        """Items in ``state`` ready for work (due retries only), in claim order.

        ``classified`` and ``approved``: most urgent first, then oldest. ``new`` (no urgency
        yet): a cheap pre-score, lowest star rating first (unrated counts as 3), then the
        widest audience, then oldest. Other states: oldest first.
        """

    @abc.abstractmethod
    def get(self, mention_id: int) -> Item:
        """One item; raises StoreError if absent."""

    @abc.abstractmethod
    def find(self, platform: str, external_id: str) -> Item | None:
        """The item for a platform id, if stored."""

    @abc.abstractmethod
    def set_classified(
        self,
        mention_id: int,
        analysis: dict[str, Any],
        skip_reason: str | None = None,
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        """→ classified (→ skipped when ``skip_reason``), storing the analysis.

        Every state-changing method is one transaction and a compare-and-set: it raises
        InvalidTransition unless the item is in ``expected``, which :mod:`repbot.workflow`
        chooses (``None``: any state the workflow lets enter the target).
        """

    @abc.abstractmethod
    def update_urgency(self, mention_id: int, urgency: float, explanation: list[Any]) -> None:
        """Re-score an item in place (ageing); no state change, no audit entry."""

    @abc.abstractmethod
    def hold(self, mention_id: int, reason: str, until: datetime) -> None:
        """Leave an item in its state but out of the workers' way until ``until``."""

    @abc.abstractmethod
    def skip(
        self, mention_id: int, reason: str, *, expected: Collection[State] | None = None
    ) -> None:
        """Move to skipped (spam, irrelevant, no reply needed) with the reason."""

    @abc.abstractmethod
    def set_draft(
        self,
        mention_id: int,
        text: str,
        meta: dict[str, Any],
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        """→ drafted, then drafted → awaiting_approval (two audited moves, one transaction)."""

    @abc.abstractmethod
    def record_failure(
        self,
        mention_id: int,
        error: str,
        *,
        attempts: int,
        retry_at: datetime | None,
        to: State,
        expected: Collection[State],
    ) -> None:
        """Store a failed attempt: the count, the error and the retry time, moving to ``to``
        (the current state for a retry, failed otherwise)."""

    @abc.abstractmethod
    def requeue(self, mention_id: int, state: State, *, expected: Collection[State]) -> None:
        """Move an item back into the pipeline at ``state`` with a fresh attempt count."""

    # approval
    @abc.abstractmethod
    def decide(
        self,
        mention_id: int,
        action: Action,
        actor: str,
        *,
        to: State,
        expected: Collection[State],
        text: str | None = None,
        reason: str | None = None,
        snooze_until: datetime | None = None,
        posted_url: str | None = None,
        dedupe_key: str | None = None,
        channel: str = "web",
    ) -> Decision:
        """Store a human decision and move the item to ``to``; a repeated ``dedupe_key``
        returns the first decision marked duplicate. Use :func:`repbot.workflow.decide`."""

    @abc.abstractmethod
    def wake_snoozed(
        self, now: datetime, *, expected: Collection[State] | None = None
    ) -> list[int]:
        """Snoozed items whose time has come go back to awaiting_approval."""

    @abc.abstractmethod
    def decisions(self, mention_id: int | None = None, limit: int = 100) -> list[Decision]:
        """Decision history, newest first."""

    @abc.abstractmethod
    def approved_examples(self, limit: int = 200) -> list[ApprovedExample]:
        """Recent approved and edited replies, for the responder."""

    # posting
    @abc.abstractmethod
    def begin_post(
        self, mention_id: int, *, expected: Collection[State] | None = None
    ) -> PostIntent:
        """approved → posting; write the idempotency key before the platform is called."""

    @abc.abstractmethod
    def complete_post(
        self,
        mention_id: int,
        external_id: str,
        url: str | None,
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        """posting → posted with the platform's reply id and link."""

    @abc.abstractmethod
    def post_failed(
        self,
        mention_id: int,
        error: str,
        retry_at: datetime | None,
        *,
        attempts: int,
        to: State,
        expected: Collection[State],
    ) -> None:
        """Store a failed post: posting → ``to`` (approved, due at ``retry_at``, or failed)."""

    @abc.abstractmethod
    def in_flight_posts(self) -> list[PostIntent]:
        """Posts whose intent was written but whose result was not (after a crash)."""

    @abc.abstractmethod
    def posts_this_month(self, source: str, now: datetime) -> int:
        """Replies posted through ``source`` in the calendar month of ``now``."""

    # views
    @abc.abstractmethod
    def queue(
        self,
        states: list[State] | None = None,
        platform: str | None = None,
        intent: str | None = None,
        limit: int = 100,
    ) -> list[Item]:
        """Items, most urgent first (unscored last, then newest); without raw payloads."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of items per state (kept up to date at every transition, not counted)."""

    @abc.abstractmethod
    def repeat_contacts(self, platform: str, author: str, since: datetime, before_id: int) -> int:
        """Earlier mentions by the same author on the platform since ``since``."""

    @abc.abstractmethod
    def response_times(self) -> dict[str, dict[str, float]]:
        """Seconds from ingest to draft, to decision and to post: count, p50, p95.

        Kept as a histogram updated at every transition (percentiles within 1 %), so reading it
        costs the same at any history size.
        """

    # alerts and audit
    @abc.abstractmethod
    def add_alert(self, source: str, kind: str, message: str) -> None:
        """Record an operator alert (also audited)."""

    @abc.abstractmethod
    def alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent alerts, newest first."""

    @abc.abstractmethod
    def audit_log(self, mention_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The append-only audit trail, oldest first."""

    @abc.abstractmethod
    def audit(self, event: str, actor: str, mention_id: int | None = None, **detail: Any) -> None:
        """Append an audit entry outside of a transition (e.g. a refused approver)."""

    @abc.abstractmethod
    def kv_get(self, key: str) -> str | None:
        """A small key-value area for subsystems (e.g. Slack message timestamps)."""

    @abc.abstractmethod
    def kv_set(self, key: str, value: str | None) -> None:
        """Set (or delete with None) a key in the key-value area."""

    # Slack delivery (one row per mention: the intent, then the message it became)
    @abc.abstractmethod
    def slack_undelivered(self, limit: int) -> list[tuple[Item, str]]:
        """Awaiting drafts with no message (or intent) for their current state, most urgent
        first; each with its change marker (see :attr:`SlackMessage.item_version`)."""

    @abc.abstractmethod
    def slack_changed(self, limit: int) -> list[SlackMessage]:
        """Open messages whose item changed since the message was last rendered."""

    @abc.abstractmethod
    def slack_message(self, mention_id: int) -> SlackMessage | None:
        """The mention's message or delivery intent, if any."""

    @abc.abstractmethod
    def slack_intents(self) -> list[SlackMessage]:
        """Intents without a confirmed message ``ts`` (a post whose outcome is unknown)."""

    @abc.abstractmethod
    def slack_intend(self, mention_id: int, channel: str) -> SlackMessage:
        """Record that the item's current state is about to be posted to ``channel``."""

    @abc.abstractmethod
    def slack_sent(
        self,
        mention_id: int,
        *,
        channel: str,
        ts: str,
        state: State,
        version: str | None,
        sig: str | None,
        is_open: bool,
    ) -> None:
        """Record the message (first delivery or update) and what it shows; ``version`` None
        means "render again on the next pass"."""

    @abc.abstractmethod
    def slack_forget(self, mention_id: int) -> None:
        """Drop an intent known not to have been posted (a confirmed message is kept)."""

    # approved-reply history (the responder's retrieval)
    @abc.abstractmethod
    def approved_since(
        self, after_id: int, model: str | None = None, limit: int = 1000
    ) -> list[StoredExample]:
        """Approved and edited replies with decision id above ``after_id``, oldest first,
        each with its stored embedding under ``model`` (None: no vectors read)."""

    @abc.abstractmethod
    def approved_floor(self, keep: int) -> int:
        """The decision id after which the newest ``keep`` approved replies lie (0: all)."""

    @abc.abstractmethod
    def save_example_embeddings(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        """Store ``(decision_id, float32 vector bytes)`` pairs computed with ``model``."""


@dataclass(frozen=True)
class SlackMessage:
    """One mention's Slack message, or the intent to post it (``ts`` None until confirmed)."""

    mention_id: int
    channel: str
    ts: str | None
    state: State
    episode: str
    """The item's ``state_changed_at`` when the intent was written: names this delivery."""
    version: str | None
    sig: str | None
    intent_at: datetime
    item_version: str
    """The item's change marker now; differs from ``version`` when it needs re-rendering."""
