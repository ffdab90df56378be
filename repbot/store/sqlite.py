"""The embedded SQLite store (sqlite-utils, WAL mode, one file)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from repbot import workflow
from repbot.errors import StoreError
from repbot.models import Mention, State, utcnow
from repbot.secrets import redact
from repbot.store.accounts import UserRecord
from repbot.store.base import (
    Action,
    ApprovedExample,
    Claim,
    Decision,
    IngestResult,
    Item,
    PostIntent,
    PruneResult,
    SlackMessage,
    SourceStatus,
    Store,
    StoredExample,
)
from repbot.store.feedback import FeedbackLabel
from repbot.store.migrations import KPI_STAGES, MIGRATIONS, NEW_ORDER
from repbot.store.ops import OpsRow
from repbot.store.queueing import (
    HistoryEntry,
    QueueCursor,
    QueueFilter,
    QueuePage,
    SearchError,
    fts_query,
)
from repbot.store.rows import (
    IngestOutcome,
    claim_of,
    count_outcome,
    decided_fields,
    decision_of,
    from_iso,
    histogram_summary,
    history_entry_of,
    is_newer,
    is_revision,
    item_of,
    json_text,
    mention_to_json,
    ops_row_of,
    slack_message_of,
    to_iso,
    turn_of,
    user_of,
)
from repbot.store.threads import Revision, Turn

_ITEM_SQL = """
    SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta, r.raw_json
    FROM mentions m LEFT JOIN drafts d ON d.id = m.draft_id
    LEFT JOIN mention_raw r ON r.mention_id = m.id
"""
# Views (queue, console, Slack) do not read the raw payload: it is most of a mention's bytes.
_VIEW_SQL = """
    SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta
    FROM mentions m LEFT JOIN drafts d ON d.id = m.draft_id
"""
# The order each stage claims work in: most urgent first once urgency is known; before
# classification a cheap pre-score (lowest star rating first, then the widest audience).
_CLAIM_ORDER = {
    State.NEW: f"{NEW_ORDER}, m.id",
    State.CLASSIFIED: "m.urgency DESC, m.id",
    State.APPROVED: "m.urgency DESC, m.id",
}
_CLOSED_STATES = (State.POSTED, State.REJECTED, State.SKIPPED)
_CLOSED = "(" + ", ".join(f"'{s.value}'" for s in _CLOSED_STATES) + ")"


APPROVED_SINCE_SQL = (
    "SELECT d.id, json_extract(m.mention_json, '$.text') AS mention_text, m.platform,"
    " m.intent, d.text, d.action, e.dim, e.vector, d.mention_id,"
    " json_extract(m.mention_json, '$.author.display_name') AS author FROM decisions d"
    " JOIN mentions m ON m.id = d.mention_id"
    " LEFT JOIN example_embeddings e ON e.decision_id = d.id AND e.model = ?"
    " WHERE d.id > ? AND d.action IN ('approve', 'edit') ORDER BY d.id LIMIT ?"
)
"""Approved replies after a decision id, oldest first, with their vectors under one model."""


DUE_POSTS_SQL = (
    "WHERE m.id IN (SELECT id FROM mentions WHERE state = 'approved' AND post_after <= ?"
    " ORDER BY post_after LIMIT ?) ORDER BY m.urgency DESC, m.id"
)
"""The poster's query: the inner select walks only the due rows of ``mentions_post_due``."""


class SqliteStore(Store):
    """A :class:`Store` in one SQLite file. Use one instance per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._depth = 0
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if str(path) != ":memory:":
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # a new file only; see prune()
                self.db.enable_wal()
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot use store {path}: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        nested = self._depth > 0  # inside batch(): a savepoint, so a failed call undoes itself
        self.conn.execute("SAVEPOINT tx" if nested else "BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self.conn
        except BaseException:
            self._depth -= 1
            self.conn.execute("ROLLBACK TO tx" if nested else "ROLLBACK")
            if nested:
                self.conn.execute("RELEASE tx")
            raise
        self._depth -= 1
        self.conn.execute("RELEASE tx" if nested else "COMMIT")

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._tx():
            yield

    def _applied(self) -> set[int]:
        if "schema_migrations" not in self.db.table_names():
            return set()
        return {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations")}

    def _migrate(self) -> None:
        if {version for version, _, _ in MIGRATIONS} <= self._applied():
            return  # the usual case: no write lock taken
        # Checked again under the write lock: another process may be creating the same file.
        with self._tx() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = self._applied()
            for version, name, sql in sorted(MIGRATIONS):
                if version in done:
                    continue
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, name, to_iso(utcnow())),
                )

    def schema_version(self) -> int:
        """The highest applied migration."""
        row = self.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # ingest and cursors
    def ingest(self, source: str, mentions: list[Mention], cursor: str | None) -> IngestResult:
        now = to_iso(utcnow())
        result = IngestResult([], 0)
        with self._tx() as conn:
            for mention in mentions:
                try:
                    outcome = self._ingest_one(conn, source, mention, now)
                except _UNSTORABLE as exc:
                    result.rejected.append(redact(f"{mention.external_id[:80]!r}: {exc}"[:300]))
                    continue
                count_outcome(result, outcome)
            if cursor is not None:
                conn.execute(
                    "INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,"
                    " updated_at = excluded.updated_at",
                    (source, cursor, now),
                )
            if result.new_ids:
                self._audit(conn, None, "ingested", f"source:{source}", count=len(result.new_ids))
        duplicates = len(mentions) - len(result.new_ids) - len(result.rejected)
        return replace(result, duplicates=duplicates - len(result.revised_ids))

    def _ingest_one(
        self, conn: sqlite3.Connection, source: str, mention: Mention, now: str | None
    ) -> IngestOutcome:
        """Store one mention inside its own savepoint: new, a revision, or a duplicate."""
        row = (
            source,
            mention.platform,
            mention.external_id,
            mention.author.handle.lower(),
            to_iso(mention.created_at),
            now,
            mention_to_json(mention),
            now,
        )
        raw = json.dumps(mention.raw, separators=(",", ":"), default=str) if mention.raw else None
        conn.execute("SAVEPOINT ingest_one")
        try:
            cur = conn.execute(
                "INSERT INTO mentions (source, platform, external_id, author_handle,"
                " created_at, ingested_at, mention_json, state, state_changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?)"
                " ON CONFLICT (platform, external_id) DO NOTHING",
                row,
            )
            if cur.rowcount:
                new_id = int(cur.lastrowid or 0)
                if raw is not None:
                    conn.execute(
                        "INSERT INTO mention_raw (mention_id, raw_json) VALUES (?, ?)",
                        (new_id, raw),
                    )
                self._link_thread(conn, new_id, mention)
                outcome = IngestOutcome(new_id, True, False, mention.owner_reply is not None)
            else:
                outcome = self._update_existing(conn, mention, raw, now)
        except BaseException:
            try:
                conn.execute("ROLLBACK TO ingest_one")
                conn.execute("RELEASE ingest_one")
            except sqlite3.Error:
                pass  # SQLite already rolled the whole transaction back; the caller's error wins
            raise
        conn.execute("RELEASE ingest_one")
        return outcome

    def _update_existing(
        self, conn: sqlite3.Connection, mention: Mention, raw: str | None, now: str | None
    ) -> IngestOutcome:
        """A re-sent mention: keep a revision when the author edited it, note a reply made on
        the platform, else nothing (a duplicate costs one keyed read)."""
        row = conn.execute(
            "SELECT id, state, mention_json FROM mentions WHERE platform = ? AND external_id = ?",
            (mention.platform, mention.external_id),
        ).fetchone()
        old = json.loads(row["mention_json"])
        revised = is_revision(old, mention)
        answered = mention.owner_reply is not None and old.get("owner_reply") is None
        newer = is_newer(mention.updated_at, from_iso(old.get("updated_at")))
        if not (revised or answered or newer):
            return IngestOutcome(row["id"], False, False, False)
        if mention.owner_reply is None and old.get("owner_reply") is not None:
            mention = mention.model_copy(update={"owner_reply": old["owner_reply"]})
        conn.execute(
            "UPDATE mentions SET mention_json = ? WHERE id = ?",
            (mention_to_json(mention), row["id"]),
        )
        if raw is not None:
            conn.execute(
                "INSERT INTO mention_raw (mention_id, raw_json) VALUES (?, ?)"
                " ON CONFLICT (mention_id) DO UPDATE SET raw_json = excluded.raw_json",
                (row["id"], raw),
            )
        if revised:
            self._revise(conn, row["id"], row["state"], old, mention, now)
        return IngestOutcome(row["id"], False, revised, answered)

    def _revise(
        self,
        conn: sqlite3.Connection,
        mention_id: int,
        state: str,
        old: dict[str, Any],
        mention: Mention,
        now: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO mention_revisions (mention_id, text, title, rating, updated_at, state,"
            " seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                mention_id,
                old.get("text", ""),
                old.get("title"),
                old.get("rating"),
                old.get("updated_at"),
                state,
                now,
            ),
        )
        conn.execute(
            "UPDATE mentions SET revisions = revisions + 1, revised_at = ?,"
            " original_rating = CASE WHEN revisions = 0 THEN ? ELSE original_rating END"
            " WHERE id = ?",
            (now, old.get("rating"), mention_id),
        )
        # A closed Slack message shows the edit too: it is re-rendered once.
        conn.execute(
            "UPDATE slack_messages SET is_open = 1 WHERE mention_id = ? AND ts IS NOT NULL",
            (mention_id,),
        )
        self._audit(
            conn,
            mention_id,
            "revised",
            "author",
            state=state,
            rating_from=old.get("rating"),
            rating_to=mention.rating,
            updated_at=to_iso(mention.updated_at),
        )

    @staticmethod
    def _link_thread(conn: sqlite3.Connection, mention_id: int, mention: Mention) -> None:
        """Join a new mention to the conversation its parent (or root) belongs to: a mention
        we hold, or a reply we posted. Keyed look-ups only."""
        for ref in dict.fromkeys(r for r in (mention.thread.parent, mention.thread.root) if r):
            found = conn.execute(_HELD_SQL, (mention.platform, ref)).fetchone()
            found = found or conn.execute(_OUR_REPLY_SQL, (ref, mention.platform)).fetchone()
            if found is not None and found["id"] != mention_id:
                conversation = found["conversation_id"] or found["id"]
                conn.execute(
                    "UPDATE mentions SET conversation_id = ? WHERE id IN (?, ?)"
                    " AND conversation_id IS NULL",
                    (conversation, mention_id, found["id"]),
                )
                return

    def get_cursor(self, source: str) -> str | None:
        row = self.conn.execute("SELECT cursor FROM cursors WHERE source = ?", (source,)).fetchone()
        return row["cursor"] if row else None

    def record_source_result(
        self, source: str, error: str | None = None, disable: bool = False
    ) -> None:
        now = to_iso(utcnow())
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO cursors (source) VALUES (?)", (source,))
            if error is None:
                conn.execute(
                    "UPDATE cursors SET last_success = ?, failures = 0, last_error = NULL"
                    " WHERE source = ?",
                    (now, source),
                )
                return
            conn.execute(
                "UPDATE cursors SET last_error = ?, failures = failures + 1,"
                " disabled = max(disabled, ?), disabled_reason = coalesce(?, disabled_reason)"
                " WHERE source = ?",
                (redact(error), int(disable), redact(error) if disable else None, source),
            )

    def enable_source(self, source: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE cursors SET disabled = 0, disabled_reason = NULL, failures = 0"
                " WHERE source = ?",
                (source,),
            )
            self._audit(conn, None, "source_enabled", "operator", source=source)

    def source_status(self) -> list[SourceStatus]:
        rows = self.conn.execute("SELECT * FROM cursors ORDER BY source").fetchall()
        return [
            SourceStatus(
                source=r["source"],
                cursor=r["cursor"],
                last_success=from_iso(r["last_success"]),
                last_error=r["last_error"],
                failures=r["failures"],
                disabled=bool(r["disabled"]),
                disabled_reason=r["disabled_reason"],
            )
            for r in rows
        ]

    # pipeline
    def pending(self, state: State, limit: int, now: datetime | None = None) -> list[Item]:
        due = to_iso(now or utcnow())
        # The state is spelled out (an enum value) so SQLite can use the stage's partial index.
        rows = self.conn.execute(
            f"{_ITEM_SQL} WHERE m.state = '{state.value}' AND (m.next_attempt_at IS NULL"
            f" OR m.next_attempt_at <= ?) ORDER BY {_CLAIM_ORDER.get(state, 'm.id')} LIMIT ?",
            (due, limit),
        ).fetchall()
        return [item_of(r) for r in rows]

    def get(self, mention_id: int) -> Item:
        row = self.conn.execute(f"{_ITEM_SQL} WHERE m.id = ?", (mention_id,)).fetchone()
        if row is None:
            raise StoreError(f"no mention with id {mention_id}")
        return item_of(row)

    def find(self, platform: str, external_id: str) -> Item | None:
        row = self.conn.execute(
            f"{_ITEM_SQL} WHERE m.platform = ? AND m.external_id = ?", (platform, external_id)
        ).fetchone()
        return item_of(row) if row else None

    def set_classified(
        self,
        mention_id: int,
        analysis: dict[str, Any],
        skip_reason: str | None = None,
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        with self._tx() as conn:
            self._move(
                conn,
                mention_id,
                State.CLASSIFIED,
                expected,
                "classified",
                "pipeline",
                sentiment=analysis.get("label"),
                intent=analysis.get("intent"),
                urgency=analysis.get("urgency"),
                analysis_json=json_text(analysis),
                classified_at=to_iso(utcnow()),
                attempts=0,
                last_error=None,
                next_attempt_at=None,
            )
            if skip_reason:
                self._move(
                    conn,
                    mention_id,
                    State.SKIPPED,
                    {State.CLASSIFIED},
                    "skipped",
                    "pipeline",
                    skip_reason=skip_reason,
                )

    def update_urgency(self, mention_id: int, urgency: float, explanation: list[Any]) -> None:
        with self._tx() as conn:
            row = self._row(conn, mention_id)
            analysis = json.loads(row["analysis_json"] or "{}")
            analysis.update(urgency=urgency, explanation=explanation)
            conn.execute(
                "UPDATE mentions SET urgency = ?, analysis_json = ? WHERE id = ?",
                (urgency, json_text(analysis), mention_id),
            )

    def hold(self, mention_id: int, reason: str, until: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE mentions SET last_error = ?, next_attempt_at = ?, post_after = ?"
                " WHERE id = ?",
                (reason, to_iso(until), to_iso(until), mention_id),
            )
            self._audit(conn, mention_id, "held", "poster", reason=reason, until=to_iso(until))

    def skip(
        self, mention_id: int, reason: str, *, expected: Collection[State] | None = None
    ) -> None:
        with self._tx() as conn:
            self._move(
                conn, mention_id, State.SKIPPED, expected, "skipped", "pipeline", skip_reason=reason
            )

    def set_draft(
        self,
        mention_id: int,
        text: str,
        meta: dict[str, Any],
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        now = to_iso(utcnow())
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO drafts (mention_id, text, meta_json, created_at) VALUES (?, ?, ?, ?)",
                (mention_id, text, json_text(meta), now),
            )
            self._move(
                conn,
                mention_id,
                State.DRAFTED,
                expected,
                "drafted",
                "pipeline",
                draft_id=cur.lastrowid,
                drafted_at=now,
                attempts=0,
                last_error=None,
                next_attempt_at=None,
            )
            self._move(
                conn,
                mention_id,
                State.AWAITING_APPROVAL,
                {State.DRAFTED},
                "awaiting_approval",
                "pipeline",
            )

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
        error = redact(error)[:2000]
        fields = {"attempts": attempts, "last_error": error, "next_attempt_at": to_iso(retry_at)}
        with self._tx() as conn:
            current = State(self._row(conn, mention_id)["state"])
            if to is not current:
                self._move(conn, mention_id, to, expected, "failed", "pipeline", **fields)
                return
            workflow.check(mention_id, current, expected)
            self._set(conn, mention_id, fields)
            self._audit(conn, mention_id, "attempt_failed", "pipeline", error=error)

    def requeue(self, mention_id: int, state: State, *, expected: Collection[State]) -> None:
        with self._tx() as conn:
            self._move(
                conn,
                mention_id,
                state,
                expected,
                "requeued",
                "operator",
                attempts=0,
                last_error=None,
                next_attempt_at=None,
                **({"post_after": to_iso(utcnow())} if state is State.APPROVED else {}),
            )

    # approval
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
        now = utcnow()
        with self._tx() as conn:
            if dedupe_key:
                existing = conn.execute(
                    "SELECT * FROM decisions WHERE dedupe_key = ?", (dedupe_key,)
                ).fetchone()
                if existing:
                    return decision_of(existing, duplicate=True)
            cur = conn.execute(  # undone with the move when the item is not in ``expected``
                "INSERT INTO decisions (mention_id, action, actor, channel, text, reason,"
                " dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (mention_id, action, actor, channel, text, reason, dedupe_key, to_iso(now)),
            )
            fields = decided_fields(to, now, actor, text, snooze_until, posted_url)
            self._move(conn, mention_id, to, expected, action, actor, **fields)
            decision_row = conn.execute(
                "SELECT * FROM decisions WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return decision_of(decision_row)

    def wake_snoozed(
        self, now: datetime, *, expected: Collection[State] | None = None
    ) -> list[int]:
        rows = self.conn.execute(
            "SELECT id FROM mentions WHERE state = 'snoozed' AND snooze_until <= ?", (to_iso(now),)
        ).fetchall()
        woken = []
        for row in rows:
            with self._tx() as conn:
                current = self._row(conn, row["id"])
                if current["state"] != State.SNOOZED.value:
                    continue  # decided since the select: nothing to wake
                self._move(
                    conn,
                    row["id"],
                    State.AWAITING_APPROVAL,
                    expected,
                    "snooze_ended",
                    "scheduler",
                    snooze_until=None,
                )
            woken.append(int(row["id"]))
        return woken

    def decisions(self, mention_id: int | None = None, limit: int = 100) -> list[Decision]:
        where, args = ("WHERE mention_id = ?", [mention_id]) if mention_id else ("", [])
        rows = self.conn.execute(
            f"SELECT * FROM decisions {where} ORDER BY id DESC LIMIT ?", (*args, limit)
        ).fetchall()
        return [decision_of(r) for r in rows]

    def approved_examples(self, limit: int = 200) -> list[ApprovedExample]:
        rows = self.conn.execute(
            "SELECT m.mention_json, m.platform, m.intent, d.text, d.action FROM decisions d"
            " JOIN mentions m ON m.id = d.mention_id WHERE d.action IN ('approve', 'edit')"
            " ORDER BY d.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            ApprovedExample(
                mention_text=json.loads(r["mention_json"]).get("text", ""),
                reply_text=r["text"] or "",
                edited=r["action"] == "edit",
                platform=r["platform"],
                intent=r["intent"] or "",
            )
            for r in rows
        ]

    def approved_since(
        self, after_id: int, model: str | None = None, limit: int = 1000
    ) -> list[StoredExample]:
        rows = self.conn.execute(APPROVED_SINCE_SQL, (model or "", after_id, limit)).fetchall()
        return [
            StoredExample(
                decision_id=r["id"],
                example=ApprovedExample(
                    mention_text=r["mention_text"] or "",
                    reply_text=r["text"] or "",
                    edited=r["action"] == "edit",
                    platform=r["platform"],
                    intent=r["intent"] or "",
                    mention_id=r["mention_id"],
                    author=r["author"] or "",
                ),
                vector=r["vector"] if model else None,
                dim=r["dim"] or 0,
            )
            for r in rows
        ]

    def approved_floor(self, keep: int) -> int:
        row = self.conn.execute(
            "SELECT id FROM decisions WHERE action IN ('approve', 'edit')"
            " ORDER BY id DESC LIMIT 1 OFFSET ?",
            (keep,),
        ).fetchone()
        return int(row[0]) if row else 0

    def save_example_embeddings(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        with self._tx() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO example_embeddings (decision_id, model, dim, vector)"
                " VALUES (?, ?, ?, ?)",
                [(decision_id, model, len(blob) // 4, blob) for decision_id, blob in vectors],
            )

    # posting
    def begin_post(
        self, mention_id: int, *, expected: Collection[State] | None = None
    ) -> PostIntent:
        now = to_iso(utcnow())
        with self._tx() as conn:
            row = self._row(conn, mention_id)
            allowed = workflow.sources(State.POSTING) if expected is None else expected
            workflow.check(mention_id, State(row["state"]), allowed)
            text = row["final_text"]
            if not text:
                raise StoreError(f"mention {mention_id} has no approved text")
            key = f"repbot-{mention_id}"
            conn.execute(
                "INSERT INTO posts (mention_id, idempotency_key, source, text, status, created_at)"
                " VALUES (?, ?, ?, ?, 'intent', ?) ON CONFLICT (idempotency_key) DO UPDATE SET"
                " status = 'intent', attempts = attempts + 1, text = excluded.text",
                (mention_id, key, row["source"], text, now),
            )
            self._move(conn, mention_id, State.POSTING, expected, "posting", "poster")
            attempts = conn.execute(
                "SELECT attempts FROM posts WHERE idempotency_key = ?", (key,)
            ).fetchone()[0]
        return PostIntent(mention_id, key, text, int(attempts))

    def complete_post(
        self,
        mention_id: int,
        external_id: str,
        url: str | None,
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        now = to_iso(utcnow())
        with self._tx() as conn:
            conn.execute(
                "UPDATE posts SET status = 'posted', external_id = ?, url = ?, finished_at = ?"
                " WHERE mention_id = ? AND status = 'intent'",
                (external_id, url, now, mention_id),
            )
            self._move(
                conn,
                mention_id,
                State.POSTED,
                expected,
                "posted",
                "poster",
                posted_at=now,
                posted_url=url,
                last_error=None,
            )

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
        error = redact(error)[:2000]
        event = "post_failed" if retry_at is None else "post_retry"
        with self._tx() as conn:
            conn.execute(
                "UPDATE posts SET status = 'failed', last_error = ?, finished_at = ?"
                " WHERE mention_id = ? AND status = 'intent'",
                (error, to_iso(utcnow()), mention_id),
            )
            fields: dict[str, Any] = {"last_error": error, "attempts": attempts}
            if retry_at is not None:
                fields["next_attempt_at"] = fields["post_after"] = to_iso(retry_at)
            self._move(conn, mention_id, to, expected, event, "poster", **fields)

    def in_flight_posts(self) -> list[PostIntent]:
        rows = self.conn.execute(
            "SELECT p.* FROM posts p JOIN mentions m ON m.id = p.mention_id"
            " WHERE p.status = 'intent' AND m.state = 'posting'"
        ).fetchall()
        return [
            PostIntent(r["mention_id"], r["idempotency_key"], r["text"], r["attempts"])
            for r in rows
        ]

    def posts_this_month(self, source: str, now: datetime) -> int:
        # A counter per source and UTC month, kept by triggers on ``posts``: no counting.
        row = self.conn.execute(
            "SELECT n FROM post_counts WHERE source = ? AND month = ?",
            (source, now.astimezone(UTC).strftime("%Y-%m")),
        ).fetchone()
        return int(row[0]) if row else 0

    # views
    def queue(
        self,
        states: list[State] | None = None,
        platform: str | None = None,
        intent: str | None = None,
        limit: int = 100,
    ) -> list[Item]:
        # "+" keeps SQLite from filtering on a column's index and sorting afterwards: each
        # query walks an urgency index and stops after ``limit`` rows.
        clauses, args = [], []
        if platform:
            clauses.append("+m.platform = ?")
            args.append(platform)
        if intent:
            clauses.append("+m.intent = ?")
            args.append(intent)
        if not states:
            return [item_of(r) for r in self._view(clauses, args, limit)]
        rows = [
            row
            for state in dict.fromkeys(states)
            for row in self._view([*clauses, "m.state = ?"], [*args, state.value], limit)
        ]
        rows.sort(key=lambda r: (r["urgency"] is None, -(r["urgency"] or 0.0), -r["id"]))
        return [item_of(r) for r in rows[:limit]]

    def _view(self, clauses: list[str], args: list[Any], limit: int) -> list[sqlite3.Row]:
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # NULL urgency sorts last in DESC order, so this is "most urgent, unscored last".
        return self.conn.execute(
            f"{_VIEW_SQL} {where} ORDER BY m.urgency DESC, m.id DESC LIMIT ?", (*args, limit)
        ).fetchall()

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, n FROM state_counts WHERE n > 0")
        return {r["state"]: r["n"] for r in rows}

    def repeat_contacts(self, platform: str, author: str, since: datetime, before_id: int) -> int:
        if not author:
            return 0
        row = self.conn.execute(
            "SELECT count(*) FROM mentions WHERE platform = ? AND author_handle = ?"
            " AND created_at >= ? AND id < ?",
            (platform, author.lower(), to_iso(since), before_id),
        ).fetchone()
        return int(row[0])

    def response_times(self) -> dict[str, dict[str, float]]:
        # Triggers keep a histogram per stage (buckets 2 % wide); reading it costs the same at
        # any history size.
        rows = self.conn.execute(
            "SELECT stage, lo, hi, n FROM (SELECT stage, lo, n, lead(lo) OVER"
            " (PARTITION BY stage ORDER BY lo) AS hi FROM kpi_hist) WHERE n > 0 ORDER BY stage, lo"
        ).fetchall()
        buckets: dict[str, list[tuple[int, int, int]]] = {stage: [] for stage in KPI_STAGES}
        for r in rows:
            buckets[r["stage"]].append((r["lo"], r["hi"] or r["lo"] + 1, r["n"]))
        return {stage: histogram_summary(b) for stage, b in buckets.items()}

    # alerts and audit
    def add_alert(self, source: str, kind: str, message: str) -> None:
        message = redact(message)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO alerts (at, source, kind, message) VALUES (?, ?, ?, ?)",
                (to_iso(utcnow()), source, kind, message),
            )
            self._audit(conn, None, f"alert:{kind}", f"source:{source}", message=message)

    def alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM alerts ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    def audit_log(self, mention_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        where, args = ("WHERE mention_id = ?", [mention_id]) if mention_id else ("", [])
        rows = self.conn.execute(
            f"SELECT * FROM audit {where} ORDER BY id LIMIT ?", (*args, limit)
        ).fetchall()
        return [{**dict(r), "detail": json.loads(r["detail_json"])} for r in rows]

    def audit(self, event: str, actor: str, mention_id: int | None = None, **detail: Any) -> None:
        with self._tx() as conn:
            self._audit(conn, mention_id, event, actor, **detail)

    def prune(
        self, raw_before: datetime | None, audit_before: datetime | None, chunk: int = 2000
    ) -> PruneResult:
        top = int(self.conn.execute("SELECT coalesce(max(id), 0) FROM mentions").fetchone()[0])
        raw = audit = 0
        for low in range(0, top, chunk):
            with self._tx() as conn:  # short transactions: the daemon keeps writing meanwhile
                raw += self._prune_raw(conn, (low, low + chunk), raw_before)
                audit += self._prune_audit(conn, (low, low + chunk), audit_before)
        if audit_before is not None:
            audit += self._prune_unattached_audit(audit_before, chunk)
        with self._tx() as conn:
            self._audit(
                conn,
                None,
                "pruned",
                "operator",
                raw_before=to_iso(raw_before),
                audit_before=to_iso(audit_before),
                raw_payloads=raw,
                audit_rows=audit,
            )
        return PruneResult(raw, audit, self._incremental_vacuum())

    @staticmethod
    def _closed_between(ids: tuple[int, int]) -> tuple[str, tuple[int, int]]:
        sql = (
            "SELECT id FROM mentions WHERE id > ? AND id <= ?"
            f" AND state IN {_CLOSED} AND state_changed_at < ?"
        )
        return sql, ids

    def _prune_raw(
        self, conn: sqlite3.Connection, ids: tuple[int, int], before: datetime | None
    ) -> int:
        if before is None:
            return 0
        closed, args = self._closed_between(ids)
        cur = conn.execute(
            f"DELETE FROM mention_raw WHERE mention_id IN ({closed})", (*args, to_iso(before))
        )
        return cur.rowcount

    def _prune_audit(
        self, conn: sqlite3.Connection, ids: tuple[int, int], before: datetime | None
    ) -> int:
        if before is None:
            return 0
        closed, args = self._closed_between(ids)
        # The append-only trigger lets a row go only while a grant older than it exists, and
        # the grant never outlives this transaction.
        conn.execute("INSERT INTO prune_grant (cutoff) VALUES (?)", (to_iso(before),))
        cur = conn.execute(
            f"DELETE FROM audit WHERE mention_id IN ({closed}) AND at < ?",
            (*args, to_iso(before), to_iso(before)),
        )
        conn.execute("DELETE FROM prune_grant")
        return cur.rowcount

    def _prune_unattached_audit(self, before: datetime, chunk: int) -> int:
        """Entries of no mention (ingest counts, alerts) older than ``before`` and than every
        open item, whose ingest they may record."""
        cutoff = to_iso(before) or ""
        for state in State:
            if state in _CLOSED_STATES:
                continue
            row = self.conn.execute(
                "SELECT min(ingested_at) FROM mentions WHERE state = ?", (state.value,)
            ).fetchone()
            cutoff = min(cutoff, row[0] or cutoff)
        removed = 0
        while True:
            with self._tx() as conn:
                conn.execute("INSERT INTO prune_grant (cutoff) VALUES (?)", (cutoff,))
                cur = conn.execute(
                    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE mention_id IS NULL"
                    " AND at < ? ORDER BY id LIMIT ?)",
                    (cutoff, chunk),
                )
                conn.execute("DELETE FROM prune_grant")
            removed += cur.rowcount
            if cur.rowcount < chunk:
                return removed

    def _incremental_vacuum(self, step: int = 2000) -> int:
        """Give freed pages back to the file system (stores created with auto_vacuum only)."""
        if self.conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            return 0
        freed = 0
        while (free := int(self.conn.execute("PRAGMA freelist_count").fetchone()[0])) > 0:
            self.conn.execute(f"PRAGMA incremental_vacuum({min(step, free)})").fetchall()
            freed += min(step, free)
        return freed

    def vacuum(self) -> None:
        """Rewrite the whole file (needs free disk of about its size and an exclusive lock);
        an older store also switches to incremental auto-vacuum, so later prunes shrink it."""
        self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self.conn.execute("VACUUM")

    def kv_get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def kv_set(self, key: str, value: str | None) -> None:
        with self._tx() as conn:
            if value is None:
                conn.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    # Slack delivery
    def slack_undelivered(self, limit: int) -> list[tuple[Item, str]]:
        rows = self.conn.execute(
            "SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta,"
            f" {_SLACK_VERSION} AS item_version"
            " FROM mentions m LEFT JOIN drafts d ON d.id = m.draft_id"
            " WHERE m.state = 'awaiting_approval' AND NOT EXISTS (SELECT 1 FROM slack_messages s"
            " WHERE s.mention_id = m.id AND s.state = 'awaiting_approval')"
            " ORDER BY m.urgency DESC, m.id DESC LIMIT ?",  # NULL urgency sorts last
            (limit,),
        ).fetchall()
        return [(item_of(r), str(r["item_version"])) for r in rows]

    def slack_changed(self, limit: int) -> list[SlackMessage]:
        rows = self.conn.execute(
            f"SELECT {_SLACK_COLUMNS} FROM slack_messages s JOIN mentions m ON m.id = s.mention_id"
            " WHERE s.is_open = 1 AND s.ts IS NOT NULL"
            f" AND (s.version IS NULL OR s.version <> {_SLACK_VERSION})"
            " ORDER BY s.mention_id LIMIT ?",
            (limit,),
        ).fetchall()
        return [slack_message_of(r) for r in rows]

    def slack_message(self, mention_id: int) -> SlackMessage | None:
        row = self.conn.execute(
            f"SELECT {_SLACK_COLUMNS} FROM slack_messages s JOIN mentions m ON m.id = s.mention_id"
            " WHERE s.mention_id = ?",
            (mention_id,),
        ).fetchone()
        return slack_message_of(row) if row else None

    def slack_intents(self) -> list[SlackMessage]:
        rows = self.conn.execute(
            f"SELECT {_SLACK_COLUMNS} FROM slack_messages s JOIN mentions m ON m.id = s.mention_id"
            " WHERE s.ts IS NULL ORDER BY s.intent_at"
        ).fetchall()
        return [slack_message_of(r) for r in rows]

    def slack_intend(self, mention_id: int, channel: str) -> SlackMessage | None:
        with self._tx() as conn:
            claimed = conn.execute(
                "INSERT INTO slack_messages (mention_id, channel, ts, state, episode, version,"
                " sig, is_open, intent_at, sent_at) SELECT id, ?, NULL, state, state_changed_at,"
                " NULL, NULL, 1, ?, NULL FROM mentions WHERE id = ? AND state = 'awaiting_approval'"
                " ON CONFLICT (mention_id) DO UPDATE SET channel = excluded.channel, ts = NULL,"
                " state = excluded.state, episode = excluded.episode, version = NULL, sig = NULL,"
                " is_open = 1, intent_at = excluded.intent_at, sent_at = NULL"
                " WHERE slack_messages.state <> excluded.state RETURNING mention_id",
                (channel, to_iso(utcnow()), mention_id),
            ).fetchone()
        if claimed is None:
            self.get(mention_id)  # StoreError when there is no such mention
            return None
        return self.slack_message(mention_id)

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
        with self._tx() as conn:
            row = conn.execute(
                "SELECT ts FROM slack_messages WHERE mention_id = ?", (mention_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no Slack message or intent for mention {mention_id}")
            conn.execute(
                "UPDATE slack_messages SET channel = ?, ts = ?, state = ?, version = ?, sig = ?,"
                " is_open = ?, sent_at = coalesce(sent_at, ?) WHERE mention_id = ?",
                (
                    channel,
                    ts,
                    state.value,
                    version,
                    sig,
                    int(is_open),
                    to_iso(utcnow()),
                    mention_id,
                ),
            )
            if row["ts"] is None:
                self._audit(conn, mention_id, "slack_delivered", "slack", channel=channel)

    def slack_forget(self, mention_id: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM slack_messages WHERE mention_id = ? AND ts IS NULL", (mention_id,)
            )

    # internals
    def _row(self, conn: sqlite3.Connection, mention_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        if row is None:
            raise StoreError(f"no mention with id {mention_id}")
        return row  # type: ignore[no-any-return]

    def _move(
        self,
        conn: sqlite3.Connection,
        mention_id: int,
        to: State,
        expected: Collection[State] | None,
        event: str,
        actor: str,
        **fields: Any,
    ) -> None:
        """Compare-and-set: move to ``to`` if the row is in ``expected`` (default: any state
        the workflow lets enter ``to``), else raise InvalidTransition."""
        current = State(self._row(conn, mention_id)["state"])
        allowed = workflow.sources(to) if expected is None else expected
        workflow.check(mention_id, current, allowed)
        fields.update(state=to.value, state_changed_at=to_iso(utcnow()))
        self._set(conn, mention_id, fields)
        self._audit(conn, mention_id, event, actor, from_state=current.value, to_state=to.value)

    @staticmethod
    def _set(conn: sqlite3.Connection, mention_id: int, fields: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(
            f"UPDATE mentions SET {assignments} WHERE id = ?", (*fields.values(), mention_id)
        )

    @staticmethod
    def _audit(
        conn: sqlite3.Connection, mention_id: int | None, event: str, actor: str, **detail: Any
    ) -> None:
        conn.execute(
            "INSERT INTO audit (at, mention_id, event, actor, detail_json) VALUES (?, ?, ?, ?, ?)",
            (to_iso(utcnow()), mention_id, event, actor, redact(json_text(detail))),
        )

    # ---- section 13A: accounts, console sessions by account (issue 13, accounts) ----
    def user_add(
        self, name: str, role: str, password_hash: str, slack_user_id: str | None = None
    ) -> UserRecord:
        try:
            with self._tx() as conn:
                cur = conn.execute(
                    "INSERT INTO users (name, role, password_hash, slack_user_id, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (name, role, password_hash, slack_user_id, to_iso(utcnow())),
                )
        except sqlite3.IntegrityError as exc:
            taken = "Slack user" if "slack_user_id" in str(exc) else "name"
            raise StoreError(f"an account with this {taken} already exists") from exc
        return self._user_where("id = ?", int(cur.lastrowid or 0))  # type: ignore[return-value]

    def user_get(self, name: str) -> UserRecord | None:
        return self._user_where("name = ?", name)

    def user_by_id(self, user_id: int) -> UserRecord | None:
        return self._user_where("id = ?", user_id)

    def user_by_slack(self, slack_user_id: str) -> UserRecord | None:
        return self._user_where("slack_user_id = ?", slack_user_id)

    def users(self, after_id: int = 0, limit: int = 100) -> list[UserRecord]:
        rows = self.conn.execute(
            "SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [user_of(r) for r in rows]

    def has_users(self) -> bool:
        return self.conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def user_update(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
        end_sessions: bool = False,
    ) -> UserRecord:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE users SET role = coalesce(?, role),"
                " password_hash = coalesce(?, password_hash),"
                " disabled = coalesce(?, disabled), session_epoch = session_epoch + ?"
                " WHERE id = ?",
                (role, password_hash, disabled, int(end_sessions), user_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"no account with id {user_id}")
        return self._user_where("id = ?", user_id)  # type: ignore[return-value]

    def user_logged_in(self, user_id: int, at: datetime) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (to_iso(at), user_id))

    def _user_where(self, where: str, value: object) -> UserRecord | None:
        row = self.conn.execute(f"SELECT * FROM users WHERE {where}", (value,)).fetchone()
        return user_of(row) if row else None

    # ---- end 13A ----

    # ---- section 13B: undo window, claims, bulk actions (issue 13, actions) ----
    def due_posts(self, now: datetime, limit: int) -> list[Item]:
        rows = self.conn.execute(f"{_ITEM_SQL} {DUE_POSTS_SQL}", (to_iso(now), limit)).fetchall()
        return [item_of(r) for r in rows]

    def set_post_after(self, mention_id: int, when: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE mentions SET post_after = ? WHERE id = ?", (to_iso(when), mention_id)
            )

    def undo(
        self, mention_id: int, actor: str, *, channel: str, expected: Collection[State]
    ) -> Decision:
        now = to_iso(utcnow())
        with self._tx() as conn:
            row = conn.execute(
                "SELECT m.final_text, d.meta_json FROM mentions m"
                " LEFT JOIN drafts d ON d.id = m.draft_id WHERE m.id = ?",
                (mention_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no mention with id {mention_id}")
            cur = conn.execute(
                "INSERT INTO decisions (mention_id, action, actor, channel, text, created_at)"
                " VALUES (?, 'undo', ?, ?, ?, ?)",
                (mention_id, actor, channel, row["final_text"], now),
            )
            draft = conn.execute(
                "INSERT INTO drafts (mention_id, text, meta_json, created_at) VALUES (?, ?, ?, ?)",
                (mention_id, row["final_text"] or "", row["meta_json"] or "{}", now),
            )
            self._move(
                conn,
                mention_id,
                State.AWAITING_APPROVAL,
                expected,
                "undo",
                actor,
                draft_id=draft.lastrowid,
                final_text=None,
                post_after=None,
                decided_by=actor,
            )
            decision = conn.execute(
                "SELECT * FROM decisions WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return decision_of(decision)

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
        with self._tx() as conn:
            self._row(conn, mention_id)
            live = self._live_claim(conn, mention_id, now)
            if live is None or live.identity in (holder, identity):
                conn.execute(
                    "INSERT INTO claims (mention_id, identity, actor, claimed_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (mention_id) DO UPDATE SET"
                    " identity = excluded.identity, actor = excluded.actor,"
                    " claimed_at = excluded.claimed_at, expires_at = excluded.expires_at",
                    (mention_id, identity, actor, to_iso(now), to_iso(expires)),
                )
                taken_from = live.actor if live and live.identity != identity else None
                self._audit(
                    conn, mention_id, "claimed", actor, until=to_iso(expires), taken_from=taken_from
                )
                live = Claim(mention_id, identity, actor, now, expires)
        return live

    def claims(self, mention_ids: Collection[int], now: datetime) -> dict[int, Claim]:
        ids = list(dict.fromkeys(mention_ids))
        found: dict[int, Claim] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.conn.execute(
                f"SELECT * FROM claims WHERE mention_id IN ({', '.join('?' * len(chunk))})"
                " AND expires_at > ?",
                (*chunk, to_iso(now)),
            ).fetchall()
            found.update((r["mention_id"], claim_of(r)) for r in rows)
        return found

    def release_claim(self, mention_id: int, actor: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute("DELETE FROM claims WHERE mention_id = ?", (mention_id,))
            if cur.rowcount:
                self._audit(conn, mention_id, "claim_released", actor)
        return bool(cur.rowcount)

    @staticmethod
    def _live_claim(conn: sqlite3.Connection, mention_id: int, now: datetime) -> Claim | None:
        row = conn.execute(
            "SELECT * FROM claims WHERE mention_id = ? AND expires_at > ?",
            (mention_id, to_iso(now)),
        ).fetchone()
        return claim_of(row) if row else None

    # ---- end 13B ----

    # ---- section 13C: queue pages, full-text search, customer history (issue 13, queue) ----
    def queue_page(
        self, where: QueueFilter, after: QueueCursor | None = None, limit: int = 50
    ) -> QueuePage:
        limit = max(1, min(limit, 500))
        if where.search:
            rows = self._search_rows(where, after, limit + 1)
        else:
            clauses, args = _facet_clauses(where)
            rows = []
            for state in dict.fromkeys(where.states or [None]):  # one index walk per state
                extra = ([], []) if state is None else (["m.state = ?"], [state.value])
                rows += self._keyset([*clauses, *extra[0]], [*args, *extra[1]], after, limit + 1)
            rows.sort(key=lambda r: (r["urgency"] is None, -(r["urgency"] or 0.0), -r["id"]))
        items = [item_of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return QueuePage(items, QueueCursor(items[-1].urgency, items[-1].id) if more else None)

    def _keyset(
        self, clauses: list[str], args: list[Any], after: QueueCursor | None, n: int
    ) -> list[sqlite3.Row]:
        """Rows after ``after`` in queue order: the scored ones, then the unscored ones."""
        rows: list[sqlite3.Row] = []
        if after is None or after.urgency is not None:
            bound = ["(m.urgency, m.id) < (?, ?)"] if after else []
            bound_args = [after.urgency, after.id] if after else []
            rows = self._select(
                [*clauses, "m.urgency IS NOT NULL", *bound],
                [*args, *bound_args],
                "m.urgency DESC, m.id DESC",
                n,
            )
        if len(rows) < n:
            bound = ["m.id < ?"] if after and after.urgency is None else []
            bound_args = [after.id] if after and after.urgency is None else []
            rows += self._select(
                [*clauses, "m.urgency IS NULL", *bound],
                [*args, *bound_args],
                "m.id DESC",
                n - len(rows),
            )
        return rows

    def _select(self, clauses: list[str], args: list[Any], order: str, n: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            f"{_VIEW_SQL} WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?", (*args, n)
        ).fetchall()

    def _search_rows(
        self, where: QueueFilter, after: QueueCursor | None, n: int
    ) -> list[sqlite3.Row]:
        # The full-text index drives (CROSS JOIN keeps that order), newest first by rowid.
        clauses, args = _facet_clauses(where)
        clauses = ["s.mention_search MATCH ?", *clauses]
        args = [fts_query(where.search or ""), *args]
        if after is not None:
            clauses.append("s.rowid < ?")
            args.append(after.id)
        if where.states:
            clauses.append(f"m.state IN ({', '.join('?' * len(where.states))})")
            args += [state.value for state in where.states]
        sql = (
            "SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta FROM mention_search s"
            " CROSS JOIN mentions m ON m.id = s.rowid LEFT JOIN drafts d ON d.id = m.draft_id"
            f" WHERE {' AND '.join(clauses)} ORDER BY s.rowid DESC LIMIT ?"
        )
        try:
            return self.conn.execute(sql, (*args, n)).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise
            raise SearchError("this search cannot be run; use plain words") from exc

    def queue_entered(self, where: QueueFilter, since: datetime, limit: int = 100) -> list[int]:
        states = where.states or tuple(State)
        clauses, args = _facet_clauses(where)
        marks = ", ".join("?" * len(states))
        clauses = [f"m.state IN ({marks})", "m.state_changed_at >= ?", *clauses]
        args = [*(s.value for s in states), to_iso(since), *args]
        if where.search:
            clauses.append(f"m.id IN ({_SEARCH_IDS})")
            args.append(fts_query(where.search))
        rows = self.conn.execute(
            f"SELECT m.id FROM mentions m WHERE {' AND '.join(clauses)}"
            " ORDER BY m.state_changed_at DESC LIMIT ?",
            (*args, max(1, min(limit, 500))),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def items(self, ids: Sequence[int]) -> list[Item]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, Item] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.conn.execute(
                f"{_VIEW_SQL} WHERE m.id IN ({', '.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update((r["id"], item_of(r)) for r in rows)
        return [found[i] for i in wanted if i in found]

    def facets(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"platform": [], "intent": []}
        rows = self.conn.execute(
            "SELECT facet, value FROM facet_counts WHERE n > 0 ORDER BY facet, value"
        )
        for row in rows:
            out.setdefault(row["facet"], []).append(row["value"])
        return out

    def customer_history(
        self, mention_id: int, *, limit: int = 20, across_platforms: bool = False
    ) -> list[HistoryEntry]:
        me = self._row(self.conn, mention_id)
        if not me["author_handle"]:
            return []
        where = "m.author_handle = ? AND m.created_at <= ? AND m.id != ?"
        args: list[Any] = [me["author_handle"], me["created_at"], mention_id]
        if not across_platforms:
            where = f"m.platform = ? AND {where}"
            args.insert(0, me["platform"])
        rows = self.conn.execute(
            "SELECT m.id, m.platform, m.state, m.created_at, m.mention_json, m.posted_url,"
            " (SELECT p.text FROM posts p WHERE p.mention_id = m.id AND p.status = 'posted')"
            f" AS reply FROM mentions m WHERE {where}"
            " ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
            (*args, max(1, min(limit, 200))),
        ).fetchall()
        decided = self._decisions_of([r["id"] for r in rows])
        return [history_entry_of(r, decided.get(r["id"], [])) for r in rows]

    def _decisions_of(self, ids: list[int]) -> dict[int, list[Decision]]:
        out: dict[int, list[Decision]] = {}
        if not ids:
            return out
        rows = self.conn.execute(
            f"SELECT * FROM decisions WHERE mention_id IN ({', '.join('?' * len(ids))})"
            " ORDER BY id DESC",
            ids,
        )
        for row in rows:
            out.setdefault(row["mention_id"], []).append(decision_of(row))
        return out

    # ---- end 13C ----

    # ---- section 14: review revisions, conversations, replies made elsewhere (issue 14, core) ----
    def revisions(self, mention_id: int, limit: int = 20) -> list[Revision]:
        rows = self.conn.execute(
            "SELECT * FROM mention_revisions WHERE mention_id = ? ORDER BY id DESC LIMIT ?",
            (mention_id, limit),
        ).fetchall()
        return [
            Revision(
                mention_id=r["mention_id"],
                text=r["text"],
                title=r["title"],
                rating=r["rating"],
                updated_at=from_iso(r["updated_at"]),
                state=State(r["state"]),
                seen_at=datetime.fromisoformat(r["seen_at"]),
            )
            for r in rows
        ]

    def conversation(self, mention_id: int, limit: int = 20) -> list[Turn]:
        rows = self.conn.execute(
            "SELECT * FROM (SELECT id, state, mention_json, final_text, posted_at"
            " FROM mentions WHERE conversation_id ="
            " (SELECT conversation_id FROM mentions WHERE id = ?)"
            " ORDER BY id DESC LIMIT ?) ORDER BY id",
            (mention_id, limit),
        ).fetchall()
        return [turn_of(r) for r in rows]

    def open_in_conversation(
        self, conversation_id: int, states: Collection[State], before_id: int
    ) -> int | None:
        marks = ", ".join("?" for _ in states)
        row = self.conn.execute(
            "SELECT id FROM mentions WHERE conversation_id = ? AND id < ?"
            f" AND state IN ({marks}) ORDER BY id LIMIT 1",
            (conversation_id, before_id, *(s.value for s in states)),
        ).fetchone()
        return int(row[0]) if row else None

    def open_by_author(
        self,
        platform: str,
        author: str,
        since: datetime,
        states: Collection[State],
        before_id: int,
    ) -> int | None:
        if not author:
            return None
        marks = ", ".join("?" for _ in states)
        row = self.conn.execute(
            "SELECT id FROM mentions WHERE platform = ? AND author_handle = ? AND created_at >= ?"
            f" AND id < ? AND state IN ({marks}) ORDER BY created_at DESC LIMIT 1",
            (platform, author.lower(), to_iso(since), before_id, *(s.value for s in states)),
        ).fetchone()
        return int(row[0]) if row else None

    def join_conversation(self, mention_id: int, into_id: int) -> int:
        with self._tx() as conn:
            target = self._row(conn, into_id)
            conversation = int(target["conversation_id"] or into_id)
            conn.execute(
                "UPDATE mentions SET conversation_id = ? WHERE id IN (?, ?)",
                (conversation, mention_id, into_id),
            )
            self._audit(conn, mention_id, "joined_conversation", "pipeline", into=into_id)
        return conversation

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
        with self._tx() as conn:
            self._move(
                conn,
                mention_id,
                to,
                expected,
                "answered_elsewhere",
                "platform",
                skip_reason=reason,
                posted_at=to_iso(answered_at),
                posted_url=url,
                next_attempt_at=None,
            )

    def reopen(
        self, mention_id: int, event: str, actor: str, *, to: State, expected: Collection[State]
    ) -> None:
        with self._tx() as conn:
            self._move(
                conn,
                mention_id,
                to,
                expected,
                event,
                actor,
                attempts=0,
                last_error=None,
                next_attempt_at=None,
                skip_reason=None,
                snooze_until=None,
            )

    # ---- end 14 ----

    # ---- section 15: feedback labels, answer library (issue 15) ----
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
        now = utcnow()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT json_extract(mention_json, '$.text') FROM mentions WHERE id = ?",
                (mention_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no item #{mention_id}")
            cursor = conn.execute(
                "INSERT INTO feedback_labels (mention_id, label, previous, actor, channel,"
                " reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (mention_id, label, previous, actor, channel, reason, to_iso(now)),
            )
            self._audit(conn, mention_id, "relabel", actor, label=label, previous=previous)
        return FeedbackLabel(
            int(cursor.lastrowid or 0), mention_id, label, actor, channel, now, row[0], previous,
            reason,
        )  # fmt: skip

    def feedback_labels(self, after_id: int = 0, limit: int = 500) -> list[FeedbackLabel]:
        rows = self.conn.execute(
            "SELECT f.id, f.mention_id, f.label, f.actor, f.channel, f.created_at,"
            " json_extract(m.mention_json, '$.text'),"
            " f.previous, f.reason FROM feedback_labels f JOIN mentions m ON m.id = f.mention_id"
            " WHERE f.id > ? ORDER BY f.id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [
            FeedbackLabel(
                r[0], r[1], r[2], r[3], r[4], from_iso(r[5]) or utcnow(), r[6], r[7], r[8]
            )
            for r in rows
        ]

    # ---- end 15 ----

    # ---- section 16: KPIs, SLA, alerts state (issue 16) ----
    def mark_first_look(self, mention_id: int, at: datetime) -> bool:
        with self._tx() as conn:
            changed = conn.execute(
                "UPDATE mentions SET first_look_at = ? WHERE id = ? AND first_look_at IS NULL",
                (to_iso(at), mention_id),
            ).rowcount
        return bool(changed)

    def ops_rows(
        self,
        since: datetime,
        until: datetime,
        *,
        after: tuple[datetime, int] | None = None,
        limit: int = 1000,
        states: Collection[str] | None = None,
    ) -> list[OpsRow]:
        where = "ingested_at >= ? AND ingested_at < ?"
        args: list[Any] = [to_iso(since), to_iso(until)]
        if after is not None:
            where = "(ingested_at, id) > (?, ?) AND ingested_at < ?"
            args = [to_iso(after[0]), after[1], to_iso(until)]
        if states is not None:
            where += f" AND state IN ({', '.join('?' * len(states))})"
            args.extend(states)
        rows = self.conn.execute(
            f"SELECT {_OPS_COLUMNS} FROM mentions INDEXED BY mentions_ingested"
            f" WHERE {where} ORDER BY ingested_at, id LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [ops_row_of(r) for r in rows]

    def last_ingested(self, source: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT max(ingested_at) FROM mentions WHERE source = ?", (source,)
        ).fetchone()
        return from_iso(row[0])

    def alerts_between(
        self, since: datetime, until: datetime, kinds: Collection[str], limit: int = 200
    ) -> list[dict[str, Any]]:
        marks = ", ".join("?" * len(kinds))
        rows = self.conn.execute(
            f"SELECT * FROM alerts WHERE at >= ? AND at < ? AND kind IN ({marks})"
            " ORDER BY at, id LIMIT ?",
            (to_iso(since), to_iso(until), *kinds, limit),
        )
        return [dict(r) for r in rows]

    def alerts_after(self, after_id: int, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM alerts WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [dict(r) for r in rows]

    def add_sla_alert(self, mention_id: int, level: str, source: str, message: str) -> bool:
        message, now = redact(message), to_iso(utcnow())
        with self._tx() as conn:
            new = conn.execute(
                "INSERT OR IGNORE INTO sla_alerts (mention_id, level, at) VALUES (?, ?, ?)",
                (mention_id, level, now),
            ).rowcount
            if new:
                conn.execute(
                    "INSERT INTO alerts (at, source, kind, message) VALUES (?, ?, ?, ?)",
                    (now, source, level, message),
                )
                self._audit(conn, mention_id, f"alert:{level}", f"source:{source}", message=message)
        return bool(new)

    # ---- end 16 ----

    # ---- section 15J: answer library, draft provenance (issue 15, drafts) ----
    # ---- end 15J ----

    # ---- section 16L: metrics, readiness, backup (issue 16, operations) ----
    def event_counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.conn.execute("SELECT family, label, n FROM event_counts"):
            out.setdefault(r["family"], {})[r["label"]] = r["n"]
        return out

    def post_totals(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT source, sum(n) AS n FROM post_counts GROUP BY source")
        return {r["source"]: int(r["n"]) for r in rows}

    def check_writable(self) -> None:
        # A short busy timeout: a probe must answer, not queue behind a long write.
        conn = self.conn
        if conn.in_transaction:
            return  # a write of ours is open: the store is writable
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES ('readyz', '1')"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                )
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StoreError(f"the store is not writable: {exc}") from None
        finally:
            conn.execute("PRAGMA busy_timeout = 30000")

    # ---- end 16L ----


# What one record can raise that says nothing about the store: bad text, numbers SQLite cannot
# hold, a value its JSON dump refuses, a constraint. Anything else (disk, lock) aborts the page.
_UNSTORABLE = (
    ValueError,
    OverflowError,
    RecursionError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
)


# What a Slack message shows of its item: the state (and when it was entered, which covers every
# decision, draft and post result), urgency as displayed (two decimals) and the posting error.
_SLACK_VERSION = (
    "(m.state || '|' || m.state_changed_at || '|' || coalesce(round(m.urgency, 2), '')"
    " || '|' || coalesce(m.last_error, '') || '|' || m.revisions)"
)
_SLACK_COLUMNS = (
    "s.mention_id AS s_mention_id, s.channel AS s_channel, s.ts AS s_ts, s.state AS s_state,"
    " s.episode AS s_episode, s.version AS s_version, s.sig AS s_sig, s.intent_at AS s_intent_at,"
    f" {_SLACK_VERSION} AS item_version"
)


def _split_sql(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]


_HELD_SQL = "SELECT id, conversation_id FROM mentions WHERE platform = ? AND external_id = ?"
_OUR_REPLY_SQL = (
    "SELECT m.id, m.conversation_id FROM posts p JOIN mentions m ON m.id = p.mention_id"
    " WHERE p.external_id = ? AND p.status = 'posted' AND m.platform = ?"
)


_SEARCH_IDS = "SELECT rowid FROM mention_search WHERE mention_search MATCH ?"


def _facet_clauses(where: QueueFilter) -> tuple[list[str], list[Any]]:
    # "+" keeps SQLite walking the state/urgency index (and stopping after a page) instead of
    # filtering on another index and sorting everything it found.
    clauses: list[str] = []
    args: list[Any] = []
    if where.platform:
        clauses.append("+m.platform = ?")
        args.append(where.platform)
    if where.intent:
        clauses.append("+m.intent = ?")
        args.append(where.intent)
    return clauses, args


# ---- section 16 helpers: operations rows (issue 16) ----
_OPS_COLUMNS = (
    "id, source, platform, coalesce(json_extract(mention_json, '$.kind'), 'post'), state,"
    " ingested_at, coalesce(json_extract(mention_json, '$.text'), ''), author_handle,"
    " coalesce(json_extract(mention_json, '$.author.followers'), 0),"
    " json_extract(mention_json, '$.url'), json_extract(mention_json, '$.rating'), sentiment,"
    " intent, urgency, first_look_at, drafted_at, decided_at, posted_at, decided_by"
)


# ---- end 16 helpers ----
