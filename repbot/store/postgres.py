"""The PostgreSQL store: several daemons on one database (psycopg 3, a connection pool).

The same contract as :class:`~repbot.store.sqlite.SqliteStore`; every transition is one
transaction and a compare-and-set against the workflow's rules (``repbot.workflow``). Work is
claimed with ``FOR UPDATE SKIP LOCKED`` and a short lease, so two daemons never take the same
item; each source is polled by the daemon holding its advisory lock; ``NOTIFY repbot_work`` wakes
the other daemons when new work arrives.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from repbot import workflow
from repbot.errors import StoreError
from repbot.models import Mention, State, utcnow
from repbot.secrets import redact
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
    UserRecord,
)
from repbot.store.feedback import FeedbackLabel
from repbot.store.migrations import KPI_STAGES
from repbot.store.ops import OpsRow
from repbot.store.pg_migrations import PG_MIGRATIONS
from repbot.store.queueing import (
    SEARCH_MAX,
    HistoryEntry,
    QueueCursor,
    QueueFilter,
    QueuePage,
    SearchError,
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

Conn = psycopg.Connection[dict[str, Any]]
WAKE_CHANNEL = "repbot_work"
"""The LISTEN/NOTIFY channel a daemon is woken on when another stores new work."""
LEASE = timedelta(minutes=5)
"""How long a claimed item stays reserved for the daemon that claimed it (a crash frees it)."""

_ITEM_SQL = """
    SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta, r.raw_json
    FROM mentions m LEFT JOIN drafts d ON d.id = m.draft_id
    LEFT JOIN mention_raw r ON r.mention_id = m.id
"""
_NEW_ORDER = (
    "coalesce((m.mention_json->>'rating')::numeric, 3),"
    " coalesce((m.mention_json#>>'{author,followers}')::numeric, 0) DESC, m.id"
)
_CLAIM_ORDER = {
    State.NEW: _NEW_ORDER,
    State.CLASSIFIED: "m.urgency DESC NULLS LAST, m.id",
    State.APPROVED: "m.urgency DESC NULLS LAST, m.id",
}
_UNSTORABLE = (ValueError, OverflowError, RecursionError, psycopg.IntegrityError, psycopg.DataError)
_HELD_SQL = "SELECT id, conversation_id FROM mentions WHERE platform = %s AND external_id = %s"
_OUR_REPLY_SQL = (
    "SELECT m.id, m.conversation_id FROM posts p JOIN mentions m ON m.id = p.mention_id"
    " WHERE p.external_id = %s AND p.status = 'posted' AND m.platform = %s"
)


def _iso(column: str) -> str:
    """A timestamptz as the ISO text the SQLite store keeps (the same for every session)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


# What a Slack message shows of its item (see the SQLite store): its change marker.
_SLACK_VERSION = (
    f"(m.state || '|' || {_iso('m.state_changed_at')} || '|'"
    " || coalesce(round(m.urgency::numeric, 2)::text, '') || '|' || coalesce(m.last_error, '')"
    " || '|' || m.revisions)"
)
_SLACK_COLUMNS = (
    "s.mention_id AS s_mention_id, s.channel AS s_channel, s.ts AS s_ts, s.state AS s_state,"
    " s.episode AS s_episode, s.version AS s_version, s.sig AS s_sig, s.intent_at AS s_intent_at,"
    f" {_SLACK_VERSION} AS item_version"
)

_OPS_COLUMNS = (
    "id, source, platform, coalesce(mention_json->>'kind', 'post') AS kind, state, ingested_at,"
    " coalesce(mention_json->>'text', '') AS text, author_handle,"
    " coalesce((mention_json#>>'{author,followers}')::bigint, 0) AS followers,"
    " mention_json->>'url' AS url, (mention_json->>'rating')::int AS rating, sentiment, intent,"
    " urgency, first_look_at, drafted_at, decided_at, posted_at, decided_by"
)


_VIEW_SQL = (
    "SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta FROM mentions m"
    " LEFT JOIN drafts d ON d.id = m.draft_id"
)
"""What views read of an item (no raw payload: it is most of a mention's bytes)."""
_CLOSED_STATES = (State.POSTED, State.REJECTED, State.SKIPPED)
_CLOSED_BETWEEN = (
    "SELECT id FROM mentions WHERE id > %s AND id <= %s AND state = ANY(%s)"
    " AND state_changed_at < %s"
)
"""Closed items in an id range whose state last changed before a cutoff (prune)."""
_TERM = re.compile(r"\w", re.UNICODE)


def _search_terms(text: str) -> list[str]:
    """The words of a search, each matched as typed (plainto_tsquery reads no operators), the
    last one as a prefix; SearchError as for the SQLite store when nothing can be searched."""
    if len(text) > SEARCH_MAX:
        raise SearchError(f"search is too long (at most {SEARCH_MAX} characters)")
    printable = "".join(ch if ch.isprintable() else " " for ch in text)  # no NUL in PostgreSQL
    terms = [t for t in printable.split() if _TERM.search(t)]
    if not terms:
        raise SearchError("search needs at least one letter or digit")
    return terms


def _facet_clauses(where: QueueFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("m.platform", where.platform), ("m.intent", where.intent)):
        if value:
            clauses.append(f"{column} = %s")
            args.append(value)
    return clauses, args


def _feedback_label(r: dict[str, Any]) -> FeedbackLabel:
    return FeedbackLabel(
        r["id"], r["mention_id"], r["label"], r["actor"], r["channel"],
        from_iso(r["created_at"]) or utcnow(), r["text"], r["previous"], r["reason"],
    )  # fmt: skip


def _keyset_walks(after: QueueCursor | None) -> list[tuple[list[str], str, list[Any]]]:
    """(bounds, order, args) of the walks after ``after``: the scored items (unless the cursor
    is already among the unscored), then the unscored ones."""
    walks: list[tuple[list[str], str, list[Any]]] = []
    if after is None or after.urgency is not None:
        bound = ["(m.urgency, m.id) < (%s, %s)"] if after else []
        args = [after.urgency, after.id] if after else []
        walks.append((["m.urgency IS NOT NULL", *bound], "m.urgency DESC, m.id DESC", args))
    unscored = after is not None and after.urgency is None
    walks.append(
        (
            ["m.urgency IS NULL", *(["m.id < %s"] if unscored else [])],
            "m.id DESC",
            [after.id] if after is not None and unscored else [],
        )
    )
    return walks


def _plain(value: Any) -> Any:
    """A column as the SQLite store's row converters expect it: ISO text, JSON text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, dict | list):
        return json_text(value)
    return value


def _row(row: dict[str, Any] | None) -> Any:
    """A row the shared converters of :mod:`repbot.store.sqlite` (``item_of`` ...) accept."""
    return None if row is None else {k: _plain(v) for k, v in row.items()}


def source_lock_key(source: str) -> int:
    """The advisory-lock key of a source: a stable 32-bit hash of its name."""
    return zlib.crc32(f"repbot-source:{source}".encode())


class SourceLock:
    """One daemon's advisory lock on a source, held by its own session (its polling connection).

    The lock goes when the session ends, so another daemon's :meth:`acquire` succeeds within
    one poll interval of a crash.
    """

    def __init__(self, dsn: str, source: str) -> None:
        self.dsn = dsn
        self.key = source_lock_key(source)
        self.conn: psycopg.Connection[Any] | None = None

    def acquire(self) -> bool:
        """Take (or confirm) the lock; False while another session holds it."""
        try:
            if self.conn is not None and not self.conn.closed:
                self.conn.execute("SELECT 1")
                return True
        except psycopg.Error:
            self.release()
        conn = psycopg.connect(self.dsn, autocommit=True)
        held = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if held and held[0]:
            self.conn = conn
            return True
        conn.close()
        return False

    def backend_pid(self) -> int | None:
        """The server process of the holding session (for operators and tests)."""
        return None if self.conn is None else self.conn.info.backend_pid

    def release(self) -> None:
        """Let go (closing the session releases the lock)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


CALL_WAIT = 3.0
"""Seconds a store call waits for a pooled connection before it raises StoreError: the daemon
calls the store from its event loop, so an unreachable server must not stall /healthz."""


class PostgresStore(Store):
    """A :class:`Store` in a PostgreSQL database; safe to share between threads."""

    shared = True

    def __init__(
        self,
        dsn: str,
        *,
        migrate: bool = True,
        pool_size: int = 4,
        wait: float = 30.0,
        call_wait: float = CALL_WAIT,
    ) -> None:
        self.dsn = dsn
        self._local = threading.local()
        self._source_locks: dict[str, SourceLock] = {}
        self._locks_guard = threading.Lock()
        try:
            self.pool: ConnectionPool[Conn] = ConnectionPool(
                dsn,
                min_size=1,
                max_size=pool_size,
                kwargs={"row_factory": dict_row},
                open=True,
                timeout=call_wait,
            )
            self.pool.wait(timeout=wait)
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"cannot open the PostgreSQL store: {redact(str(exc))}") from None
        if migrate:
            self.migrate()

    def close(self) -> None:
        for lock in self._source_locks.values():
            lock.release()
        self.pool.close()

    # connections and transactions
    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        held: Conn | None = getattr(self._local, "conn", None)
        if held is not None:  # inside batch(): a savepoint, so a failed call undoes itself
            with held.transaction():
                yield held
            return
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            # the server is unreachable or the connection went: a StoreError like any other
            raise StoreError(f"PostgreSQL unavailable: {redact(str(exc))}") from None

    @contextmanager
    def batch(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            with self._tx():
                yield
            return
        with self.pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def _one(self, sql: str, args: Collection[Any] = ()) -> Any:
        with self._tx() as conn:
            return _row(conn.execute(sql, tuple(args)).fetchone())

    def _all(self, sql: str, args: Collection[Any] = ()) -> list[Any]:
        with self._tx() as conn:
            return [_row(r) for r in conn.execute(sql, tuple(args)).fetchall()]

    # migrations
    def applied(self) -> set[int]:
        """The migration versions recorded in ``schema_migrations``."""
        return {r["version"] for r in self._all("SELECT version FROM schema_migrations")}

    def migrate(self) -> list[tuple[int, str]]:
        """Apply pending migrations (one transaction, serialised by an advisory lock)."""
        done: list[tuple[int, str]] = []
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (source_lock_key("migrations"),))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
            applied = {r["version"] for r in rows}
            for version, name, sql in sorted(PG_MIGRATIONS):
                if version in applied:
                    continue
                conn.execute(sql.encode())  # bytes: sent as-is, several statements at once
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s, %s)", (version, name, utcnow())
                )
                done.append((version, name))
        return done

    def schema_version(self) -> int:
        """The highest applied migration."""
        return max(self.applied(), default=0)

    # ingest and cursors
    def ingest(self, source: str, mentions: list[Mention], cursor: str | None) -> IngestResult:
        now = to_iso(utcnow())
        result = IngestResult([], 0)
        with self._tx() as conn:
            for mention in mentions:
                try:
                    with conn.transaction():  # a savepoint per record
                        outcome = self._ingest_one(conn, source, mention, now)
                except _UNSTORABLE as exc:
                    result.rejected.append(redact(f"{mention.external_id[:80]!r}: {exc}"[:300]))
                    continue
                count_outcome(result, outcome)
            if cursor is not None:
                conn.execute(
                    "INSERT INTO cursors (source, cursor, updated_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,"
                    " updated_at = excluded.updated_at",
                    (source, cursor, now),
                )
            if result.new_ids:
                self._audit(conn, None, "ingested", f"source:{source}", count=len(result.new_ids))
                conn.execute(f"NOTIFY {WAKE_CHANNEL}")
        duplicates = len(mentions) - len(result.new_ids) - len(result.rejected)
        return replace(result, duplicates=duplicates - len(result.revised_ids))

    def _ingest_one(
        self, conn: Conn, source: str, mention: Mention, now: str | None
    ) -> IngestOutcome:
        raw = json.dumps(mention.raw, separators=(",", ":"), default=str) if mention.raw else None
        row = conn.execute(
            "INSERT INTO mentions (source, platform, external_id, author_handle, created_at,"
            " ingested_at, mention_json, state, state_changed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, 'new', %s)"
            " ON CONFLICT (platform, external_id) DO NOTHING RETURNING id",
            (
                source,
                mention.platform,
                mention.external_id,
                mention.author.handle.lower(),
                to_iso(mention.created_at),
                now,
                mention_to_json(mention),
                now,
            ),
        ).fetchone()
        if row is None:
            return self._update_existing(conn, mention, raw, now)
        new_id = int(row["id"])
        if raw is not None:
            conn.execute(
                "INSERT INTO mention_raw (mention_id, raw_json) VALUES (%s, %s::jsonb)",
                (new_id, raw),
            )
        self._link_thread(conn, new_id, mention)
        return IngestOutcome(new_id, True, False, mention.owner_reply is not None)

    def _update_existing(
        self, conn: Conn, mention: Mention, raw: str | None, now: str | None
    ) -> IngestOutcome:
        row = conn.execute(
            "SELECT id, state, mention_json FROM mentions WHERE platform = %s"
            " AND external_id = %s FOR UPDATE",
            (mention.platform, mention.external_id),
        ).fetchone()
        assert row is not None  # the insert conflicted on this key
        old: dict[str, Any] = row["mention_json"]
        revised = is_revision(old, mention)
        answered = mention.owner_reply is not None and old.get("owner_reply") is None
        stored = old.get("updated_at")
        newer = is_newer(mention.updated_at, datetime.fromisoformat(stored) if stored else None)
        if not (revised or answered or newer):
            return IngestOutcome(row["id"], False, False, False)
        if mention.owner_reply is None and old.get("owner_reply") is not None:
            mention = mention.model_copy(update={"owner_reply": old["owner_reply"]})
        conn.execute(
            "UPDATE mentions SET mention_json = %s::jsonb WHERE id = %s",
            (mention_to_json(mention), row["id"]),
        )
        if raw is not None:
            conn.execute(
                "INSERT INTO mention_raw (mention_id, raw_json) VALUES (%s, %s::jsonb)"
                " ON CONFLICT (mention_id) DO UPDATE SET raw_json = excluded.raw_json",
                (row["id"], raw),
            )
        if revised:
            self._revise(conn, row["id"], row["state"], old, mention, now)
        return IngestOutcome(row["id"], False, revised, answered)

    def _revise(
        self,
        conn: Conn,
        mention_id: int,
        state: str,
        old: dict[str, Any],
        mention: Mention,
        now: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO mention_revisions (mention_id, text, title, rating, updated_at, state,"
            " seen_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            "UPDATE mentions SET revisions = revisions + 1, revised_at = %s,"
            " original_rating = CASE WHEN revisions = 0 THEN %s ELSE original_rating END"
            " WHERE id = %s",
            (now, old.get("rating"), mention_id),
        )
        # A closed Slack message shows the edit too: it is re-rendered once.
        conn.execute(
            "UPDATE slack_messages SET is_open = TRUE WHERE mention_id = %s AND ts IS NOT NULL",
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
    def _link_thread(conn: Conn, mention_id: int, mention: Mention) -> None:
        for ref in dict.fromkeys(r for r in (mention.thread.parent, mention.thread.root) if r):
            found = conn.execute(_HELD_SQL, (mention.platform, ref)).fetchone()
            found = found or conn.execute(_OUR_REPLY_SQL, (ref, mention.platform)).fetchone()
            if found is not None and found["id"] != mention_id:
                conversation = found["conversation_id"] or found["id"]
                conn.execute(
                    "UPDATE mentions SET conversation_id = %s WHERE id IN (%s, %s)"
                    " AND conversation_id IS NULL",
                    (conversation, mention_id, found["id"]),
                )
                return

    def get_cursor(self, source: str) -> str | None:
        row = self._one("SELECT cursor FROM cursors WHERE source = %s", (source,))
        return row["cursor"] if row else None

    def record_source_result(
        self, source: str, error: str | None = None, disable: bool = False
    ) -> None:
        now = utcnow()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO cursors (source) VALUES (%s) ON CONFLICT DO NOTHING", (source,)
            )
            if error is None:
                conn.execute(
                    "UPDATE cursors SET last_success = %s, failures = 0, last_error = NULL"
                    " WHERE source = %s",
                    (now, source),
                )
                return
            conn.execute(
                "UPDATE cursors SET last_error = %s, failures = failures + 1,"
                " disabled = greatest(disabled, %s),"
                " disabled_reason = coalesce(%s, disabled_reason) WHERE source = %s",
                (redact(error), int(disable), redact(error) if disable else None, source),
            )

    def enable_source(self, source: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE cursors SET disabled = 0, disabled_reason = NULL, failures = 0"
                " WHERE source = %s",
                (source,),
            )
            self._audit(conn, None, "source_enabled", "operator", source=source)

    def source_status(self) -> list[SourceStatus]:
        rows = self._all("SELECT * FROM cursors ORDER BY source")
        return [
            SourceStatus(
                source=r["source"],
                cursor=r["cursor"],
                last_success=datetime.fromisoformat(r["last_success"])
                if r["last_success"]
                else None,
                last_error=r["last_error"],
                failures=r["failures"],
                disabled=bool(r["disabled"]),
                disabled_reason=r["disabled_reason"],
            )
            for r in rows
        ]

    # pipeline
    def pending(self, state: State, limit: int, now: datetime | None = None) -> list[Item]:
        """Due items in ``state``; for a work stage (new, classified, approved) they are
        claimed: leased to this caller, skipped by other daemons until moved on or expired."""
        due = now or utcnow()
        order = _CLAIM_ORDER.get(state)
        if order is None:
            return [
                item_of(r)
                for r in self._all(
                    f"{_ITEM_SQL} WHERE m.state = %s AND (m.next_attempt_at IS NULL"
                    " OR m.next_attempt_at <= %s) ORDER BY m.id LIMIT %s",
                    (state.value, due, limit),
                )
            ]
        with self._tx() as conn:
            picked = conn.execute(
                f"SELECT m.id FROM mentions m WHERE m.state = %s AND (m.next_attempt_at IS NULL"
                f" OR m.next_attempt_at <= %s) AND (m.lease_until IS NULL OR m.lease_until <= %s)"
                f" ORDER BY {order} LIMIT %s FOR UPDATE SKIP LOCKED",
                (state.value, due, due, limit),
            ).fetchall()
            ids = [r["id"] for r in picked]
            conn.execute(
                "UPDATE mentions SET lease_until = %s WHERE id = ANY(%s)", (due + LEASE, ids)
            )
            rows = conn.execute(
                f"{_ITEM_SQL} WHERE m.id = ANY(%s) ORDER BY {order}", (ids,)
            ).fetchall()
        return [item_of(_row(r)) for r in rows]

    def get(self, mention_id: int) -> Item:
        row = self._one(f"{_ITEM_SQL} WHERE m.id = %s", (mention_id,))
        if row is None:
            raise StoreError(f"no mention with id {mention_id}")
        return item_of(row)

    def find(self, platform: str, external_id: str) -> Item | None:
        row = self._one(
            f"{_ITEM_SQL} WHERE m.platform = %s AND m.external_id = %s", (platform, external_id)
        )
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
                classified_at=utcnow(),
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
            row = self._lock(conn, mention_id)
            analysis = row["analysis_json"] or {}
            analysis.update(urgency=urgency, explanation=explanation)
            self._set(conn, mention_id, {"urgency": urgency, "analysis_json": json_text(analysis)})

    def hold(self, mention_id: int, reason: str, until: datetime) -> None:
        with self._tx() as conn:
            fields = {"last_error": reason, "next_attempt_at": until, "post_after": until}
            self._set(conn, mention_id, fields)
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
        now = utcnow()
        with self._tx() as conn:
            draft = conn.execute(
                "INSERT INTO drafts (mention_id, text, meta_json, created_at)"
                " VALUES (%s, %s, %s::jsonb, %s) RETURNING id",
                (mention_id, text, json_text(meta), now),
            ).fetchone()
            assert draft is not None
            self._move(
                conn,
                mention_id,
                State.DRAFTED,
                expected,
                "drafted",
                "pipeline",
                draft_id=draft["id"],
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
        fields = {"attempts": attempts, "last_error": error, "next_attempt_at": retry_at}
        with self._tx() as conn:
            current = State(self._lock(conn, mention_id)["state"])
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
                **({"post_after": utcnow()} if state is State.APPROVED else {}),
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
            self._lock(conn, mention_id)  # decisions on one item (any daemon) queue up here
            if dedupe_key:
                existing = conn.execute(
                    "SELECT * FROM decisions WHERE dedupe_key = %s", (dedupe_key,)
                ).fetchone()
                if existing:
                    return decision_of(_row(existing), duplicate=True)
            row = conn.execute(
                "INSERT INTO decisions (mention_id, action, actor, channel, text, reason,"
                " dedupe_key, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
                (mention_id, action, actor, channel, text, reason, dedupe_key, now),
            ).fetchone()
            fields = decided_fields(to, now, actor, text, snooze_until, posted_url)
            self._move(conn, mention_id, to, expected, action, actor, **fields)
            if to is State.APPROVED:
                conn.execute(f"NOTIFY {WAKE_CHANNEL}")
        return decision_of(_row(row))

    def wake_snoozed(
        self, now: datetime, *, expected: Collection[State] | None = None
    ) -> list[int]:
        rows = self._all(
            "SELECT id FROM mentions WHERE state = 'snoozed' AND snooze_until <= %s", (now,)
        )
        woken = []
        for row in rows:
            with self._tx() as conn:
                if self._lock(conn, row["id"])["state"] != State.SNOOZED.value:
                    continue  # decided (or woken by another daemon) since the select
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
        where, args = ("WHERE mention_id = %s", [mention_id]) if mention_id else ("", [])
        rows = self._all(
            f"SELECT * FROM decisions {where} ORDER BY id DESC LIMIT %s", (*args, limit)
        )
        return [decision_of(r) for r in rows]

    def approved_examples(self, limit: int = 200) -> list[ApprovedExample]:
        rows = self._all(
            "SELECT m.mention_json->>'text' AS mention_text, m.platform, m.intent, d.text,"
            " d.action FROM decisions d JOIN mentions m ON m.id = d.mention_id"
            " WHERE d.action IN ('approve', 'edit') ORDER BY d.id DESC LIMIT %s",
            (limit,),
        )
        return [
            ApprovedExample(
                mention_text=r["mention_text"] or "",
                reply_text=r["text"] or "",
                edited=r["action"] == "edit",
                platform=r["platform"],
                intent=r["intent"] or "",
            )
            for r in rows
        ]

    # posting
    def begin_post(
        self, mention_id: int, *, expected: Collection[State] | None = None
    ) -> PostIntent:
        with self._tx() as conn:
            row = self._lock(conn, mention_id)
            allowed = workflow.sources(State.POSTING) if expected is None else expected
            workflow.check(mention_id, State(row["state"]), allowed)
            text = row["final_text"]
            if not text:
                raise StoreError(f"mention {mention_id} has no approved text")
            key = f"repbot-{mention_id}"
            post = conn.execute(
                "INSERT INTO posts (mention_id, idempotency_key, source, text, status, created_at)"
                " VALUES (%s, %s, %s, %s, 'intent', %s) ON CONFLICT (idempotency_key) DO UPDATE"
                " SET status = 'intent', attempts = posts.attempts + 1, text = excluded.text"
                " RETURNING attempts",
                (mention_id, key, row["source"], text, utcnow()),
            ).fetchone()
            assert post is not None
            self._move(conn, mention_id, State.POSTING, expected, "posting", "poster")
        return PostIntent(mention_id, key, text, int(post["attempts"]))

    def complete_post(
        self,
        mention_id: int,
        external_id: str,
        url: str | None,
        *,
        expected: Collection[State] | None = None,
    ) -> None:
        now = utcnow()
        with self._tx() as conn:
            conn.execute(
                "UPDATE posts SET status = 'posted', external_id = %s, url = %s,"
                " finished_at = %s WHERE mention_id = %s AND status = 'intent'",
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
                "UPDATE posts SET status = 'failed', last_error = %s, finished_at = %s"
                " WHERE mention_id = %s AND status = 'intent'",
                (error, utcnow(), mention_id),
            )
            fields: dict[str, Any] = {"last_error": error, "attempts": attempts}
            if retry_at is not None:
                fields["next_attempt_at"] = fields["post_after"] = retry_at
            self._move(conn, mention_id, to, expected, event, "poster", **fields)

    def in_flight_posts(self) -> list[PostIntent]:
        rows = self._all(
            "SELECT p.* FROM posts p JOIN mentions m ON m.id = p.mention_id"
            " WHERE p.status = 'intent' AND m.state = 'posting' ORDER BY p.id"
        )
        return [
            PostIntent(r["mention_id"], r["idempotency_key"], r["text"], r["attempts"])
            for r in rows
        ]

    def posts_this_month(self, source: str, now: datetime) -> int:
        row = self._one(
            "SELECT n FROM post_counts WHERE source = %s AND month = %s",
            (source, now.astimezone(UTC).strftime("%Y-%m")),
        )
        return int(row["n"]) if row else 0

    def due_posts(self, now: datetime, limit: int) -> list[Item]:
        """Approved replies whose undo window is over, most urgent first, claimed as
        :meth:`pending` claims (another daemon skips them)."""
        with self._tx() as conn:
            picked = conn.execute(
                "SELECT id FROM mentions WHERE state = 'approved' AND post_after <= %s"
                " AND (lease_until IS NULL OR lease_until <= %s)"
                " ORDER BY post_after LIMIT %s FOR UPDATE SKIP LOCKED",
                (now, now, limit),
            ).fetchall()
            ids = [r["id"] for r in picked]
            conn.execute(
                "UPDATE mentions SET lease_until = %s WHERE id = ANY(%s)", (now + LEASE, ids)
            )
            rows = conn.execute(
                f"{_ITEM_SQL} WHERE m.id = ANY(%s) ORDER BY m.urgency DESC NULLS LAST, m.id",
                (ids,),
            ).fetchall()
        return [item_of(_row(r)) for r in rows]

    def set_post_after(self, mention_id: int, when: datetime) -> None:
        with self._tx() as conn:
            self._set(conn, mention_id, {"post_after": when})

    # views
    def queue(
        self,
        states: list[State] | None = None,
        platform: str | None = None,
        intent: str | None = None,
        limit: int = 100,
    ) -> list[Item]:
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("m.platform", platform), ("m.intent", intent)):
            if value:
                clauses.append(f"{column} = %s")
                args.append(value)
        if states:
            clauses.append("m.state = ANY(%s)")
            args.append([s.value for s in dict.fromkeys(states)])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._all(
            f"{_ITEM_SQL} {where} ORDER BY m.urgency DESC NULLS LAST, m.id DESC LIMIT %s",
            (*args, limit),
        )
        return [item_of(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._all("SELECT state, n FROM state_counts WHERE n > 0")
        return {r["state"]: int(r["n"]) for r in rows}

    def repeat_contacts(self, platform: str, author: str, since: datetime, before_id: int) -> int:
        if not author:
            return 0
        row = self._one(
            "SELECT count(*) AS n FROM mentions WHERE platform = %s AND author_handle = %s"
            " AND created_at >= %s AND id < %s",
            (platform, author.lower(), since, before_id),
        )
        return int(row["n"])

    def response_times(self) -> dict[str, dict[str, float]]:
        # Triggers keep a histogram per stage (buckets 2 % wide, as in the SQLite store).
        rows = self._all(
            "SELECT stage, lo, hi, n FROM (SELECT stage, lo, n, lead(lo) OVER"
            " (PARTITION BY stage ORDER BY lo) AS hi FROM kpi_hist) AS h WHERE n > 0"
            " ORDER BY stage, lo"
        )
        buckets: dict[str, list[tuple[int, int, int]]] = {stage: [] for stage in KPI_STAGES}
        for r in rows:
            lo = int(r["lo"])
            buckets[r["stage"]].append((lo, int(r["hi"] or lo + 1), int(r["n"])))
        return {stage: histogram_summary(b) for stage, b in buckets.items()}

    # retention
    def prune(
        self, raw_before: datetime | None, audit_before: datetime | None, chunk: int = 2000
    ) -> PruneResult:
        raw = audit = 0
        if raw_before is not None or audit_before is not None:
            top = int(self._one("SELECT coalesce(max(id), 0) AS top FROM mentions")["top"])
            for low in range(0, top, chunk):
                with self._tx() as conn:  # short transactions: the daemons keep writing
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
        return PruneResult(raw, audit, 0)  # PostgreSQL's vacuum reuses the space

    @staticmethod
    def _prune_raw(conn: Conn, ids: tuple[int, int], before: datetime | None) -> int:
        if before is None:
            return 0
        cur = conn.execute(
            f"DELETE FROM mention_raw WHERE mention_id IN ({_CLOSED_BETWEEN})",
            (*ids, list(_CLOSED_STATES), before),
        )
        return cur.rowcount

    @staticmethod
    def _prune_audit(conn: Conn, ids: tuple[int, int], before: datetime | None) -> int:
        if before is None:
            return 0
        # The append-only trigger lets a row go only while a grant older than it exists, and
        # the grant never outlives this transaction (nor is it seen by another).
        conn.execute("INSERT INTO prune_grant (cutoff) VALUES (%s)", (before,))
        cur = conn.execute(
            f"DELETE FROM audit WHERE mention_id IN ({_CLOSED_BETWEEN}) AND at < %s",
            (*ids, list(_CLOSED_STATES), before, before),
        )
        conn.execute("DELETE FROM prune_grant")
        return cur.rowcount

    def _prune_unattached_audit(self, before: datetime, chunk: int) -> int:
        """Entries of no mention (ingest counts, alerts) older than ``before`` and than every
        open item, whose ingest they may record."""
        cutoff = before
        with self._tx() as conn:
            for state in State:
                if state in _CLOSED_STATES:
                    continue
                row = conn.execute(
                    "SELECT min(ingested_at) AS first FROM mentions WHERE state = %s",
                    (state.value,),
                ).fetchone()
                if row is not None and row["first"] is not None:
                    cutoff = min(cutoff, row["first"])
        removed = 0
        while True:
            with self._tx() as conn:
                conn.execute("INSERT INTO prune_grant (cutoff) VALUES (%s)", (cutoff,))
                gone = conn.execute(
                    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE mention_id IS NULL"
                    " AND at < %s ORDER BY at, id LIMIT %s)",
                    (cutoff, chunk),
                ).rowcount
                conn.execute("DELETE FROM prune_grant")
            removed += gone
            if gone < chunk:
                return removed

    # alerts, audit, key-value
    def add_alert(self, source: str, kind: str, message: str) -> None:
        message = redact(message)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO alerts (at, source, kind, message) VALUES (%s, %s, %s, %s)",
                (utcnow(), source, kind, message),
            )
            self._audit(conn, None, f"alert:{kind}", f"source:{source}", message=message)

    def alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM alerts ORDER BY id DESC LIMIT %s", (limit,))

    def audit_log(self, mention_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        where, args = ("WHERE mention_id = %s", [mention_id]) if mention_id else ("", [])
        rows = self._all(f"SELECT * FROM audit {where} ORDER BY id LIMIT %s", (*args, limit))
        return [{**r, "detail": json.loads(r["detail_json"])} for r in rows]

    def audit(self, event: str, actor: str, mention_id: int | None = None, **detail: Any) -> None:
        with self._tx() as conn:
            self._audit(conn, mention_id, event, actor, **detail)

    def kv_get(self, key: str) -> str | None:
        row = self._one("SELECT value FROM kv WHERE key = %s", (key,))
        return row["value"] if row else None

    def kv_set(self, key: str, value: str | None) -> None:
        with self._tx() as conn:
            if value is None:
                conn.execute("DELETE FROM kv WHERE key = %s", (key,))
                return
            conn.execute(
                "INSERT INTO kv (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # accounts (section 13A)
    def user_add(
        self, name: str, role: str, password_hash: str, slack_user_id: str | None = None
    ) -> UserRecord:
        try:
            row = self._one(
                "INSERT INTO users (name, role, password_hash, slack_user_id, created_at)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                (name, role, password_hash, slack_user_id, utcnow()),
            )
        except psycopg.errors.UniqueViolation as exc:
            taken = "Slack user" if "slack_user_id" in str(exc) else "name"
            raise StoreError(f"an account with this {taken} already exists") from None
        return user_of(row)

    def user_get(self, name: str) -> UserRecord | None:
        return self._user_where("name = %s", name)

    def user_by_id(self, user_id: int) -> UserRecord | None:
        return self._user_where("id = %s", user_id)

    def user_by_slack(self, slack_user_id: str) -> UserRecord | None:
        return self._user_where("slack_user_id = %s", slack_user_id)

    def users(self, after_id: int = 0, limit: int = 100) -> list[UserRecord]:
        rows = self._all(
            "SELECT * FROM users WHERE id > %s ORDER BY id LIMIT %s", (after_id, limit)
        )
        return [user_of(r) for r in rows]

    def has_users(self) -> bool:
        return self._one("SELECT 1 AS one FROM users LIMIT 1") is not None

    def user_update(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
        end_sessions: bool = False,
    ) -> UserRecord:
        row = self._one(
            "UPDATE users SET role = coalesce(%s, role),"
            " password_hash = coalesce(%s, password_hash), disabled = coalesce(%s, disabled),"
            " session_epoch = session_epoch + %s"
            " WHERE id = %s RETURNING *",
            (role, password_hash, disabled, int(end_sessions), user_id),
        )
        if row is None:
            raise StoreError(f"no account with id {user_id}")
        return user_of(row)

    def user_logged_in(self, user_id: int, at: datetime) -> None:
        self._one("UPDATE users SET last_login_at = %s WHERE id = %s RETURNING id", (at, user_id))

    def _user_where(self, where: str, value: object) -> UserRecord | None:
        row = self._one(f"SELECT * FROM users WHERE {where}", (value,))
        return user_of(row) if row else None

    # undo window and people's claims (section 13B)
    def undo(
        self, mention_id: int, actor: str, *, channel: str, expected: Collection[State]
    ) -> Decision:
        now = utcnow()
        with self._tx() as conn:
            self._lock(conn, mention_id)
            row = conn.execute(
                "SELECT m.final_text, d.meta_json FROM mentions m"
                " LEFT JOIN drafts d ON d.id = m.draft_id WHERE m.id = %s",
                (mention_id,),
            ).fetchone()
            assert row is not None  # locked above
            decision = conn.execute(
                "INSERT INTO decisions (mention_id, action, actor, channel, text, created_at)"
                " VALUES (%s, 'undo', %s, %s, %s, %s) RETURNING *",
                (mention_id, actor, channel, row["final_text"], now),
            ).fetchone()
            draft = conn.execute(
                "INSERT INTO drafts (mention_id, text, meta_json, created_at)"
                " VALUES (%s, %s, %s::jsonb, %s) RETURNING id",
                (mention_id, row["final_text"] or "", json_text(row["meta_json"] or {}), now),
            ).fetchone()
            assert draft is not None
            self._move(
                conn,
                mention_id,
                State.AWAITING_APPROVAL,
                expected,
                "undo",
                actor,
                draft_id=draft["id"],
                final_text=None,
                post_after=None,
                decided_by=actor,
            )
        return decision_of(_row(decision))

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
            self._lock(conn, mention_id)  # two daemons claiming one item queue up here
            found = conn.execute(
                "SELECT * FROM claims WHERE mention_id = %s AND expires_at > %s",
                (mention_id, now),
            ).fetchone()
            live = claim_of(_row(found)) if found else None
            if live is None or live.identity in (holder, identity):
                conn.execute(
                    "INSERT INTO claims (mention_id, identity, actor, claimed_at, expires_at)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (mention_id) DO UPDATE SET"
                    " identity = excluded.identity, actor = excluded.actor,"
                    " claimed_at = excluded.claimed_at, expires_at = excluded.expires_at",
                    (mention_id, identity, actor, now, expires),
                )
                taken_from = live.actor if live and live.identity != identity else None
                self._audit(
                    conn, mention_id, "claimed", actor, until=to_iso(expires), taken_from=taken_from
                )
                live = Claim(mention_id, identity, actor, now, expires)
        return live

    def claims(self, mention_ids: Collection[int], now: datetime) -> dict[int, Claim]:
        rows = self._all(
            "SELECT * FROM claims WHERE mention_id = ANY(%s) AND expires_at > %s",
            (list(dict.fromkeys(mention_ids)), now),
        )
        return {r["mention_id"]: claim_of(r) for r in rows}

    def release_claim(self, mention_id: int, actor: str) -> bool:
        with self._tx() as conn:
            gone = conn.execute("DELETE FROM claims WHERE mention_id = %s", (mention_id,)).rowcount
            if gone:
                self._audit(conn, mention_id, "claim_released", actor)
        return bool(gone)

    def items(self, ids: Sequence[int]) -> list[Item]:
        wanted = list(dict.fromkeys(int(i) for i in ids))
        rows = self._all(f"{_ITEM_SQL} WHERE m.id = ANY(%s)", (wanted,))
        found = {r["id"]: item_of(r) for r in rows}
        return [found[i] for i in wanted if i in found]

    # queue pages, full-text search, customer history (section 13C)
    def queue_page(
        self, where: QueueFilter, after: QueueCursor | None = None, limit: int = 50
    ) -> QueuePage:
        limit = max(1, min(limit, 500))
        if where.search:
            rows = self._search_rows(where, after, limit + 1)
        else:
            rows = self._keyset_rows(where, after, limit + 1)
        items = [item_of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return QueuePage(items, QueueCursor(items[-1].urgency, items[-1].id) if more else None)

    def _keyset_rows(self, where: QueueFilter, after: QueueCursor | None, n: int) -> list[Any]:
        """Rows after ``after`` in queue order: per state, a backward walk of ``mentions_queue``
        over the scored items and one over the unscored ones, each stopping after ``n``."""
        facets, facet_args = _facet_clauses(where)
        walks: list[str] = []
        args: list[Any] = []
        for state in dict.fromkeys(where.states or tuple(State)):
            for bounds, order, bound_args in _keyset_walks(after):
                clauses = " AND ".join(["m.state = %s", *bounds, *facets])
                walks.append(
                    f"(SELECT m.id, m.urgency FROM mentions m WHERE {clauses}"
                    f" ORDER BY {order} LIMIT %s)"
                )
                args += [state.value, *bound_args, *facet_args, n]
        return self._all(
            f"{_VIEW_SQL} JOIN (SELECT id FROM ({' UNION ALL '.join(walks)}) AS walks"
            " ORDER BY urgency DESC NULLS LAST, id DESC LIMIT %s) AS page ON page.id = m.id"
            " ORDER BY m.urgency DESC NULLS LAST, m.id DESC",
            (*args, n),
        )

    def _search_rows(self, where: QueueFilter, after: QueueCursor | None, n: int) -> list[Any]:
        """Matches of the GIN index, newest first (the cursor is the last id)."""
        clauses = ["s.doc @@ repbot_search_query(%s)"]
        args: list[Any] = [_search_terms(where.search or "")]
        if after is not None:
            clauses.append("s.mention_id < %s")
            args.append(after.id)
        if where.states:
            clauses.append("m.state = ANY(%s)")
            args.append([state.value for state in where.states])
        facets, facet_args = _facet_clauses(where)
        return self._all(
            # The index drives: each match is looked up by id (OFFSET 0 keeps the planner from
            # turning that into a join that reads every mention of a state or platform).
            "SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta FROM mention_search s"
            " CROSS JOIN LATERAL (SELECT * FROM mentions WHERE id = s.mention_id OFFSET 0) AS m"
            " LEFT JOIN drafts d ON d.id = m.draft_id"
            f" WHERE {' AND '.join([*clauses, *facets])} ORDER BY s.mention_id DESC LIMIT %s",
            (*args, *facet_args, n),
        )

    def queue_entered(self, where: QueueFilter, since: datetime, limit: int = 100) -> list[int]:
        facets, facet_args = _facet_clauses(where)
        clauses = ["m.state = ANY(%s)", "m.state_changed_at >= %s", *facets]
        args: list[Any] = [[s.value for s in where.states or tuple(State)], since, *facet_args]
        if where.search:
            # A per-row look-up of the few recent items, never a join with every match.
            clauses.append(
                "(SELECT s.doc FROM mention_search s WHERE s.mention_id = m.id)"
                " @@ repbot_search_query(%s)"
            )
            args.append(_search_terms(where.search))
        rows = self._all(
            f"SELECT m.id FROM mentions m WHERE {' AND '.join(clauses)}"
            " ORDER BY m.state_changed_at DESC LIMIT %s",
            (*args, max(1, min(limit, 500))),
        )
        return [int(r["id"]) for r in rows]

    def facets(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"platform": [], "intent": []}
        rows = self._all(
            "SELECT facet, value FROM facet_counts WHERE n > 0"
            ' ORDER BY facet COLLATE "C", value COLLATE "C"'
        )
        for row in rows:
            out.setdefault(row["facet"], []).append(row["value"])
        return out

    def customer_history(
        self, mention_id: int, *, limit: int = 20, across_platforms: bool = False
    ) -> list[HistoryEntry]:
        with self._tx() as conn:
            me = conn.execute(
                "SELECT platform, author_handle, created_at FROM mentions WHERE id = %s",
                (mention_id,),
            ).fetchone()
            if me is None:
                raise StoreError(f"no mention with id {mention_id}")
            if not me["author_handle"]:
                return []
            where = "m.author_handle = %s AND m.created_at <= %s AND m.id <> %s"
            args: list[Any] = [me["author_handle"], me["created_at"], mention_id]
            if not across_platforms:
                where = f"m.platform = %s AND {where}"
                args.insert(0, me["platform"])
            rows = [
                _row(r)
                for r in conn.execute(
                    "SELECT m.id, m.platform, m.state, m.created_at, m.mention_json,"
                    " m.posted_url, (SELECT p.text FROM posts p WHERE p.mention_id = m.id"
                    f" AND p.status = 'posted') AS reply FROM mentions m WHERE {where}"
                    " ORDER BY m.created_at DESC, m.id DESC LIMIT %s",
                    (*args, max(1, min(limit, 200))),
                ).fetchall()
            ]
            decided: dict[int, list[Decision]] = {}
            for d in conn.execute(
                "SELECT * FROM decisions WHERE mention_id = ANY(%s) ORDER BY id DESC",
                ([r["id"] for r in rows],),
            ).fetchall():
                decided.setdefault(d["mention_id"], []).append(decision_of(_row(d)))
        return [history_entry_of(r, decided.get(r["id"], [])) for r in rows]

    # revisions and conversations (section 14)
    def revisions(self, mention_id: int, limit: int = 20) -> list[Revision]:
        rows = self._all(
            "SELECT * FROM mention_revisions WHERE mention_id = %s ORDER BY id DESC LIMIT %s",
            (mention_id, limit),
        )
        return [
            Revision(
                mention_id=r["mention_id"],
                text=r["text"],
                title=r["title"],
                rating=r["rating"],
                updated_at=datetime.fromisoformat(r["updated_at"]) if r["updated_at"] else None,
                state=State(r["state"]),
                seen_at=datetime.fromisoformat(r["seen_at"]),
            )
            for r in rows
        ]

    def conversation(self, mention_id: int, limit: int = 20) -> list[Turn]:
        rows = self._all(
            "SELECT * FROM (SELECT id, state, mention_json, final_text, posted_at"
            " FROM mentions WHERE conversation_id ="
            " (SELECT conversation_id FROM mentions WHERE id = %s)"
            " ORDER BY id DESC LIMIT %s) AS recent ORDER BY id",
            (mention_id, limit),
        )
        return [turn_of(r) for r in rows]

    def open_in_conversation(
        self, conversation_id: int, states: Collection[State], before_id: int
    ) -> int | None:
        row = self._one(
            "SELECT id FROM mentions WHERE conversation_id = %s AND id < %s"
            " AND state = ANY(%s) ORDER BY id LIMIT 1",
            (conversation_id, before_id, [s.value for s in states]),
        )
        return int(row["id"]) if row else None

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
        row = self._one(
            "SELECT id FROM mentions WHERE platform = %s AND author_handle = %s"
            " AND created_at >= %s AND id < %s AND state = ANY(%s)"
            " ORDER BY created_at DESC LIMIT 1",
            (platform, author.lower(), since, before_id, [s.value for s in states]),
        )
        return int(row["id"]) if row else None

    def join_conversation(self, mention_id: int, into_id: int) -> int:
        with self._tx() as conn:
            target = self._lock(conn, into_id)
            conversation = int(target["conversation_id"] or into_id)
            conn.execute(
                "UPDATE mentions SET conversation_id = %s WHERE id IN (%s, %s)",
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
                posted_at=answered_at,
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

    # approved examples with vectors (the answer library's memory)
    def approved_since(
        self, after_id: int, model: str | None = None, limit: int = 1000
    ) -> list[StoredExample]:
        rows = self._all(
            "SELECT d.id, m.mention_json->>'text' AS mention_text, m.platform, m.intent, d.text,"
            " d.action, e.dim, e.vector, d.mention_id,"
            " m.mention_json#>>'{author,display_name}' AS author FROM decisions d"
            " JOIN mentions m ON m.id = d.mention_id"
            " LEFT JOIN example_embeddings e ON e.decision_id = d.id AND e.model = %s"
            " WHERE d.id > %s AND d.action IN ('approve', 'edit') ORDER BY d.id LIMIT %s",
            (model or "", after_id, limit),
        )
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
                vector=bytes(r["vector"]) if model and r["vector"] is not None else None,
                dim=r["dim"] or 0,
            )
            for r in rows
        ]

    def approved_floor(self, keep: int) -> int:
        row = self._one(
            "SELECT id FROM decisions WHERE action IN ('approve', 'edit')"
            " ORDER BY id DESC LIMIT 1 OFFSET %s",
            (keep,),
        )
        return int(row["id"]) if row else 0

    def save_example_embeddings(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        with self._tx() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO example_embeddings (decision_id, model, dim, vector)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (decision_id, model) DO UPDATE"
                " SET dim = excluded.dim, vector = excluded.vector",
                [(decision_id, model, len(blob) // 4, blob) for decision_id, blob in vectors],
            )

    # feedback labels (section 15)
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
                "SELECT mention_json->>'text' AS text FROM mentions WHERE id = %s", (mention_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no item #{mention_id}")
            stored = conn.execute(
                "INSERT INTO feedback_labels (mention_id, label, previous, actor, channel, reason,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (mention_id, label, previous, actor, channel, reason, now),
            ).fetchone()
            assert stored is not None
            self._audit(conn, mention_id, "relabel", actor, label=label, previous=previous)
        return FeedbackLabel(
            int(stored["id"]), mention_id, label, actor, channel, now, row["text"], previous,
            reason,
        )  # fmt: skip

    def feedback_labels(self, after_id: int = 0, limit: int = 500) -> list[FeedbackLabel]:
        rows = self._all(
            "SELECT f.id, f.mention_id, f.label, f.actor, f.channel, f.created_at,"
            " m.mention_json->>'text' AS text, f.previous, f.reason FROM feedback_labels f"
            " JOIN mentions m ON m.id = f.mention_id WHERE f.id > %s ORDER BY f.id LIMIT %s",
            (after_id, limit),
        )
        return [_feedback_label(r) for r in rows]

    # operations (sections 16, 16L)
    def mark_first_look(self, mention_id: int, at: datetime) -> bool:
        row = self._one(
            "UPDATE mentions SET first_look_at = %s WHERE id = %s AND first_look_at IS NULL"
            " RETURNING id",
            (at, mention_id),
        )
        return row is not None

    def ops_rows(
        self,
        since: datetime,
        until: datetime,
        *,
        after: tuple[datetime, int] | None = None,
        limit: int = 1000,
        states: Collection[str] | None = None,
    ) -> list[OpsRow]:
        where = "ingested_at >= %s AND ingested_at < %s"
        args: list[Any] = [since, until]
        if after is not None:
            where = "(ingested_at, id) > (%s, %s) AND ingested_at < %s"
            args = [after[0], after[1], until]
        if states is not None:
            where += " AND state = ANY(%s)"
            args.append(list(states))
        rows = self._all(
            f"SELECT {_OPS_COLUMNS} FROM mentions WHERE {where} ORDER BY ingested_at, id LIMIT %s",
            (*args, limit),
        )
        return [ops_row_of(tuple(r.values())) for r in rows]  # type: ignore[arg-type]

    def last_ingested(self, source: str) -> datetime | None:
        row = self._one(
            "SELECT ingested_at FROM mentions WHERE source = %s ORDER BY ingested_at DESC LIMIT 1",
            (source,),
        )
        return datetime.fromisoformat(row["ingested_at"]) if row else None

    def alerts_between(
        self, since: datetime, until: datetime, kinds: Collection[str], limit: int = 200
    ) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM alerts WHERE at >= %s AND at < %s AND kind = ANY(%s)"
            " ORDER BY at, id LIMIT %s",
            (since, until, list(kinds), limit),
        )

    def alerts_after(self, after_id: int, limit: int = 200) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM alerts WHERE id > %s ORDER BY id LIMIT %s", (after_id, limit)
        )

    def add_sla_alert(self, mention_id: int, level: str, source: str, message: str) -> bool:
        message, now = redact(message), utcnow()
        with self._tx() as conn:
            new = conn.execute(
                "INSERT INTO sla_alerts (mention_id, level, at) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (mention_id, level, now),
            ).rowcount
            if new:
                conn.execute(
                    "INSERT INTO alerts (at, source, kind, message) VALUES (%s, %s, %s, %s)",
                    (now, source, level, message),
                )
                self._audit(conn, mention_id, f"alert:{level}", f"source:{source}", message=message)
        return bool(new)

    def event_counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self._all("SELECT family, label, n FROM event_counts"):
            out.setdefault(r["family"], {})[r["label"]] = int(r["n"])
        return out

    def post_totals(self) -> dict[str, int]:
        rows = self._all("SELECT source, sum(n) AS n FROM post_counts GROUP BY source")
        return {r["source"]: int(r["n"]) for r in rows}

    def check_writable(self) -> None:
        try:
            with self.pool.connection(timeout=5) as conn, conn.transaction(force_rollback=True):
                conn.execute("SET LOCAL lock_timeout = '1s'")
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES ('readyz', '1')"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                )
                if conn.execute("SELECT pg_is_in_recovery() AS r").fetchone() == {"r": True}:
                    raise StoreError("the store is a read-only replica")
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"the store is not writable: {redact(str(exc))}") from None

    # Slack delivery
    def slack_undelivered(self, limit: int) -> list[tuple[Item, str]]:
        rows = self._all(
            f"SELECT m.*, d.text AS draft_text, d.meta_json AS draft_meta,"
            f" {_SLACK_VERSION} AS item_version"
            " FROM mentions m LEFT JOIN drafts d ON d.id = m.draft_id"
            " WHERE m.state = 'awaiting_approval' AND NOT EXISTS (SELECT 1 FROM slack_messages s"
            " WHERE s.mention_id = m.id AND s.state = 'awaiting_approval')"
            " ORDER BY m.urgency DESC NULLS LAST, m.id DESC LIMIT %s",
            (limit,),
        )
        return [(item_of(r), str(r["item_version"])) for r in rows]

    def slack_changed(self, limit: int) -> list[SlackMessage]:
        rows = self._all(
            f"SELECT {_SLACK_COLUMNS} FROM slack_messages s JOIN mentions m ON m.id = s.mention_id"
            " WHERE s.is_open AND s.ts IS NOT NULL"
            f" AND (s.version IS NULL OR s.version <> {_SLACK_VERSION})"
            " ORDER BY s.mention_id LIMIT %s",
            (limit,),
        )
        return [slack_message_of(r) for r in rows]

    def slack_message(self, mention_id: int) -> SlackMessage | None:
        row = self._one(
            f"SELECT {_SLACK_COLUMNS} FROM slack_messages s JOIN mentions m ON m.id = s.mention_id"
            " WHERE s.mention_id = %s",
            (mention_id,),
        )
        return slack_message_of(row) if row else None

    def slack_intents(self) -> list[SlackMessage]:
        rows = self._all(
            f"SELECT {_SLACK_COLUMNS} FROM slack_messages s JOIN mentions m ON m.id = s.mention_id"
            " WHERE s.ts IS NULL ORDER BY s.intent_at"
        )
        return [slack_message_of(r) for r in rows]

    def slack_intend(self, mention_id: int, channel: str) -> SlackMessage | None:
        with self._tx() as conn:
            claimed = conn.execute(
                "INSERT INTO slack_messages (mention_id, channel, ts, state, episode, version,"
                f" sig, is_open, intent_at, sent_at) SELECT id, %s, NULL, state,"
                f" {_iso('state_changed_at')}, NULL, NULL, TRUE, %s, NULL FROM mentions"
                " WHERE id = %s AND state = 'awaiting_approval'"
                " ON CONFLICT (mention_id) DO UPDATE SET channel = excluded.channel,"
                " ts = NULL, state = excluded.state, episode = excluded.episode, version = NULL,"
                " sig = NULL, is_open = TRUE, intent_at = excluded.intent_at, sent_at = NULL"
                " WHERE slack_messages.state <> excluded.state RETURNING mention_id",
                (channel, utcnow(), mention_id),
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
                "SELECT ts FROM slack_messages WHERE mention_id = %s FOR UPDATE", (mention_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no Slack message or intent for mention {mention_id}")
            conn.execute(
                "UPDATE slack_messages SET channel = %s, ts = %s, state = %s, version = %s,"
                " sig = %s, is_open = %s, sent_at = coalesce(sent_at, %s) WHERE mention_id = %s",
                (channel, ts, state.value, version, sig, is_open, utcnow(), mention_id),
            )
            if row["ts"] is None:
                self._audit(conn, mention_id, "slack_delivered", "slack", channel=channel)

    def slack_forget(self, mention_id: int) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM slack_messages WHERE mention_id = %s AND ts IS NULL", (mention_id,)
            )

    # several daemons
    def wait_for_work(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a ``NOTIFY`` of new work from any daemon."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {WAKE_CHANNEL}")
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                return True
        return False

    def hold_source(self, source: str) -> bool:
        """Take or keep this daemon's advisory lock on ``source`` (the runner polls only while
        True); a lock whose session died is retaken by whichever daemon asks first."""
        with self._locks_guard:
            lock = self._source_locks.setdefault(source, self.source_lock(source))
        try:
            return lock.acquire()
        except psycopg.Error:
            lock.release()
            return False

    def source_lock(self, source: str) -> SourceLock:
        """An advisory lock on ``source``: poll it only while :meth:`SourceLock.acquire` is True."""
        return SourceLock(self.dsn, source)

    # helpers: every transition is a compare-and-set against the workflow's rules
    @staticmethod
    def _lock(conn: Conn, mention_id: int) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM mentions WHERE id = %s FOR UPDATE", (mention_id,))
        found = row.fetchone()
        if found is None:
            raise StoreError(f"no mention with id {mention_id}")
        return found

    def _move(
        self,
        conn: Conn,
        mention_id: int,
        to: State,
        expected: Collection[State] | None,
        event: str,
        actor: str,
        **fields: Any,
    ) -> None:
        current = State(self._lock(conn, mention_id)["state"])
        allowed = workflow.sources(to) if expected is None else expected
        workflow.check(mention_id, current, allowed)
        fields.update(state=to.value, state_changed_at=utcnow())
        self._set(conn, mention_id, fields)
        self._audit(conn, mention_id, event, actor, from_state=current.value, to_state=to.value)

    @staticmethod
    def _set(conn: Conn, mention_id: int, fields: dict[str, Any]) -> None:
        """Write columns; the claim lease ends with any change made for the item."""
        fields = {**fields, "lease_until": None}
        cast_to = {"analysis_json": "::jsonb"}
        assignments = ", ".join(f"{name} = %s{cast_to.get(name, '')}" for name in fields)
        conn.execute(
            f"UPDATE mentions SET {assignments} WHERE id = %s", (*fields.values(), mention_id)
        )

    @staticmethod
    def _audit(conn: Conn, mention_id: int | None, event: str, actor: str, **detail: Any) -> None:
        conn.execute(
            "INSERT INTO audit (at, mention_id, event, actor, detail_json)"
            " VALUES (%s, %s, %s, %s, %s::jsonb)",
            (utcnow(), mention_id, event, actor, redact(json_text(detail))),
        )


def open_postgres(
    dsn: str,
    *,
    migrate: bool = True,
    pool_size: int = 4,
    wait: float = 30.0,
    call_wait: float = CALL_WAIT,
) -> PostgresStore:
    """Open (and by default migrate) a PostgreSQL store."""
    return PostgresStore(dsn, migrate=migrate, pool_size=pool_size, wait=wait, call_wait=call_wait)
