"""The store at volume: claim order, query plans, incremental KPIs and counts, raw payloads kept
apart, the retention prune and ``repbot prune``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from repbot import workflow
from repbot.cli import main
from repbot.errors import InvalidTransition
from repbot.models import State, utcnow
from repbot.store import SqliteStore
from repbot.store.migrations import MIGRATIONS
from repbot.testing.fakes import make_mention
from repbot.workflow import RetryPolicy

ANALYSIS = {"label": "negative", "intent": "complaint", "explanation": [["x", 0.5]]}
BIG_TABLES = ("mentions", "posts", "decisions", "audit", "drafts")


def _classified(store: SqliteStore, urgencies: list[float | None]) -> list[int]:
    ids = store.ingest("src", [make_mention(i) for i in range(len(urgencies))], None).new_ids
    for mention_id, urgency in zip(ids, urgencies, strict=True):
        store.set_classified(mention_id, {**ANALYSIS, "urgency": urgency})
    return ids


def _expected_order(ids: list[int], urgencies: list[float | None]) -> list[int]:
    pairs = sorted(
        zip(ids, urgencies, strict=True), key=lambda p: (p[1] is None, -(p[1] or 0), p[0])
    )
    return [i for i, _ in pairs]


def test_classified_items_are_drafted_most_urgent_first(repbot_store: SqliteStore) -> None:
    urgencies: list[float | None] = [0.1, 0.9, None, 0.5, 0.9, 0.3]
    ids = _classified(repbot_store, urgencies)
    claimed = [i.id for i in repbot_store.pending(State.CLASSIFIED, 10)]
    assert claimed == _expected_order(ids, urgencies)
    assert [i.id for i in repbot_store.pending(State.CLASSIFIED, 2)] == claimed[:2]


def test_approved_items_are_posted_most_urgent_first_and_held_ones_wait(
    repbot_store: SqliteStore,
) -> None:
    urgencies: list[float | None] = [0.2, 0.8, 0.5]
    ids = _classified(repbot_store, urgencies)
    for mention_id in ids:
        repbot_store.set_draft(mention_id, "sorry", {})
        workflow.decide(repbot_store, mention_id, "approve", "U1", text="sorry")
    repbot_store.hold(ids[1], "budget", utcnow() + timedelta(days=1))
    assert [i.id for i in repbot_store.pending(State.APPROVED, 10)] == [ids[2], ids[0]]


def test_new_items_are_classified_lowest_rating_then_widest_audience_first(
    repbot_store: SqliteStore,
) -> None:
    mentions = [
        make_mention(1, rating=5, author={"handle": "a", "followers": 10}),
        make_mention(2, author={"handle": "b", "followers": 50}),
        make_mention(3, rating=1, author={"handle": "c", "followers": 5}),
        make_mention(4, author={"handle": "d", "followers": 90_000}),
        make_mention(5, rating=2, author={"handle": "e"}),
        make_mention(6, author={"handle": "f", "followers": 50}),
    ]
    ids = repbot_store.ingest("src", mentions, None).new_ids
    claimed = [i.id for i in repbot_store.pending(State.NEW, 10)]
    assert claimed == [ids[2], ids[4], ids[3], ids[1], ids[5], ids[0]]


class _Recorder:
    """Stands in for the store's connection and keeps every statement with its arguments."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.calls: list[tuple[str, Any]] = []

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self.calls.append((sql, params))
        return self.conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.fixture
def busy_store(repbot_store: SqliteStore) -> SqliteStore:
    """A store with work in every hot state."""
    ids = _classified(repbot_store, [0.1 * i for i in range(8)])
    repbot_store.ingest("src", [make_mention(100 + i) for i in range(3)], None)
    for mention_id in ids[:6]:
        repbot_store.set_draft(mention_id, "sorry", {})
    workflow.decide(repbot_store, ids[0], "approve", "U1", text="ok")
    workflow.decide(repbot_store, ids[1], "approve", "U1", text="ok")
    repbot_store.begin_post(ids[1])
    workflow.decide(
        repbot_store, ids[2], "snooze", "U1", snooze_until=utcnow() + timedelta(hours=1)
    )
    return repbot_store


def _hot_calls(store: SqliteStore) -> None:
    """Every read the daemon, the console, /metrics and `repbot report` make."""
    [awaiting] = store.queue([State.AWAITING_APPROVAL], limit=1)
    store.pending(State.NEW, 32)
    store.pending(State.CLASSIFIED, 32)
    store.pending(State.APPROVED, 20)
    store.queue([State.AWAITING_APPROVAL, State.SNOOZED], limit=500)
    store.queue([State.AWAITING_APPROVAL], platform="x", limit=200)
    store.queue([State.AWAITING_APPROVAL], intent="complaint", limit=200)
    store.queue(None, limit=1000)
    store.queue(None, platform="reddit", limit=200)
    store.counts()
    store.response_times()
    store.source_status()
    store.repeat_contacts("x", "user1", utcnow() - timedelta(days=1), awaiting.id)
    store.posts_this_month("src", utcnow())
    store.in_flight_posts()
    store.decisions(awaiting.id, limit=10)
    store.audit_log(awaiting.id)
    store.get(awaiting.id)
    store.find("x", "m1")
    store.wake_snoozed(utcnow())
    [approved] = store.pending(State.APPROVED, 1)
    store.begin_post(approved.id)
    workflow.post_failed(store, approved, "503", RetryPolicy(base=0.0), utcnow())
    [posting] = store.in_flight_posts()
    store.complete_post(posting.mention_id, "r1", None)


def test_every_hot_query_uses_an_index_and_no_sort(busy_store: SqliteStore) -> None:
    recorder = _Recorder(busy_store.conn)
    busy_store.conn = recorder  # type: ignore[assignment]
    _hot_calls(busy_store)
    checked = 0
    problems = []
    for sql, params in recorder.calls:
        words = " ".join(sql.split())
        if not words.upper().startswith(("SELECT", "UPDATE", "DELETE")):
            continue
        plan = [row[3] for row in recorder.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        checked += 1
        for step in plan:
            table = step.split()[1] if step.startswith("SCAN ") else ""
            # An index walked in ORDER BY order stops after LIMIT rows; any other scan reads
            # the whole table or index.
            ordered_walk = "USING" in step and "ORDER BY" in words and "LIMIT" in words
            if step.startswith("SCAN ") and not ordered_walk and _big(table, words):
                problems.append(f"{words[:90]}: {step}")
            if "TEMP B-TREE" in step and any(t in words for t in BIG_TABLES):
                problems.append(f"{words[:90]}: {step}")
    assert checked > 25
    assert problems == []


def _big(alias: str, sql: str) -> bool:
    return alias in BIG_TABLES or any(f"{t} {alias} " in sql + " " for t in BIG_TABLES)


def test_counts_are_kept_by_the_store_at_every_transition(busy_store: SqliteStore) -> None:
    [awaiting] = busy_store.queue([State.AWAITING_APPROVAL], limit=1)
    workflow.decide(busy_store, awaiting.id, "reject", "U2")
    exact = busy_store.conn.execute("SELECT state, count(*) FROM mentions GROUP BY state")
    assert busy_store.counts() == {state: n for state, n in exact}
    assert "state_counts" in _tables(busy_store)


def _tables(store: SqliteStore) -> set[str]:
    rows = store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows}


class Clock:
    """The time the store reads, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Patch the store's clock (``utcnow``) for the duration of a test."""
    value = Clock(utcnow() - timedelta(days=10))
    with mock.patch("repbot.store.sqlite.utcnow", value):
        yield value


def _exact_times(store: SqliteStore) -> dict[str, list[float]]:
    out = {}
    for stage, column in (
        ("draft", "drafted_at"),
        ("decision", "decided_at"),
        ("post", "posted_at"),
    ):
        rows = store.conn.execute(
            f"SELECT ingested_at, {column} FROM mentions WHERE {column} IS NOT NULL"
        )
        out[stage] = sorted(
            (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() for a, b in rows
        )
    return out


def _assert_kpis_match(store: SqliteStore) -> None:
    times = store.response_times()
    for stage, values in _exact_times(store).items():
        assert times[stage]["count"] == len(values)
        if not values:
            continue
        exact_p50 = values[len(values) // 2]
        exact_p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        assert times[stage]["p50"] == pytest.approx(exact_p50, rel=0.011, abs=0.001)
        assert times[stage]["p95"] == pytest.approx(exact_p95, rel=0.011, abs=0.001)


def test_response_times_are_kept_incrementally_and_match_the_rows(
    repbot_store: SqliteStore, clock: Clock
) -> None:
    start = clock.now
    for n in range(60):
        clock.now = start + timedelta(minutes=n)
        [mention_id] = repbot_store.ingest("src", [make_mention(n)], None).new_ids
        repbot_store.set_classified(mention_id, {**ANALYSIS, "urgency": 0.5})
        clock.now += timedelta(seconds=0.2 + n * 1.7)
        repbot_store.set_draft(mention_id, "sorry", {})
        clock.now += timedelta(seconds=30 + n**2.5)
        if n % 3 == 0:
            workflow.decide(repbot_store, mention_id, "snooze", "U1", snooze_until=clock.now)
            clock.now += timedelta(hours=2)
            repbot_store.wake_snoozed(clock.now)
        workflow.decide(repbot_store, mention_id, "approve", "U1", text="ok")
        if n % 2 == 0:
            clock.now += timedelta(milliseconds=300 + 40 * n)
            repbot_store.begin_post(mention_id)
            repbot_store.complete_post(mention_id, f"r{n}", None)
    _assert_kpis_match(repbot_store)
    assert repbot_store.response_times()["post"]["count"] == 30
    # reading the figures reads a fixed-size histogram, never the mentions
    recorder = _Recorder(repbot_store.conn)
    repbot_store.conn = recorder  # type: ignore[assignment]
    repbot_store.response_times()
    assert all("mentions" not in sql for sql, _ in recorder.calls)


def _version_one_store(path: Path, clock: Clock) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    version, name, sql = sorted(MIGRATIONS)[0]
    conn.executescript(sql)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, "2026-01-01"))
    for n in range(20):
        ingested = clock.now + timedelta(minutes=n)
        mention = make_mention(n, raw={"id": n, "payload": "x" * 50})
        conn.execute(
            "INSERT INTO mentions (source, platform, external_id, created_at, ingested_at,"
            " mention_json, state, state_changed_at, drafted_at, decided_at)"
            " VALUES ('src', 'x', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mention.external_id,
                ingested.isoformat(),
                ingested.isoformat(),
                mention.model_dump_json(),
                "approved" if n % 2 else "new",
                ingested.isoformat(),
                (ingested + timedelta(seconds=3 + n)).isoformat() if n % 2 else None,
                (ingested + timedelta(seconds=90 * n)).isoformat() if n % 2 else None,
            ),
        )
    conn.close()


def test_upgrading_a_populated_store_backfills_counts_kpis_and_moves_raw_apart(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "old.db"
    _version_one_store(path, clock)
    store = SqliteStore(path)
    assert store.counts() == {"new": 10, "approved": 10}
    _assert_kpis_match(store)
    assert store.response_times()["decision"]["count"] == 10
    stored = store.conn.execute("SELECT mention_json FROM mentions").fetchall()
    assert all("raw" not in json.loads(r[0]) for r in stored)
    assert store.find("x", "m3") is not None
    assert store.find("x", "m3").mention.raw == {"id": 3, "payload": "x" * 50}  # type: ignore[union-attr]
    store.close()


def test_raw_payloads_are_stored_apart_and_compactly(repbot_store: SqliteStore) -> None:
    mention = make_mention(1, raw={"data": {"id": "1", "text": "hello"}})
    [mention_id] = repbot_store.ingest("src", [mention, make_mention(2)], None).new_ids[:1]
    row = repbot_store.conn.execute(
        "SELECT mention_json FROM mentions WHERE id = ?", (mention_id,)
    ).fetchone()
    assert "raw" not in json.loads(row[0]) and ": " not in row[0] and "null" not in row[0]
    assert repbot_store.get(mention_id).mention == mention
    assert repbot_store.conn.execute("SELECT count(*) FROM mention_raw").fetchone()[0] == 1


def _close_path(store: SqliteStore, n: int, state: State) -> int:
    [mention_id] = store.ingest("src", [make_mention(n, raw={"n": n})], None).new_ids
    store.set_classified(mention_id, {**ANALYSIS, "urgency": 0.5})
    if state is State.NEW:
        return mention_id
    store.set_draft(mention_id, "sorry", {})
    if state is State.AWAITING_APPROVAL:
        return mention_id
    workflow.decide(store, mention_id, "approve", "U1", text="sorry")
    store.begin_post(mention_id)
    store.complete_post(mention_id, f"r{n}", None)
    return mention_id


def test_prune_removes_only_old_closed_items_raw_and_audit(
    repbot_store: SqliteStore, clock: Clock
) -> None:
    now = clock.now
    clock.now = now - timedelta(days=400)
    old_posted = _close_path(repbot_store, 1, State.POSTED)
    old_open = _close_path(repbot_store, 2, State.AWAITING_APPROVAL)
    clock.now = now - timedelta(days=60)
    mid_posted = _close_path(repbot_store, 3, State.POSTED)
    clock.now = now
    new_posted = _close_path(repbot_store, 4, State.POSTED)
    kpis, counts = repbot_store.response_times(), repbot_store.counts()
    decisions = len(repbot_store.decisions())

    result = repbot_store.prune(now - timedelta(days=30), now - timedelta(days=365))

    def raw(i: int) -> dict[str, Any]:
        return repbot_store.get(i).mention.raw

    assert (raw(old_posted), raw(mid_posted)) == ({}, {})
    assert (raw(old_open), raw(new_posted)) == ({"n": 2}, {"n": 4})
    assert repbot_store.audit_log(old_posted) == []
    assert repbot_store.audit_log(mid_posted) != []
    assert [e["event"] for e in repbot_store.audit_log(old_open)][-1] == "awaiting_approval"
    assert (result.raw_payloads, result.audit_rows) == (2, 6)
    assert repbot_store.response_times() == kpis and repbot_store.counts() == counts
    assert len(repbot_store.decisions()) == decisions
    assert repbot_store.get(old_posted).final_text == "sorry"
    [pruned] = [e for e in repbot_store.audit_log() if e["event"] == "pruned"]
    assert pruned["detail"]["raw_payloads"] == 2
    with pytest.raises(sqlite3.DatabaseError):  # still append-only outside a prune
        repbot_store.conn.execute("DELETE FROM audit")


def test_prune_keeps_unattached_audit_an_open_item_may_need(
    repbot_store: SqliteStore, clock: Clock
) -> None:
    now = clock.now
    clock.now = now - timedelta(days=500)
    repbot_store.ingest("src", [make_mention(1)], None)  # still new: its "ingested" row stays
    clock.now = now
    repbot_store.prune(None, now - timedelta(days=365))
    assert [e["event"] for e in repbot_store.audit_log()][:1] == ["ingested"]


def test_batch_is_all_or_nothing_and_a_failed_call_undoes_only_itself(
    repbot_store: SqliteStore,
) -> None:
    ids = repbot_store.ingest("src", [make_mention(i) for i in range(3)], None).new_ids
    with pytest.raises(RuntimeError), repbot_store.batch():
        repbot_store.set_classified(ids[0], {**ANALYSIS, "urgency": 0.1})
        raise RuntimeError("boom")
    assert repbot_store.counts() == {"new": 3}
    with repbot_store.batch():
        repbot_store.set_classified(ids[1], {**ANALYSIS, "urgency": 0.1})
        with pytest.raises(InvalidTransition):
            repbot_store.begin_post(ids[2])
        repbot_store.skip(ids[2], "spam")
    assert repbot_store.counts() == {"new": 1, "classified": 1, "skipped": 1}


def test_repbot_prune_applies_the_yaml_retention(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "repbot.yaml"
    config.write_text("store: {path: ./r.db}\nretention: {raw_payload_days: 0, audit_days: null}\n")
    store = SqliteStore(tmp_path / "r.db")
    mention_id = _close_path(store, 1, State.POSTED)
    store.close()
    assert main(["prune", "-c", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["raw_payloads_deleted"], report["audit_rows_deleted"]) == (1, 0)
    assert report["audit_before"] is None
    store = SqliteStore(tmp_path / "r.db")
    assert store.get(mention_id).mention.raw == {} and store.audit_log(mention_id) != []
    store.close()
    config.write_text("store: {path: ./r.db}\nretention: {raw_payload_days: -1}\n")
    assert main(["prune", "-c", str(config)]) == 2


def test_posts_this_month_is_a_counter_per_source_and_month(
    repbot_store: SqliteStore, clock: Clock
) -> None:
    now = clock.now
    clock.now = now - timedelta(days=40)
    _close_path(repbot_store, 1, State.POSTED)
    clock.now = now
    for n in range(2, 5):
        _close_path(repbot_store, n, State.POSTED)
    exact = repbot_store.conn.execute(
        "SELECT count(*) FROM posts WHERE status = 'posted' AND substr(finished_at, 1, 7) = ?",
        (now.strftime("%Y-%m"),),
    ).fetchone()[0]
    recorder = _Recorder(repbot_store.conn)
    repbot_store.conn = recorder  # type: ignore[assignment]
    assert repbot_store.posts_this_month("src", now) == exact == 3
    assert repbot_store.posts_this_month("other", now) == 0
    assert all("FROM posts" not in sql for sql, _ in recorder.calls)
