"""The SQLite store: migrations, dedupe, cursors, the state machine, decisions, posts, audit."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from repbot import workflow
from repbot.errors import InvalidTransition, StoreError
from repbot.models import State, utcnow
from repbot.store import SqliteStore
from repbot.store.migrations import MIGRATIONS
from repbot.testing.fakes import make_mention
from repbot.workflow import RetryPolicy

ANALYSIS = {"label": "negative", "intent": "complaint", "urgency": 0.7, "explanation": [["x", 0.7]]}


def _awaiting(store: SqliteStore, n: int = 1) -> int:
    [mention_id] = store.ingest("src", [make_mention(n)], None).new_ids
    store.set_classified(mention_id, ANALYSIS)
    store.set_draft(mention_id, f"Sorry about order {n}", {"limit": 280})
    return mention_id


def test_migrations_are_numbered_and_recorded_once(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "a.db").close()
    store = SqliteStore(tmp_path / "a.db")
    rows = list(store.db["schema_migrations"].rows)
    versions = sorted(v for v, _, _ in MIGRATIONS)
    assert [r["version"] for r in rows] == versions
    assert store.schema_version() == versions[-1]
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_processes_opening_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    """The daemon and a CLI command may both create the store file at the same moment."""
    path = tmp_path / "race.db"
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        versions = pool.map(_open_and_read_version, [path] * 6)
    assert versions == [max(v for v, _, _ in MIGRATIONS)] * 6
    store = SqliteStore(path)
    rows = store.conn.execute("SELECT version FROM schema_migrations").fetchall()
    assert [r[0] for r in rows] == sorted(v for v, _, _ in MIGRATIONS)


def _open_and_read_version(path: Path) -> int:
    store = SqliteStore(path)
    try:
        return store.schema_version()
    finally:
        store.close()


def test_ingest_dedupes_on_platform_and_external_id(repbot_store: SqliteStore) -> None:
    first = repbot_store.ingest("src", [make_mention(1), make_mention(2)], "c1")
    again = repbot_store.ingest("src", [make_mention(2), make_mention(3)], "c2")
    other_platform = repbot_store.ingest("src", [make_mention(1, platform="reddit")], "c3")
    assert (len(first.new_ids), first.duplicates) == (2, 0)
    assert (len(again.new_ids), again.duplicates) == (1, 1)
    assert len(other_platform.new_ids) == 1
    assert repbot_store.get_cursor("src") == "c3"
    assert repbot_store.counts() == {"new": 4}


def test_cursor_and_mentions_commit_together(repbot_store: SqliteStore) -> None:
    unbindable: Any = object()  # a failure of the page itself, not of one record
    with pytest.raises(Exception):  # noqa: B017 - any failure must roll everything back
        repbot_store.ingest("src", [make_mention(9)], unbindable)
    assert repbot_store.get_cursor("src") is None
    assert repbot_store.counts() == {}


def test_an_unstorable_record_is_rejected_and_the_page_kept(repbot_store: SqliteStore) -> None:
    bad = make_mention(1).model_copy(update={"created_at": None})
    result = repbot_store.ingest("src", [make_mention(9), bad, make_mention(10)], "c-new")
    assert (len(result.new_ids), result.duplicates, result.malformed) == (2, 0, 1)
    assert "NOT NULL" in result.rejected[0]
    assert repbot_store.get_cursor("src") == "c-new"
    assert repbot_store.counts() == {"new": 2}


def test_happy_path_transitions_are_audited(repbot_store: SqliteStore) -> None:
    mention_id = _awaiting(repbot_store)
    decision = workflow.decide(
        repbot_store, mention_id, "approve", "U1", text="Sorry!", channel="slack"
    )
    intent = repbot_store.begin_post(mention_id)
    repbot_store.complete_post(mention_id, "r1", "https://x.com/r1")
    item = repbot_store.get(mention_id)
    assert item.state is State.POSTED and item.posted_url == "https://x.com/r1"
    assert decision.actor == "U1" and intent.text == "Sorry!"
    events = [e["event"] for e in repbot_store.audit_log(mention_id)]
    assert events == ["classified", "drafted", "awaiting_approval", "approve", "posting", "posted"]
    times = repbot_store.response_times()
    assert times["post"]["count"] == 1


def test_invalid_transition_is_refused(repbot_store: SqliteStore) -> None:
    [mention_id] = repbot_store.ingest("src", [make_mention()], None).new_ids
    with pytest.raises(InvalidTransition):
        repbot_store.begin_post(mention_id)
    with pytest.raises(InvalidTransition):
        workflow.decide(repbot_store, mention_id, "approve", "U1", text="hi")
    assert repbot_store.get(mention_id).state is State.NEW


def test_decision_is_idempotent_per_dedupe_key_and_once_per_item(repbot_store: SqliteStore) -> None:
    mention_id = _awaiting(repbot_store)
    first = workflow.decide(repbot_store, mention_id, "approve", "U1", text="ok", dedupe_key="k1")
    again = workflow.decide(repbot_store, mention_id, "approve", "U1", text="ok", dedupe_key="k1")
    assert again.duplicate and again.id == first.id
    with pytest.raises(InvalidTransition):
        workflow.decide(repbot_store, mention_id, "reject", "U2", dedupe_key="k2")
    assert len(repbot_store.decisions(mention_id)) == 1


def test_snooze_and_wake(repbot_store: SqliteStore) -> None:
    mention_id = _awaiting(repbot_store)
    until = utcnow() + timedelta(hours=1)
    workflow.decide(repbot_store, mention_id, "snooze", "U1", snooze_until=until)
    assert repbot_store.wake_snoozed(utcnow()) == []
    assert repbot_store.wake_snoozed(until + timedelta(seconds=1)) == [mention_id]
    assert repbot_store.get(mention_id).state is State.AWAITING_APPROVAL


def test_failures_count_attempts_then_fail(repbot_store: SqliteStore) -> None:
    [mention_id] = repbot_store.ingest("src", [make_mention()], None).new_ids
    policy = RetryPolicy(max_attempts=3, base=60.0)
    for _ in range(2):
        item = repbot_store.get(mention_id)
        workflow.record_failure(repbot_store, item, "boom", policy, utcnow())
    item = repbot_store.get(mention_id)
    assert (item.state, item.attempts, item.last_error) == (State.NEW, 2, "boom")
    assert repbot_store.pending(State.NEW, 10) == []
    workflow.record_failure(repbot_store, item, "boom", policy, utcnow())
    assert repbot_store.get(mention_id).state is State.FAILED


def test_post_failure_retries_then_in_flight_reconcile_view(repbot_store: SqliteStore) -> None:
    mention_id = _awaiting(repbot_store)
    workflow.decide(repbot_store, mention_id, "edit", "U1", text="Edited reply")
    repbot_store.begin_post(mention_id)
    assert [p.mention_id for p in repbot_store.in_flight_posts()] == [mention_id]
    posting = repbot_store.get(mention_id)
    workflow.post_failed(repbot_store, posting, "503", RetryPolicy(base=0.0), utcnow())
    assert repbot_store.get(mention_id).state is State.APPROVED
    intent = repbot_store.begin_post(mention_id)
    assert intent.attempts == 2 and intent.idempotency_key == f"repbot-{mention_id}"
    repbot_store.complete_post(mention_id, "r", None)
    assert repbot_store.in_flight_posts() == []
    assert repbot_store.posts_this_month("src", utcnow()) == 1
    [example] = repbot_store.approved_examples()
    assert example.edited and example.reply_text == "Edited reply"


def test_audit_log_is_append_only(repbot_store: SqliteStore) -> None:
    repbot_store.audit("refused", "U9", None, reason="not an approver")
    with pytest.raises(sqlite3.DatabaseError):
        repbot_store.conn.execute("UPDATE audit SET actor = 'x'")
    with pytest.raises(sqlite3.DatabaseError):
        repbot_store.conn.execute("DELETE FROM audit")


def test_queue_orders_by_urgency_and_filters(repbot_store: SqliteStore) -> None:
    ids = repbot_store.ingest("src", [make_mention(i) for i in range(3)], None).new_ids
    for mention_id, urgency in zip(ids, (0.2, 0.9, 0.5), strict=True):
        repbot_store.set_classified(mention_id, {**ANALYSIS, "urgency": urgency})
    assert [i.urgency for i in repbot_store.queue()] == [0.9, 0.5, 0.2]
    assert repbot_store.queue(platform="reddit") == []
    assert len(repbot_store.queue(states=[State.CLASSIFIED], intent="complaint")) == 3


def test_unwritable_store_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        SqliteStore(blocker / "sub" / "repbot.db")


def test_source_status_and_disable(repbot_store: SqliteStore) -> None:
    repbot_store.record_source_result("x", "AuthError: 401", disable=True)
    [status] = repbot_store.source_status()
    assert status.disabled and status.failures == 1
    repbot_store.enable_source("x")
    repbot_store.record_source_result("x")
    [status] = repbot_store.source_status()
    assert not status.disabled and status.last_success is not None
