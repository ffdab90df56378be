"""The Store interface: every read and write the pipeline, runner and approval code need.

SQL lives behind this interface (the SQLite implementation is :mod:`repbot.store.sqlite`), so a
PostgreSQL store with ``FOR UPDATE SKIP LOCKED`` claims can be added without touching callers.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from repbot.models import Mention, State
from repbot.respond.draft import ApprovedExample as ApprovedExample

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
    """What one ingest call stored."""

    new_ids: list[int]
    duplicates: int


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

    # ingest and cursors
    @abc.abstractmethod
    def ingest(self, source: str, mentions: list[Mention], cursor: str | None) -> IngestResult:
        """Store new mentions (deduped on platform+external_id) and the cursor, atomically."""

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
        """Items in ``state`` ready for work, oldest first (due retries only)."""

    @abc.abstractmethod
    def get(self, mention_id: int) -> Item:
        """One item; raises StoreError if absent."""

    @abc.abstractmethod
    def find(self, platform: str, external_id: str) -> Item | None:
        """The item for a platform id, if stored."""

    @abc.abstractmethod
    def set_classified(
        self, mention_id: int, analysis: dict[str, Any], skip_reason: str | None = None
    ) -> None:
        """new → classified (→ skipped when ``skip_reason``), storing the analysis."""

    @abc.abstractmethod
    def update_urgency(self, mention_id: int, urgency: float, explanation: list[Any]) -> None:
        """Re-score an item in place (ageing); no state change, no audit entry."""

    @abc.abstractmethod
    def hold(self, mention_id: int, reason: str, until: datetime) -> None:
        """Leave an item in its state but out of the workers' way until ``until``."""

    @abc.abstractmethod
    def skip(self, mention_id: int, reason: str) -> None:
        """Move to skipped (spam, irrelevant, no reply needed) with the reason."""

    @abc.abstractmethod
    def set_draft(self, mention_id: int, text: str, meta: dict[str, Any]) -> None:
        """classified → drafted, then drafted → awaiting_approval (two transitions)."""

    @abc.abstractmethod
    def record_failure(
        self, mention_id: int, error: str, max_attempts: int, retry_at: datetime
    ) -> None:
        """Count a failed attempt; after ``max_attempts`` the item moves to failed."""

    @abc.abstractmethod
    def requeue(self, mention_id: int, state: State) -> None:
        """Move a failed or skipped item back into the pipeline."""

    # approval
    @abc.abstractmethod
    def decide(
        self,
        mention_id: int,
        action: Action,
        actor: str,
        *,
        text: str | None = None,
        reason: str | None = None,
        snooze_until: datetime | None = None,
        dedupe_key: str | None = None,
        channel: str = "web",
    ) -> Decision:
        """Record a human decision and move the item; repeated ``dedupe_key`` → duplicate."""

    @abc.abstractmethod
    def wake_snoozed(self, now: datetime) -> list[int]:
        """Snoozed items whose time has come go back to awaiting_approval."""

    @abc.abstractmethod
    def decisions(self, mention_id: int | None = None, limit: int = 100) -> list[Decision]:
        """Decision history, newest first."""

    @abc.abstractmethod
    def approved_examples(self, limit: int = 200) -> list[ApprovedExample]:
        """Recent approved and edited replies, for the responder."""

    # posting
    @abc.abstractmethod
    def begin_post(self, mention_id: int) -> PostIntent:
        """approved → posting; write the idempotency key before the platform is called."""

    @abc.abstractmethod
    def complete_post(self, mention_id: int, external_id: str, url: str | None) -> None:
        """posting → posted with the platform's reply id and link."""

    @abc.abstractmethod
    def post_failed(self, mention_id: int, error: str, retry_at: datetime | None) -> None:
        """posting → approved (retry at ``retry_at``) or → failed when ``retry_at`` is None."""

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
        """Items, most urgent first."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of items per state."""

    @abc.abstractmethod
    def repeat_contacts(self, platform: str, author: str, since: datetime, before_id: int) -> int:
        """Earlier mentions by the same author on the platform since ``since``."""

    @abc.abstractmethod
    def response_times(self) -> dict[str, dict[str, float]]:
        """Seconds from ingest to draft, to decision and to post: count, p50, p95."""

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
