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
from typing import Any, ClassVar, Literal

from repbot.models import Mention, State
from repbot.respond.draft import ApprovedExample as ApprovedExample
from repbot.respond.history import StoredExample as StoredExample
from repbot.store.accounts import UserRecord as UserRecord
from repbot.store.feedback import FeedbackLabel as FeedbackLabel
from repbot.store.ops import OpsRow as OpsRow
from repbot.store.queueing import HistoryEntry, QueueCursor, QueueFilter, QueuePage
from repbot.store.threads import Revision, Turn

Action = Literal["approve", "edit", "reject", "snooze", "posted_manually", "undo"]


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
    post_after: datetime | None = None
    """An approved reply is not posted before this (the end of its undo window, or a retry)."""
    revisions: int = 0
    """How many times the author edited it since we first stored it (see ``Store.revisions``)."""
    original_rating: int | None = None
    """The rating before the first edit (``edited 1★ → 4★``); None when never edited."""
    revised_at: datetime | None = None
    conversation_id: int | None = None
    """The id of the conversation's first item, when the mention is part of one."""

    @property
    def sandbox_post(self) -> bool:
        """Whether its reply went to the local demo sandbox (nothing reached the platform)."""
        return (self.posted_url or "").startswith("sandbox://")

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
    revised_ids: list[int] = field(default_factory=list)
    """Stored mentions this page edited (a revision was kept)."""
    answered_ids: list[int] = field(default_factory=list)
    """Mentions (new or stored) that arrived with a reply already made on the platform."""

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

    shared: ClassVar[bool] = False
    """Whether other daemons may work on this store at the same time (PostgreSQL): then work
    another daemon has in flight is visible here and must be left to it for a while."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the database."""

    def hold_source(self, source: str) -> bool:
        """Whether this process polls ``source`` now. One process owns an embedded store, so
        always; a shared store answers with a per-source lease (one poller per source)."""
        return True

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
    def slack_intend(self, mention_id: int, channel: str) -> SlackMessage | None:
        """Claim the delivery of the item's draft to ``channel``: record the intent and return
        it, or None when the item no longer awaits approval or an intent or message for that
        state already exists (another daemon is delivering it or decided it meanwhile: this one
        must not post)."""

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

    # ---- section 13A: accounts, console sessions by account (issue 13, accounts) ----
    @abc.abstractmethod
    def user_add(
        self, name: str, role: str, password_hash: str, slack_user_id: str | None = None
    ) -> UserRecord:
        """Store a new account; StoreError when the name or Slack id is taken."""

    @abc.abstractmethod
    def user_get(self, name: str) -> UserRecord | None:
        """The account called ``name`` (as stored), or None."""

    @abc.abstractmethod
    def user_by_id(self, user_id: int) -> UserRecord | None:
        """The account with id ``user_id``, or None."""

    @abc.abstractmethod
    def user_by_slack(self, slack_user_id: str) -> UserRecord | None:
        """The account linked to the Slack user ``slack_user_id``, or None."""

    @abc.abstractmethod
    def users(self, after_id: int = 0, limit: int = 100) -> list[UserRecord]:
        """Accounts with id above ``after_id``, by id (keyset pages)."""

    @abc.abstractmethod
    def has_users(self) -> bool:
        """Whether any account (enabled or not) exists."""

    @abc.abstractmethod
    def user_update(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
        end_sessions: bool = False,
    ) -> UserRecord:
        """Change the given fields (``end_sessions``: bump the session epoch); StoreError when
        there is no such account."""

    @abc.abstractmethod
    def user_logged_in(self, user_id: int, at: datetime) -> None:
        """Record a successful sign-in."""

    # ---- end 13A ----

    # ---- section 13B: undo window, claims, bulk actions (issue 13, actions) ----
    @abc.abstractmethod
    def due_posts(self, now: datetime, limit: int) -> list[Item]:
        """Approved items whose ``post_after`` has come (undo window over, retry due), most
        urgent first; reads only the due rows (an index on ``post_after``)."""

    @abc.abstractmethod
    def set_post_after(self, mention_id: int, when: datetime) -> None:
        """Hold an approved item until ``when`` (its undo window); use inside ``batch()``."""

    @abc.abstractmethod
    def undo(
        self, mention_id: int, actor: str, *, channel: str, expected: Collection[State]
    ) -> Decision:
        """Compare-and-set: an approved item back to awaiting_approval, its final text kept as
        a new draft, recorded as an ``undo`` decision. Use :func:`repbot.workflow.undo`."""

    @abc.abstractmethod
    def claim(
        self,
        mention_id: int,
        identity: str,
        actor: str,
        *,
        now: datetime,
        expires: datetime,
        holder: str | None,
    ) -> Claim:
        """Compare-and-set a claim: taken when the live claim's holder (one that has not
        expired at ``now``) is ``holder`` (None: nobody) or ``identity``. Returns the live claim
        afterwards (another person's when this one lost), audited as ``claimed``."""

    @abc.abstractmethod
    def claims(self, mention_ids: Collection[int], now: datetime) -> dict[int, Claim]:
        """The live claims (not expired at ``now``) of ``mention_ids``."""

    @abc.abstractmethod
    def release_claim(self, mention_id: int, actor: str) -> bool:
        """Drop the item's claim (audited as ``claim_released`` when there was one)."""

    # ---- end 13B ----

    # ---- section 13C: queue pages, full-text search, customer history (issue 13, queue) ----
    @abc.abstractmethod
    def queue_page(
        self, where: QueueFilter, after: QueueCursor | None = None, limit: int = 50
    ) -> QueuePage:
        """One page of the queue in queue order (newest first when searching), after ``after``.

        Costs the same at any history size (keyset pages, no offsets). Raises SearchError when
        ``where.search`` cannot be searched.
        """

    @abc.abstractmethod
    def queue_entered(self, where: QueueFilter, since: datetime, limit: int = 100) -> list[int]:
        """Ids of items matching ``where`` that entered their state at or after ``since``."""

    @abc.abstractmethod
    def items(self, ids: Sequence[int]) -> list[Item]:
        """The items with these ids (missing ones left out), in the order given."""

    @abc.abstractmethod
    def facets(self) -> dict[str, list[str]]:
        """The platforms and intents seen (``{"platform": [...], "intent": [...]}``), sorted."""

    @abc.abstractmethod
    def customer_history(
        self, mention_id: int, *, limit: int = 20, across_platforms: bool = False
    ) -> list[HistoryEntry]:
        """The author's earlier mentions, newest first: on the same platform by handle, or on
        every platform with the identical handle when ``across_platforms``."""

    # ---- end 13C ----

    # ---- section 14: review revisions, conversations, replies made elsewhere (issue 14, core) ----
    @abc.abstractmethod
    def revisions(self, mention_id: int, limit: int = 20) -> list[Revision]:
        """The previous versions of an edited mention, newest first."""

    @abc.abstractmethod
    def conversation(self, mention_id: int, limit: int = 20) -> list[Turn]:
        """The last ``limit`` turns of the conversation ``mention_id`` is part of, oldest
        first (the mention itself included); ``[]`` when it is part of none."""

    @abc.abstractmethod
    def open_in_conversation(
        self, conversation_id: int, states: Collection[State], before_id: int
    ) -> int | None:
        """The earliest item of the conversation with an id below ``before_id`` in ``states``."""

    @abc.abstractmethod
    def open_by_author(
        self,
        platform: str,
        author: str,
        since: datetime,
        states: Collection[State],
        before_id: int,
    ) -> int | None:
        """The latest item by ``author`` on ``platform`` created since ``since``, in ``states``,
        with an id below ``before_id`` (a keyed walk of the author's recent mentions)."""

    @abc.abstractmethod
    def join_conversation(self, mention_id: int, into_id: int) -> int:
        """Put ``mention_id`` in the conversation of ``into_id`` (started there if it has none);
        returns the conversation id."""

    @abc.abstractmethod
    def close_answered(
        self,
        mention_id: int,
        reason: str,
        answered_at: datetime,
        url: str | None,
        *,
        to: State,
        expected: Collection[State],
    ) -> None:
        """Close an item answered on the platform: move it to ``to`` with ``reason``, its post
        time (the KPI clock's end) ``answered_at`` and link ``url``."""

    @abc.abstractmethod
    def reopen(
        self, mention_id: int, event: str, actor: str, *, to: State, expected: Collection[State]
    ) -> None:
        """Send an item back to ``to`` (an edit or a joined message needs a new draft), with a
        fresh attempt count."""

    # ---- end 14 ----

    # ---- section 15: feedback labels, answer library (issue 15) ----
    @abc.abstractmethod
    def add_feedback(
        self,
        mention_id: int,
        label: str,
        actor: str,
        *,
        channel: str,
        previous: str | None = None,
        reason: str | None = None,
    ) -> FeedbackLabel:
        """Record that ``actor`` (on ``channel``) labelled the mention ``label``."""

    @abc.abstractmethod
    def feedback_labels(self, after_id: int = 0, limit: int = 500) -> list[FeedbackLabel]:
        """Labels with an id above ``after_id``, oldest first, each with the mention's text
        (keyset paging: pass the last id back)."""

    # ---- end 15 ----

    # ---- section 16: KPIs, SLA, alerts state (issue 16) ----
    @abc.abstractmethod
    def mark_first_look(self, mention_id: int, at: datetime) -> bool:
        """Record the first time a human looked at the mention; later looks change nothing.
        True when this was the first look."""

    @abc.abstractmethod
    def ops_rows(
        self,
        since: datetime,
        until: datetime,
        *,
        after: tuple[datetime, int] | None = None,
        limit: int = 1000,
        states: Collection[str] | None = None,
    ) -> list[OpsRow]:
        """Mentions that arrived in ``[since, until)``, oldest first by ``(ingested_at, id)``;
        keyset paging: pass the last row's ``(ingested_at, id)`` as ``after`` (it replaces
        ``since``). ``states`` keeps only those states."""

    @abc.abstractmethod
    def last_ingested(self, source: str) -> datetime | None:
        """When the newest mention of ``source`` arrived (None: never)."""

    @abc.abstractmethod
    def alerts_between(
        self, since: datetime, until: datetime, kinds: Collection[str], limit: int = 200
    ) -> list[dict[str, Any]]:
        """Alerts of ``kinds`` recorded in ``[since, until)``, oldest first."""

    @abc.abstractmethod
    def alerts_after(self, after_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """Alerts with an id above ``after_id``, oldest first (keyset paging)."""

    @abc.abstractmethod
    def add_sla_alert(self, mention_id: int, level: str, source: str, message: str) -> bool:
        """Record the alert of SLA ``level`` (its alert kind) for the mention once: False,
        and nothing recorded, when that level was already alerted for it."""

    # ---- end 16 ----

    # ---- section 15J: answer library, draft provenance (issue 15, drafts) ----
    # ---- end 15J ----

    # ---- section 16L: metrics, readiness, backup (issue 16, operations) ----
    @abc.abstractmethod
    def event_counts(self) -> dict[str, dict[str, int]]:
        """Running totals kept by the store as events are recorded, read in O(1).

        ``{"decision": {action: n}, "alert": {kind: n}}``; never computed by scanning history.
        """

    @abc.abstractmethod
    def post_totals(self) -> dict[str, int]:
        """Replies posted so far, by source (from the per-month post counters)."""

    @abc.abstractmethod
    def check_writable(self) -> None:
        """Raise ``StoreError`` unless a write transaction can be opened now (readiness)."""

    # ---- end 16L ----


@dataclass(frozen=True)
class Claim:
    """One person working on an item (\"I'm on it\") until ``expires``."""

    mention_id: int
    identity: str
    actor: str
    claimed_at: datetime
    expires: datetime


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
