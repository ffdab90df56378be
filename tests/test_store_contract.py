"""The store contract, run against every backend: SQLite always, PostgreSQL when
``REPBOT_TEST_POSTGRES`` names a server (else that half skips with the reason)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from repbot import workflow
from repbot.errors import InvalidTransition, StoreError
from repbot.models import State, utcnow
from repbot.store import SqliteStore, Store
from repbot.testing.fakes import make_mention
from repbot.testing.postgres import pg_schema
from repbot.workflow import RetryPolicy

ANALYSIS = {"label": "negative", "intent": "complaint", "urgency": 0.7, "explanation": [["x", 0.7]]}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """One store of each backend, empty and migrated."""
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "contract.db")
        yield sqlite
        sqlite.close()
        return
    from repbot.store.postgres import open_postgres

    with pg_schema() as dsn:
        postgres = open_postgres(dsn)
        yield postgres
        postgres.close()


def _awaiting(store: Store, n: int = 1) -> int:
    [mention_id] = store.ingest("src", [make_mention(n)], None).new_ids
    store.set_classified(mention_id, ANALYSIS)
    store.set_draft(mention_id, f"Sorry about order {n}", {"limit": 280})
    return mention_id


def test_ingest_dedupes_on_platform_and_external_id(store: Store) -> None:
    first = store.ingest("src", [make_mention(1), make_mention(2)], "c1")
    again = store.ingest("src", [make_mention(2), make_mention(3)], "c2")
    other_platform = store.ingest("src", [make_mention(1, platform="reddit")], "c3")
    assert (len(first.new_ids), first.duplicates) == (2, 0)
    assert (len(again.new_ids), again.duplicates) == (1, 1)
    assert len(other_platform.new_ids) == 1
    assert store.get_cursor("src") == "c3"
    assert store.counts() == {"new": 4}
    assert store.find("reddit", "m1") is not None and store.find("reddit", "m2") is None


def test_cursor_and_mentions_commit_together(store: Store) -> None:
    unbindable: Any = object()  # a failure of the page itself, not of one record
    with pytest.raises(Exception):  # noqa: B017 - any failure must roll everything back
        store.ingest("src", [make_mention(9)], unbindable)
    assert store.get_cursor("src") is None
    assert store.counts() == {}


def test_an_unstorable_record_is_rejected_and_the_page_kept(store: Store) -> None:
    bad = make_mention(1).model_copy(update={"created_at": None})
    result = store.ingest("src", [make_mention(9), bad, make_mention(10)], "c-new")
    assert (len(result.new_ids), result.duplicates, result.malformed) == (2, 0, 1)
    assert "null" in result.rejected[0].lower()
    assert store.get_cursor("src") == "c-new"
    assert store.counts() == {"new": 2}


def test_a_revised_review_keeps_a_revision(store: Store) -> None:
    review = make_mention(1).model_copy(update={"rating": 1, "text": "awful"})
    [mention_id] = store.ingest("src", [review], None).new_ids
    edited = review.model_copy(update={"rating": 4, "text": "fixed, thanks"})
    result = store.ingest("src", [edited], None)
    assert (result.new_ids, result.revised_ids, result.duplicates) == ([], [mention_id], 0)
    item = store.get(mention_id)
    assert (item.revisions, item.original_rating, item.mention.rating) == (1, 1, 4)


def test_happy_path_transitions_are_audited(store: Store) -> None:
    mention_id = _awaiting(store)
    decision = workflow.decide(store, mention_id, "approve", "U1", text="Sorry!", channel="slack")
    intent = store.begin_post(mention_id)
    store.complete_post(mention_id, "r1", "https://x.com/r1")
    item = store.get(mention_id)
    assert item.state is State.POSTED and item.posted_url == "https://x.com/r1"
    assert item.draft == "Sorry about order 1" and item.draft_meta == {"limit": 280}
    assert item.explanation == [("x", 0.7)]
    assert decision.actor == "U1" and intent.text == "Sorry!"
    events = [e["event"] for e in store.audit_log(mention_id)]
    assert events == ["classified", "drafted", "awaiting_approval", "approve", "posting", "posted"]
    assert store.counts() == {"posted": 1}


def test_invalid_transition_is_refused(store: Store) -> None:
    [mention_id] = store.ingest("src", [make_mention()], None).new_ids
    with pytest.raises(InvalidTransition):
        store.begin_post(mention_id)
    with pytest.raises(InvalidTransition):
        workflow.decide(store, mention_id, "approve", "U1", text="hi")
    assert store.get(mention_id).state is State.NEW
    assert store.decisions(mention_id) == []  # the refused decision was rolled back


def test_decision_is_idempotent_per_dedupe_key_and_once_per_item(store: Store) -> None:
    mention_id = _awaiting(store)
    first = workflow.decide(store, mention_id, "approve", "U1", text="ok", dedupe_key="k1")
    again = workflow.decide(store, mention_id, "approve", "U1", text="ok", dedupe_key="k1")
    assert again.duplicate and again.id == first.id
    with pytest.raises(InvalidTransition):
        workflow.decide(store, mention_id, "reject", "U2", dedupe_key="k2")
    assert len(store.decisions(mention_id)) == 1


def test_snooze_and_wake(store: Store) -> None:
    mention_id = _awaiting(store)
    until = utcnow() + timedelta(hours=1)
    workflow.decide(store, mention_id, "snooze", "U1", snooze_until=until)
    assert store.wake_snoozed(utcnow()) == []
    assert store.wake_snoozed(until + timedelta(seconds=1)) == [mention_id]
    assert store.get(mention_id).state is State.AWAITING_APPROVAL


def test_failures_count_attempts_then_fail(store: Store) -> None:
    [mention_id] = store.ingest("src", [make_mention()], None).new_ids
    policy = RetryPolicy(max_attempts=3, base=60.0)
    for _ in range(2):
        item = store.get(mention_id)
        workflow.record_failure(store, item, "boom", policy, utcnow())
    item = store.get(mention_id)
    assert (item.state, item.attempts, item.last_error) == (State.NEW, 2, "boom")
    assert store.pending(State.NEW, 10) == []
    workflow.record_failure(store, item, "boom", policy, utcnow())
    assert store.get(mention_id).state is State.FAILED


def test_pending_orders_new_work_by_pre_score(store: Store) -> None:
    low = make_mention(1).model_copy(update={"rating": 5})
    angry = make_mention(2).model_copy(update={"rating": 1})
    ids = store.ingest("src", [low, angry, make_mention(3)], None).new_ids
    assert [i.id for i in store.pending(State.NEW, 10)] == [ids[1], ids[2], ids[0]]


def test_post_failure_retries_then_in_flight_reconcile_view(store: Store) -> None:
    mention_id = _awaiting(store)
    workflow.decide(store, mention_id, "edit", "U1", text="Edited reply")
    store.begin_post(mention_id)
    assert [p.mention_id for p in store.in_flight_posts()] == [mention_id]
    posting = store.get(mention_id)
    workflow.post_failed(store, posting, "503", RetryPolicy(base=0.0), utcnow())
    assert store.get(mention_id).state is State.APPROVED
    intent = store.begin_post(mention_id)
    assert intent.attempts == 2 and intent.idempotency_key == f"repbot-{mention_id}"
    store.complete_post(mention_id, "r", None)
    assert store.in_flight_posts() == []
    assert store.posts_this_month("src", utcnow()) == 1
    [example] = store.approved_examples()
    assert example.edited and example.reply_text == "Edited reply"


def test_due_posts_wait_for_the_undo_window(store: Store) -> None:
    mention_id = _awaiting(store)
    workflow.decide(store, mention_id, "approve", "U1", text="ok")
    later = utcnow() + timedelta(minutes=1)
    store.set_post_after(mention_id, later)
    assert store.due_posts(utcnow(), 10) == []
    assert [i.id for i in store.due_posts(later, 10)] == [mention_id]


def test_queue_orders_by_urgency_and_filters(store: Store) -> None:
    ids = store.ingest("src", [make_mention(i) for i in range(3)], None).new_ids
    for mention_id, urgency in zip(ids, (0.2, 0.9, 0.5), strict=True):
        store.set_classified(mention_id, {**ANALYSIS, "urgency": urgency})
    assert [i.urgency for i in store.queue()] == [0.9, 0.5, 0.2]
    assert store.queue(platform="reddit") == []
    assert len(store.queue(states=[State.CLASSIFIED], intent="complaint")) == 3
    store.update_urgency(ids[0], 1.0, [["boost", 0.8]])
    assert store.queue()[0].id == ids[0] and store.get(ids[0]).explanation == [("boost", 0.8)]


def test_source_status_and_disable(store: Store) -> None:
    store.record_source_result("x", "AuthError: 401", disable=True)
    [status] = store.source_status()
    assert status.disabled and status.failures == 1
    store.enable_source("x")
    store.record_source_result("x")
    [status] = store.source_status()
    assert not status.disabled and status.last_success is not None


def test_alerts_kv_and_secrets_redacted(store: Store) -> None:
    store.add_alert("x", "auth", "token xoxb-123456789012-abcdefghijkl rejected")
    [alert] = store.alerts()
    assert alert["kind"] == "auth" and "xoxb-123456789012" not in alert["message"]
    store.kv_set("k", "v1")
    store.kv_set("k", "v2")
    assert store.kv_get("k") == "v2"
    store.kv_set("k", None)
    assert store.kv_get("k") is None


def test_batch_commits_together_and_a_failed_call_undoes_itself(store: Store) -> None:
    [a, b] = store.ingest("src", [make_mention(1), make_mention(2)], None).new_ids
    with store.batch():
        store.set_classified(a, ANALYSIS)
        with pytest.raises(InvalidTransition):
            store.begin_post(b)
        store.skip(b, "spam")
    assert (store.get(a).state, store.get(b).state) == (State.CLASSIFIED, State.SKIPPED)


def test_accounts(store: Store) -> None:
    alice = store.user_add("alice", "admin", "hash-a", slack_user_id="U1")
    assert store.has_users() and store.user_get("alice") == alice
    assert store.user_by_slack("U1") == alice and store.user_by_id(alice.id) == alice
    with pytest.raises(StoreError, match="name already exists"):
        store.user_add("alice", "viewer", "h")
    with pytest.raises(StoreError, match="Slack user already exists"):
        store.user_add("bob", "viewer", "h", slack_user_id="U1")
    bob = store.user_add("bob", "viewer", "h")
    changed = store.user_update(bob.id, role="approver", disabled=True, end_sessions=True)
    assert (changed.role, changed.disabled, changed.session_epoch) == ("approver", True, 1)
    store.user_logged_in(bob.id, utcnow())
    assert store.user_get("bob").last_login_at is not None  # type: ignore[union-attr]
    assert [u.name for u in store.users(after_id=alice.id)] == ["bob"]
    with pytest.raises(StoreError):
        store.user_update(10_000, role="admin")


def test_undo_puts_the_approved_text_back_as_the_draft(store: Store) -> None:
    mention_id = _awaiting(store)
    now = utcnow()
    workflow.decide(
        store, mention_id, "edit", "U1", text="Better reply", post_after=now + timedelta(minutes=1)
    )
    decision = workflow.undo(store, mention_id, "U1", now, "web")
    item = store.get(mention_id)
    assert decision.action == "undo" and item.state is State.AWAITING_APPROVAL
    assert (item.draft, item.final_text, item.post_after) == ("Better reply", None, None)


def test_people_claim_an_item_until_it_expires(store: Store) -> None:
    mention_id = _awaiting(store)
    now = utcnow()
    mine = store.claim(
        mention_id, "u:1", "alice", now=now, expires=now + timedelta(minutes=5), holder=None
    )
    theirs = store.claim(
        mention_id, "u:2", "bob", now=now, expires=now + timedelta(minutes=5), holder=None
    )
    assert theirs == mine  # refused: alice holds it
    assert set(store.claims([mention_id, 999], now)) == {mention_id}
    assert store.claims([mention_id], now + timedelta(minutes=6)) == {}
    assert store.release_claim(mention_id, "alice") and not store.release_claim(mention_id, "alice")


def test_conversations_join_reopen_and_close(store: Store) -> None:
    [first] = store.ingest("src", [make_mention(1)], None).new_ids
    reply = make_mention(2).model_copy(
        update={"thread": make_mention(2).thread.model_copy(update={"parent": "m1"})}
    )
    [second] = store.ingest("src", [reply], None).new_ids
    assert store.get(second).conversation_id == first
    assert [t.mention_id for t in store.conversation(second)] == [first, second]
    assert store.open_in_conversation(first, [State.NEW], second) == first
    [third] = store.ingest("src", [make_mention(3)], None).new_ids
    assert store.join_conversation(third, second) == first
    assert (
        store.open_by_author("x", "user3", utcnow() - timedelta(days=1), [State.NEW], third + 1)
        == third
    )
    store.close_answered(
        third,
        "answered on the platform",
        utcnow(),
        "https://x/1",
        to=State.SKIPPED,
        expected={State.NEW},
    )
    assert store.get(third).state is State.SKIPPED
    store.reopen(third, "reopened", "U1", to=State.NEW, expected={State.SKIPPED})
    assert store.get(third).skip_reason is None and len(store.items([third, first, 999])) == 2


def test_revisions_are_listed_newest_first(store: Store) -> None:
    review = make_mention(1).model_copy(update={"rating": 1, "text": "v1"})
    [mention_id] = store.ingest("src", [review], None).new_ids
    for n in (2, 3):
        store.ingest("src", [review.model_copy(update={"text": f"v{n}"})], None)
    assert [r.text for r in store.revisions(mention_id)] == ["v2", "v1"]


def test_approved_examples_with_vectors(store: Store) -> None:
    mention_id = _awaiting(store)
    decision = workflow.decide(store, mention_id, "approve", "U1", text="Thanks!")
    store.save_example_embeddings("m1", [(decision.id, b"\x00\x00\x80?")])
    store.save_example_embeddings("m1", [(decision.id, b"\x00\x00\x00@")])
    [example] = store.approved_since(0, "m1")
    assert (example.vector, example.dim, example.example.reply_text) == (
        b"\x00\x00\x00@",
        1,
        "Thanks!",
    )
    assert store.approved_since(decision.id) == [] and store.approved_floor(0) == decision.id


def test_operations_reads(store: Store) -> None:
    mention_id = _awaiting(store)
    assert store.mark_first_look(mention_id, utcnow()) and not store.mark_first_look(
        mention_id, utcnow()
    )
    assert store.last_ingested("src") is not None and store.last_ingested("other") is None
    assert store.add_sla_alert(mention_id, "sla_breach", "src", "late") is True
    assert store.add_sla_alert(mention_id, "sla_breach", "src", "late") is False
    store.add_alert("src", "auth", "401")
    kinds = [a["kind"] for a in store.alerts_after(0)]
    assert kinds == ["sla_breach", "auth"]
    window = store.alerts_between(
        utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1), ["auth"]
    )
    assert [a["kind"] for a in window] == ["auth"]
    workflow.decide(store, mention_id, "approve", "U1", text="ok")
    store.begin_post(mention_id)
    store.complete_post(mention_id, "r", None)
    assert store.event_counts() == {
        "decision": {"approve": 1},
        "alert": {"sla_breach": 1, "auth": 1},
    }
    assert store.post_totals() == {"src": 1}
    store.check_writable()


def test_slack_delivery_intent_sent_and_changed(store: Store) -> None:
    mention_id = _awaiting(store)
    [(item, version)] = store.slack_undelivered(10)
    assert item.id == mention_id
    intent = store.slack_intend(mention_id, "C1")
    assert intent.ts is None and [i.mention_id for i in store.slack_intents()] == [mention_id]
    assert store.slack_undelivered(10) == []
    again = store.slack_intend(mention_id, "C1")
    assert again.episode == intent.episode  # names the same delivery on every daemon
    store.slack_sent(
        mention_id,
        channel="C1",
        ts="1.1",
        state=State.AWAITING_APPROVAL,
        version=version,
        sig="s",
        is_open=True,
    )
    store.slack_forget(mention_id)  # a delivered message is kept
    sent = store.slack_message(mention_id)
    assert sent is not None and sent.ts == "1.1" and store.slack_intents() == []
    assert sent.item_version == version and store.slack_changed(10) == []
    workflow.decide(store, mention_id, "approve", "U1", text="ok")
    [changed] = store.slack_changed(10)
    assert changed.mention_id == mention_id and changed.item_version != version
    events = [e["event"] for e in store.audit_log(mention_id)]
    assert events.count("slack_delivered") == 1


def test_slack_intent_forgotten(store: Store) -> None:
    mention_id = _awaiting(store)
    store.slack_intend(mention_id, "C1")
    store.slack_forget(mention_id)
    assert store.slack_message(mention_id) is None
    with pytest.raises(StoreError):
        store.slack_sent(
            mention_id,
            channel="C1",
            ts="1",
            state=State.AWAITING_APPROVAL,
            version=None,
            sig=None,
            is_open=True,
        )


def test_ops_rows_page_through_a_window(store: Store) -> None:
    ids = store.ingest("src", [make_mention(i) for i in range(5)], None).new_ids
    store.set_classified(ids[0], ANALYSIS)
    since, until = utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1)
    first = store.ops_rows(since, until, limit=3)
    rest = store.ops_rows(since, until, after=(first[-1].ingested_at, first[-1].id), limit=3)
    assert [r.id for r in first + rest] == ids
    assert [r.id for r in store.ops_rows(since, until, states=["classified"])] == [ids[0]]
    assert first[0].followers == 100 and first[0].kind == "post"
