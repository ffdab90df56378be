"""The embedded SQLite store (sqlite-utils, WAL mode, one file)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from repbot.errors import InvalidTransition, StoreError
from repbot.models import TRANSITIONS, Mention, State, utcnow
from repbot.secrets import redact
from repbot.store.base import (
    Action,
    ApprovedExample,
    Decision,
    IngestResult,
    Item,
    PostIntent,
    SourceStatus,
    Store,
)
from repbot.store.migrations import MIGRATIONS

_DECISION_STATES = {
    "approve": State.APPROVED,
    "edit": State.APPROVED,
    "reject": State.REJECTED,
    "snooze": State.SNOOZED,
    "posted_manually": State.POSTED,
}
_ITEM_SQL = """
    SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta
    FROM mentions m LEFT JOIN drafts d ON d.id = m.draft_id
"""


def _ts(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if str(path) != ":memory:":
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
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

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
            for version, name, sql in MIGRATIONS:
                if version in done:
                    continue
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, name, _ts(utcnow())),
                )

    def schema_version(self) -> int:
        """The highest applied migration."""
        row = self.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # ingest and cursors
    def ingest(self, source: str, mentions: list[Mention], cursor: str | None) -> IngestResult:
        now = _ts(utcnow())
        new_ids: list[int] = []
        with self._tx() as conn:
            for mention in mentions:
                cur = conn.execute(
                    "INSERT INTO mentions (source, platform, external_id, author_handle,"
                    " created_at, ingested_at, mention_json, state, state_changed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?)"
                    " ON CONFLICT (platform, external_id) DO NOTHING",
                    (
                        source,
                        mention.platform,
                        mention.external_id,
                        mention.author.handle.lower(),
                        _ts(mention.created_at),
                        now,
                        mention.model_dump_json(),
                        now,
                    ),
                )
                if cur.rowcount:
                    new_ids.append(int(cur.lastrowid or 0))
            if cursor is not None:
                conn.execute(
                    "INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,"
                    " updated_at = excluded.updated_at",
                    (source, cursor, now),
                )
            if new_ids:
                self._audit(conn, None, "ingested", f"source:{source}", count=len(new_ids))
        return IngestResult(new_ids, len(mentions) - len(new_ids))

    def get_cursor(self, source: str) -> str | None:
        row = self.conn.execute("SELECT cursor FROM cursors WHERE source = ?", (source,)).fetchone()
        return row["cursor"] if row else None

    def record_source_result(
        self, source: str, error: str | None = None, disable: bool = False
    ) -> None:
        now = _ts(utcnow())
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
                last_success=_dt(r["last_success"]),
                last_error=r["last_error"],
                failures=r["failures"],
                disabled=bool(r["disabled"]),
                disabled_reason=r["disabled_reason"],
            )
            for r in rows
        ]

    # pipeline
    def pending(self, state: State, limit: int, now: datetime | None = None) -> list[Item]:
        due = _ts(now or utcnow())
        order = "m.urgency DESC, m.id" if state is State.APPROVED else "m.id"
        rows = self.conn.execute(
            f"{_ITEM_SQL} WHERE m.state = ? AND (m.next_attempt_at IS NULL OR m.next_attempt_at"
            f" <= ?) ORDER BY {order} LIMIT ?",
            (state.value, due, limit),
        ).fetchall()
        return [_item(r) for r in rows]

    def get(self, mention_id: int) -> Item:
        row = self.conn.execute(f"{_ITEM_SQL} WHERE m.id = ?", (mention_id,)).fetchone()
        if row is None:
            raise StoreError(f"no mention with id {mention_id}")
        return _item(row)

    def find(self, platform: str, external_id: str) -> Item | None:
        row = self.conn.execute(
            f"{_ITEM_SQL} WHERE m.platform = ? AND m.external_id = ?", (platform, external_id)
        ).fetchone()
        return _item(row) if row else None

    def set_classified(
        self, mention_id: int, analysis: dict[str, Any], skip_reason: str | None = None
    ) -> None:
        with self._tx() as conn:
            self._move(
                conn,
                mention_id,
                State.CLASSIFIED,
                "classified",
                "pipeline",
                sentiment=analysis.get("label"),
                intent=analysis.get("intent"),
                urgency=analysis.get("urgency"),
                analysis_json=json.dumps(analysis),
                classified_at=_ts(utcnow()),
                attempts=0,
                last_error=None,
                next_attempt_at=None,
            )
            if skip_reason:
                self._move(
                    conn, mention_id, State.SKIPPED, "skipped", "pipeline", skip_reason=skip_reason
                )

    def update_urgency(self, mention_id: int, urgency: float, explanation: list[Any]) -> None:
        with self._tx() as conn:
            row = self._row(conn, mention_id)
            analysis = json.loads(row["analysis_json"] or "{}")
            analysis.update(urgency=urgency, explanation=explanation)
            conn.execute(
                "UPDATE mentions SET urgency = ?, analysis_json = ? WHERE id = ?",
                (urgency, json.dumps(analysis), mention_id),
            )

    def hold(self, mention_id: int, reason: str, until: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE mentions SET last_error = ?, next_attempt_at = ? WHERE id = ?",
                (reason, _ts(until), mention_id),
            )
            self._audit(conn, mention_id, "held", "poster", reason=reason, until=_ts(until))

    def skip(self, mention_id: int, reason: str) -> None:
        with self._tx() as conn:
            self._move(conn, mention_id, State.SKIPPED, "skipped", "pipeline", skip_reason=reason)

    def set_draft(self, mention_id: int, text: str, meta: dict[str, Any]) -> None:
        now = _ts(utcnow())
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO drafts (mention_id, text, meta_json, created_at) VALUES (?, ?, ?, ?)",
                (mention_id, text, json.dumps(meta), now),
            )
            self._move(
                conn,
                mention_id,
                State.DRAFTED,
                "drafted",
                "pipeline",
                draft_id=cur.lastrowid,
                drafted_at=now,
                attempts=0,
                last_error=None,
                next_attempt_at=None,
            )
            self._move(conn, mention_id, State.AWAITING_APPROVAL, "awaiting_approval", "pipeline")

    def record_failure(
        self, mention_id: int, error: str, max_attempts: int, retry_at: datetime
    ) -> None:
        error = redact(error)[:2000]
        with self._tx() as conn:
            row = self._row(conn, mention_id)
            attempts = row["attempts"] + 1
            if attempts >= max_attempts and State.FAILED in TRANSITIONS[State(row["state"])]:
                self._move(
                    conn,
                    mention_id,
                    State.FAILED,
                    "failed",
                    "pipeline",
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=None,
                )
                return
            conn.execute(
                "UPDATE mentions SET attempts = ?, last_error = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (attempts, error, _ts(retry_at), mention_id),
            )
            self._audit(conn, mention_id, "attempt_failed", "pipeline", error=error)

    def requeue(self, mention_id: int, state: State) -> None:
        with self._tx() as conn:
            self._move(
                conn,
                mention_id,
                state,
                "requeued",
                "operator",
                attempts=0,
                last_error=None,
                next_attempt_at=None,
            )

    # approval
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
        now = utcnow()
        with self._tx() as conn:
            if dedupe_key:
                existing = conn.execute(
                    "SELECT * FROM decisions WHERE dedupe_key = ?", (dedupe_key,)
                ).fetchone()
                if existing:
                    return _decision(existing, duplicate=True)
            row = self._row(conn, mention_id)
            allowed = {State.AWAITING_APPROVAL, State.SNOOZED}
            if action == "posted_manually":
                allowed = {State.APPROVED, State.FAILED}
            if State(row["state"]) not in allowed:
                raise InvalidTransition(
                    f"mention {mention_id} is {row['state']}; it cannot be decided again"
                )
            if action in ("approve", "edit") and not (text or "").strip():
                raise StoreError("an approved reply needs text")
            cur = conn.execute(
                "INSERT INTO decisions (mention_id, action, actor, channel, text, reason,"
                " dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (mention_id, action, actor, channel, text, reason, dedupe_key, _ts(now)),
            )
            fields: dict[str, Any] = {"decided_at": _ts(now), "decided_by": actor}
            if action in ("approve", "edit"):
                fields.update(final_text=text, attempts=0, next_attempt_at=None, last_error=None)
            if action == "snooze":
                fields["snooze_until"] = _ts(snooze_until)
            if action == "posted_manually":
                fields = {"posted_at": _ts(now), "posted_url": reason}
            self._move(conn, mention_id, _DECISION_STATES[action], action, actor, **fields)
            decision_row = conn.execute(
                "SELECT * FROM decisions WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return _decision(decision_row)

    def wake_snoozed(self, now: datetime) -> list[int]:
        rows = self.conn.execute(
            "SELECT id FROM mentions WHERE state = 'snoozed' AND snooze_until <= ?", (_ts(now),)
        ).fetchall()
        woken = []
        for row in rows:
            with self._tx() as conn:
                current = self._row(conn, row["id"])
                if current["state"] != State.SNOOZED.value:
                    continue
                self._move(
                    conn,
                    row["id"],
                    State.AWAITING_APPROVAL,
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
        return [_decision(r) for r in rows]

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

    # posting
    def begin_post(self, mention_id: int) -> PostIntent:
        now = _ts(utcnow())
        with self._tx() as conn:
            row = self._row(conn, mention_id)
            if row["state"] != State.APPROVED.value:
                raise InvalidTransition(f"mention {mention_id} is {row['state']}, not approved")
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
            self._move(conn, mention_id, State.POSTING, "posting", "poster")
            attempts = conn.execute(
                "SELECT attempts FROM posts WHERE idempotency_key = ?", (key,)
            ).fetchone()[0]
        return PostIntent(mention_id, key, text, int(attempts))

    def complete_post(self, mention_id: int, external_id: str, url: str | None) -> None:
        now = _ts(utcnow())
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
                "posted",
                "poster",
                posted_at=now,
                posted_url=url,
                last_error=None,
            )

    def post_failed(self, mention_id: int, error: str, retry_at: datetime | None) -> None:
        error = redact(error)[:2000]
        with self._tx() as conn:
            conn.execute(
                "UPDATE posts SET status = 'failed', last_error = ?, finished_at = ?"
                " WHERE mention_id = ? AND status = 'intent'",
                (error, _ts(utcnow()), mention_id),
            )
            row = self._row(conn, mention_id)
            fields = {"last_error": error, "attempts": row["attempts"] + 1}
            if retry_at is None:
                self._move(conn, mention_id, State.FAILED, "post_failed", "poster", **fields)
            else:
                self._move(
                    conn,
                    mention_id,
                    State.APPROVED,
                    "post_retry",
                    "poster",
                    next_attempt_at=_ts(retry_at),
                    **fields,
                )

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
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        row = self.conn.execute(
            "SELECT count(*) FROM posts WHERE source = ? AND status = 'posted'"
            " AND finished_at >= ?",
            (source, _ts(start)),
        ).fetchone()
        return int(row[0])

    # views
    def queue(
        self,
        states: list[State] | None = None,
        platform: str | None = None,
        intent: str | None = None,
        limit: int = 100,
    ) -> list[Item]:
        clauses, args = [], []
        if states:
            clauses.append(f"m.state IN ({', '.join('?' for _ in states)})")
            args += [s.value for s in states]
        if platform:
            clauses.append("m.platform = ?")
            args.append(platform)
        if intent:
            clauses.append("m.intent = ?")
            args.append(intent)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.conn.execute(
            f"{_ITEM_SQL} {where} ORDER BY m.urgency IS NULL, m.urgency DESC, m.id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_item(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) AS n FROM mentions GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    def repeat_contacts(self, platform: str, author: str, since: datetime, before_id: int) -> int:
        if not author:
            return 0
        row = self.conn.execute(
            "SELECT count(*) FROM mentions WHERE platform = ? AND author_handle = ?"
            " AND created_at >= ? AND id < ?",
            (platform, author.lower(), _ts(since), before_id),
        ).fetchone()
        return int(row[0])

    def response_times(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for name, column in (
            ("draft", "drafted_at"),
            ("decision", "decided_at"),
            ("post", "posted_at"),
        ):
            rows = self.conn.execute(
                f"SELECT ingested_at, {column} FROM mentions WHERE {column} IS NOT NULL"
            ).fetchall()
            seconds = sorted(
                (datetime.fromisoformat(r[1]) - datetime.fromisoformat(r[0])).total_seconds()
                for r in rows
            )
            out[name] = _summary(seconds)
        return out

    # alerts and audit
    def add_alert(self, source: str, kind: str, message: str) -> None:
        message = redact(message)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO alerts (at, source, kind, message) VALUES (?, ?, ?, ?)",
                (_ts(utcnow()), source, kind, message),
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
        event: str,
        actor: str,
        **fields: Any,
    ) -> None:
        current = State(self._row(conn, mention_id)["state"])
        if to not in TRANSITIONS[current]:
            raise InvalidTransition(f"mention {mention_id}: {current} → {to} is not allowed")
        fields.update(state=to.value, state_changed_at=_ts(utcnow()))
        assignments = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(
            f"UPDATE mentions SET {assignments} WHERE id = ?", (*fields.values(), mention_id)
        )
        self._audit(conn, mention_id, event, actor, from_state=current.value, to_state=to.value)

    @staticmethod
    def _audit(
        conn: sqlite3.Connection, mention_id: int | None, event: str, actor: str, **detail: Any
    ) -> None:
        conn.execute(
            "INSERT INTO audit (at, mention_id, event, actor, detail_json) VALUES (?, ?, ?, ?, ?)",
            (_ts(utcnow()), mention_id, event, actor, redact(json.dumps(detail, default=str))),
        )


def _split_sql(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {
        "count": float(len(values)),
        "p50": values[len(values) // 2],
        "p95": values[min(len(values) - 1, int(len(values) * 0.95))],
    }


def _item(row: sqlite3.Row) -> Item:
    analysis = json.loads(row["analysis_json"]) if row["analysis_json"] else {}
    return Item(
        id=row["id"],
        source=row["source"],
        mention=Mention.model_validate_json(row["mention_json"]),
        state=State(row["state"]),
        ingested_at=datetime.fromisoformat(row["ingested_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        analysis=analysis,
        sentiment=row["sentiment"],
        intent=row["intent"],
        urgency=row["urgency"],
        draft=row["draft_text"],
        draft_meta=json.loads(row["draft_meta"]) if row["draft_meta"] else {},
        final_text=row["final_text"],
        skip_reason=row["skip_reason"],
        snooze_until=_dt(row["snooze_until"]),
        next_attempt_at=_dt(row["next_attempt_at"]),
        posted_url=row["posted_url"],
        decided_by=row["decided_by"],
    )


def _decision(row: sqlite3.Row, duplicate: bool = False) -> Decision:
    return Decision(
        id=row["id"],
        mention_id=row["mention_id"],
        action=row["action"],
        actor=row["actor"],
        text=row["text"],
        reason=row["reason"],
        created_at=datetime.fromisoformat(row["created_at"]),
        duplicate=duplicate,
    )


def retry_delay(attempts: int, base: float = 5.0, cap: float = 3600.0) -> timedelta:
    """Exponential backoff for a mention's next attempt."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))
