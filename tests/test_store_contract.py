"""The store contract, run against every backend: SQLite always, PostgreSQL when
``REPBOT_TEST_POSTGRES`` names a server (else that half skips with the reason)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from repbot import workflow
from repbot.errors import InvalidTransition, StoreError
from repbot.models import State, utcnow
from repbot.store import SqliteStore, Store
from repbot.store.base import Item
from repbot.store.queueing import QueueCursor, QueueFilter, SearchError
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
    assert intent.episode  # names the delivery in the message metadata
    assert store.slack_intend(mention_id, "C1") is None  # claimed: no other daemon posts it
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


def test_slack_intend_refuses_an_unknown_item(store: Store) -> None:
    with pytest.raises(StoreError):
        store.slack_intend(999_999, "C1")


def test_a_decided_item_is_never_claimed_for_delivery(store: Store) -> None:
    mention_id = _awaiting(store)  # listed as undelivered by a daemon, then decided elsewhere
    workflow.decide(store, mention_id, "approve", "U1", text="ok")
    assert store.slack_intend(mention_id, "C1") is None and store.slack_message(mention_id) is None


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


# ---- queue pages, search, facets, history, feedback, KPIs, retention (both backends) ----------


def _seed(store: Store, n: int, *, start: int = 0, unscored_every: int = 5) -> list[int]:
    """``n`` items awaiting approval: urgencies with many ties, some unscored, mixed platforms,
    intents and words (one transaction, through the Store API)."""
    words = ("refund", "delivery", "crash", "login", "café", "naïve", "support")
    mentions = [
        make_mention(
            i,
            platform=("x", "reddit", "trustpilot")[i % 3],
            text=f"Order {i}: {words[i % 7]} problem, {words[(i + 2) % 7]} too",
        )
        for i in range(start, start + n)
    ]
    ids = store.ingest("src", mentions, None).new_ids
    with store.batch():
        for i, mention_id in zip(range(start, start + n), ids, strict=True):
            urgency = None if i % unscored_every == 0 else (i * 37 % 11) / 10
            intent = ("complaint", "question", "praise")[(i // 2) % 3]
            store.set_classified(mention_id, {**ANALYSIS, "urgency": urgency, "intent": intent})
            store.set_draft(mention_id, f"Sorry about the {words[(i + 4) % 7]}, reply {i}", {})
    return ids


def _walk(store: Store, where: QueueFilter, size: int) -> list[Item]:
    seen: list[Item] = []
    cursor: QueueCursor | None = None
    while True:
        page = store.queue_page(where, cursor, size)
        seen += page.items
        if page.next is None:
            return seen
        cursor = QueueCursor.decode(page.next.encode())  # as the "Load more" link carries it


def _queue_key(item: Item) -> tuple[bool, float, int]:
    return (item.urgency is None, -(item.urgency or 0.0), -item.id)


def test_queue_pages_walk_every_item_once_in_queue_order(store: Store) -> None:
    ids = _seed(store, 90)
    for size in (1, 7, 50):
        seen = _walk(store, QueueFilter(), size)
        assert [i.id for i in seen] == [i.id for i in sorted(seen, key=_queue_key)]
        assert sorted(i.id for i in seen) == ids
    assert sum(1 for i in _walk(store, QueueFilter(), 7) if i.urgency is None) == 18
    store.skip(ids[0], "spam", expected={State.AWAITING_APPROVAL})
    every = _walk(store, QueueFilter(states=None), 11)
    assert len(every) == 90 and [i.id for i in every] == [
        i.id for i in sorted(every, key=_queue_key)
    ]
    assert [i.id for i in _walk(store, QueueFilter(states=(State.SKIPPED,)), 5)] == [ids[0]]


def test_keyset_walk_sees_every_item_once_with_inserts_mid_walk(store: Store) -> None:
    before = set(_seed(store, 60, unscored_every=4))
    seen: list[int] = []
    cursor: QueueCursor | None = None
    arrivals = 0
    while True:
        page = store.queue_page(QueueFilter(), cursor, 9)
        seen += [i.id for i in page.items]
        if arrivals < 4:  # scores above, below and tied with the cursor; some unscored
            _seed(store, 12, start=1_000 + 12 * arrivals, unscored_every=3)
            arrivals += 1
        if page.next is None:
            break
        cursor = page.next
    assert len(seen) == len(set(seen)), "an item was shown twice"
    assert before <= set(seen), "an item that was there all along was skipped"


@pytest.mark.parametrize(
    "where",
    [
        QueueFilter(platform="reddit"),
        QueueFilter(intent="question", platform="x"),
        QueueFilter(states=(State.AWAITING_APPROVAL, State.SKIPPED), intent="praise"),
    ],
)
def test_queue_page_filters_carry_through_pages(store: Store, where: QueueFilter) -> None:
    ids = _seed(store, 60)
    store.skip(ids[2], "spam", expected={State.AWAITING_APPROVAL})
    everything = store.items(ids)
    expected = [
        i.id
        for i in sorted(everything, key=_queue_key)
        if (where.platform is None or i.mention.platform == where.platform)
        and (where.intent is None or i.intent == where.intent)
        and (where.states is None or i.state in where.states)
    ]
    assert expected and [i.id for i in _walk(store, where, 4)] == expected


@pytest.mark.parametrize(
    ("term", "word"),
    [
        ("refund", "refund"),
        ("REFUND", "refund"),
        ("refu", "refund"),
        ("cafe", "café"),
        ("CAFÉ", "café"),
        ("naive", "naïve"),
        ("Sorry", "sorry"),
    ],
)
def test_search_is_case_and_accent_blind_and_covers_drafts(
    store: Store, term: str, word: str
) -> None:
    ids = _seed(store, 40)
    expected = [i.id for i in store.items(ids) if word in f"{i.mention.text} {i.draft}".casefold()]
    found = [i.id for i in _walk(store, QueueFilter(search=term), 6)]
    assert expected and found == sorted(expected, reverse=True), "every hit, newest first"


def test_search_combines_words_filters_and_states(store: Store) -> None:
    ids = _seed(store, 45)
    items = store.items(ids)
    words = {i.id: f"{i.mention.text} {i.draft}" for i in items if i.mention.platform == "x"}
    both = [i for i, text in words.items() if "crash" in text and "refund" in text]
    where = QueueFilter(search="crash refund", platform="x")
    assert both and [i.id for i in _walk(store, where, 2)] == sorted(both, reverse=True)
    assert _walk(store, QueueFilter(search="zzyzx"), 5) == []
    assert _walk(store, QueueFilter(search="refund", states=(State.POSTED,)), 5) == []
    assert _walk(store, QueueFilter(search="user7", states=None), 5)[0].id == ids[7]


@pytest.mark.parametrize(
    "hostile",
    [
        *['"', "AND", "refund OR", "NEAR(refund", "body:refund", "*", "^refund", "(", "a'b\"c"],
        *["-x", "refund\x00 OR", "\u202erefund", "ÿ" * 150, "!refund & | <->", "'':*", "\\"],
    ],
)
def test_hostile_search_syntax_is_never_a_database_error(store: Store, hostile: str) -> None:
    _seed(store, 6)
    try:
        store.queue_page(QueueFilter(search=hostile), None, 10)
        store.queue_entered(QueueFilter(search=hostile), utcnow() - timedelta(hours=1))
    except SearchError as exc:
        assert "search" in str(exc)


def test_too_long_or_empty_search_is_a_search_error(store: Store) -> None:
    for bad in ("!!! ...", "x" * 201):
        with pytest.raises(SearchError, match="search"):
            store.queue_page(QueueFilter(search=bad))


def test_edited_mention_and_new_draft_are_reindexed(store: Store) -> None:
    [item_id] = store.ingest("src", [make_mention(1, text="Parcel late again")], None).new_ids
    store.set_classified(item_id, ANALYSIS)
    store.set_draft(item_id, "We will check the courier", {})
    assert [i.id for i in _walk(store, QueueFilter(search="courier"), 5)] == [item_id]
    edited = store.get(item_id).mention.model_copy(
        update={"text": "Parcel stolen from my porch", "updated_at": utcnow()}
    )
    store.ingest("src", [edited], None)
    assert [i.id for i in _walk(store, QueueFilter(search="stolen"), 5)] == [item_id]
    assert _walk(store, QueueFilter(search="late"), 5) == []
    store.set_draft(item_id, "Refund on its way", {}, expected={State.AWAITING_APPROVAL})
    assert _walk(store, QueueFilter(search="courier"), 5) == []
    assert [i.id for i in _walk(store, QueueFilter(search="refund"), 5)] == [item_id]
    workflow.decide(store, item_id, "edit", "U1", text="A voucher is on its way")
    assert [i.id for i in _walk(store, QueueFilter(search="voucher", states=None), 5)] == [item_id]


def test_queue_entered_lists_recent_arrivals_in_the_view(store: Store) -> None:
    old = _seed(store, 6)
    since = utcnow()
    new = _seed(store, 6, start=100)
    assert sorted(store.queue_entered(QueueFilter(), since)) == new
    assert store.queue_entered(QueueFilter(), utcnow() + timedelta(seconds=1)) == []
    reddit = [i.id for i in store.items(new) if i.mention.platform == "reddit"]
    assert sorted(store.queue_entered(QueueFilter(platform="reddit"), since)) == reddit
    store.skip(old[0], "spam", expected={State.AWAITING_APPROVAL})
    assert store.queue_entered(QueueFilter(states=(State.SKIPPED,)), since) == [old[0]]
    hits = [i.id for i in store.items(new) if "crash" in f"{i.mention.text} {i.draft}"]
    assert sorted(store.queue_entered(QueueFilter(search="crash"), since)) == hits
    assert len(store.queue_entered(QueueFilter(states=None), since - timedelta(hours=1), 5)) == 5


def test_facets_are_counted_and_follow_changes(store: Store) -> None:
    assert store.facets() == {"platform": [], "intent": []}
    [a, b] = store.ingest(
        "src", [make_mention(1), make_mention(2, platform="reddit")], None
    ).new_ids
    assert store.facets() == {"platform": ["reddit", "x"], "intent": []}
    store.set_classified(a, {**ANALYSIS, "intent": "complaint"})
    store.set_classified(b, {**ANALYSIS, "intent": "question"})
    assert store.facets()["intent"] == ["complaint", "question"]
    store.reopen(a, "relabelled", "U1", to=State.NEW, expected={State.CLASSIFIED})
    store.set_classified(a, {**ANALYSIS, "intent": "praise"})
    assert store.facets() == {"platform": ["reddit", "x"], "intent": ["praise", "question"]}


def test_customer_history_by_handle_newest_first(store: Store) -> None:
    now = utcnow()
    author = {"handle": "Dana", "display_name": "Dana", "followers": 3}

    def by_dana(n: int, hours: int, platform: str = "x") -> Any:
        return make_mention(
            n, author=author, platform=platform, created_at=now - timedelta(hours=hours)
        )

    ids = store.ingest(
        "src",
        [by_dana(1, 30), by_dana(2, 20), by_dana(3, 10, "reddit"), by_dana(4, 1), make_mention(5)],
        None,
    ).new_ids
    store.set_classified(ids[0], ANALYSIS)
    store.set_draft(ids[0], "Sorry!", {})
    workflow.decide(store, ids[0], "approve", "U1", text="Sorry, refund sent")
    store.begin_post(ids[0])
    store.complete_post(ids[0], "r1", "https://x.com/r1")
    history = store.customer_history(ids[3])
    assert [h.mention_id for h in history] == [ids[1], ids[0]]
    first = history[1]
    assert (first.reply, first.posted_url, first.state) == (
        "Sorry, refund sent",
        "https://x.com/r1",
        State.POSTED,
    )
    assert [d.action for d in first.decisions] == ["approve"] and first.kind == "post"
    assert first.created_at == now - timedelta(hours=30) and first.text.startswith("@Acme")
    across = store.customer_history(ids[3], across_platforms=True)
    assert [h.mention_id for h in across] == [ids[2], ids[1], ids[0]]
    assert [h.mention_id for h in store.customer_history(ids[3], limit=1)] == [ids[1]]
    assert store.customer_history(ids[0]) == [] and store.customer_history(ids[4]) == []
    with pytest.raises(StoreError):
        store.customer_history(10_000)


def test_feedback_labels_page_by_id_with_the_mention_text(store: Store) -> None:
    [a, b] = store.ingest("src", [make_mention(1), make_mention(2)], None).new_ids
    first = store.add_feedback(a, "question", "U1", channel="slack", previous="complaint")
    second = store.add_feedback(b, "irrelevant", "alice", channel="web", reason="not about us")
    third = store.add_feedback(a, "praise", "U2", channel="web")
    assert first.text == make_mention(1).text and first.previous == "complaint"
    assert store.feedback_labels() == [first, second, third]
    assert store.feedback_labels(after_id=first.id, limit=1) == [second]
    assert store.feedback_labels(after_id=third.id) == []
    assert [e["event"] for e in store.audit_log(a)] == ["relabel", "relabel"]
    with pytest.raises(StoreError):
        store.add_feedback(10_000, "praise", "U1", channel="web")


class _Clock:
    """A settable ``utcnow`` for both stores."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    for module in ("repbot.store.sqlite", "repbot.store.postgres"):
        monkeypatch.setattr(f"{module}.utcnow", fake)
    return fake


def _bucket_middle(millis: int) -> float:
    """The middle (seconds) of the 2 %-wide histogram bucket holding ``millis``."""
    bounds, x = {0}, 1.0
    while True:
        bounds.add(int(x))
        if not x < 1e11:
            break
        x *= 1.02
    ordered = sorted(bounds)
    lo = max(b for b in ordered if b <= millis)
    hi = ordered[ordered.index(lo) + 1]
    return (lo + max(lo, hi - 1)) / 2 / 1000


def test_response_times_are_read_from_the_histogram(store: Store, clock: _Clock) -> None:
    assert store.response_times() == {s: {"count": 0} for s in ("draft", "decision", "post")}
    start = clock.now
    for n, (draft_s, decide_s, post_s) in enumerate(((90, 600, 3600), (30, 120, 7200), (60, 0, 0))):
        clock.now = start
        [mention_id] = store.ingest("src", [make_mention(n)], None).new_ids
        clock.now = start + timedelta(seconds=draft_s)
        store.set_classified(mention_id, ANALYSIS)
        store.set_draft(mention_id, "Sorry", {})
        if decide_s:
            clock.now = start + timedelta(seconds=decide_s)
            workflow.decide(store, mention_id, "approve", "U1", text="Sorry")
            clock.now = start + timedelta(seconds=post_s)
            store.begin_post(mention_id)
            store.complete_post(mention_id, f"r{n}", None)
    times = store.response_times()
    assert times["draft"] == {
        "count": 3.0,
        "p50": _bucket_middle(60_000),
        "p95": _bucket_middle(90_000),
    }
    assert times["decision"] == {
        "count": 2.0,
        "p50": _bucket_middle(600_000),
        "p95": _bucket_middle(600_000),
    }
    assert times["post"]["p50"] == _bucket_middle(7_200_000)
    assert abs(times["post"]["p50"] - 7200) <= 72  # within 1 %


def test_prune_removes_what_retention_says_and_nothing_else(store: Store, clock: _Clock) -> None:
    now = clock.now
    clock.now = now - timedelta(days=60)
    store.add_alert("src", "auth", "401 long ago")  # unattached, older than every open item
    clock.now = now - timedelta(days=50)
    raw = {"id": "payload"}
    old = store.ingest("src", [make_mention(i, raw=raw) for i in range(3)], None).new_ids
    posted, rejected, still_open = old
    for mention_id in old:
        store.set_classified(mention_id, ANALYSIS)
        store.set_draft(mention_id, "Sorry", {})
    workflow.decide(store, posted, "approve", "U1", text="Sorry")
    store.begin_post(posted)
    store.complete_post(posted, "r1", None)
    workflow.decide(store, rejected, "reject", "U1", reason="rude")
    clock.now = now - timedelta(days=1)
    [recent] = store.ingest("src", [make_mention(9, raw=raw)], None).new_ids
    store.skip(recent, "spam")
    clock.now = now
    audit_before = {m: len(store.audit_log(m)) for m in (*old, recent)}
    unattached = [e for e in store.audit_log() if e["mention_id"] is None]
    counts, decisions = store.counts(), store.decisions()
    result = store.prune(now - timedelta(days=30), now - timedelta(days=30))
    assert (result.raw_payloads, result.audit_rows) == (
        2,
        audit_before[posted] + audit_before[rejected] + 1,
    )
    assert store.get(posted).mention.raw == {} and store.get(rejected).mention.raw == {}
    assert store.get(still_open).mention.raw == raw and store.get(recent).mention.raw == raw
    assert store.audit_log(posted) == [] and store.audit_log(rejected) == []
    assert len(store.audit_log(still_open)) == audit_before[still_open]
    assert len(store.audit_log(recent)) == audit_before[recent]
    left = [e for e in store.audit_log() if e["mention_id"] is None]
    assert [e["event"] for e in left] == [e["event"] for e in unattached[1:]] + ["pruned"]
    assert store.counts() == counts and store.decisions() == decisions
    assert store.get(posted).final_text == "Sorry" and store.response_times()["post"]["count"] == 1
    again = store.prune(now - timedelta(days=30), None)
    assert (again.raw_payloads, again.audit_rows) == (0, 0)
    assert store.prune(None, None).raw_payloads == 0


def test_metrics_readiness_and_approved_example_fields(store: Store) -> None:
    first, second = _awaiting(store, 1), _awaiting(store, 2)
    approved = workflow.decide(store, first, "approve", "U1", text="Thanks!")
    later = utcnow() + timedelta(minutes=1)
    workflow.decide(store, second, "edit", "U2", text="Better", post_after=later)
    workflow.undo(store, second, "U2", utcnow(), "web")
    workflow.decide(store, second, "reject", "U2", reason="rude")
    store.add_alert("src", "auth", "401")
    store.add_alert("src", "auth", "401 again")
    store.begin_post(first)
    store.complete_post(first, "r", None)
    assert store.event_counts() == {
        "decision": {"approve": 1, "edit": 1, "undo": 1, "reject": 1},
        "alert": {"auth": 2},
    }
    assert store.post_totals() == {"src": 1}
    [a, b] = store.approved_since(0)
    assert (a.decision_id, a.example.mention_id, a.example.author) == (approved.id, first, "User 1")
    assert (b.example.mention_id, b.example.author, b.example.edited) == (second, "User 2", True)
    assert (a.vector, a.dim) == (None, 0)
    examples = store.approved_examples()
    assert [(e.reply_text, e.edited, e.platform, e.intent) for e in examples] == [
        ("Better", True, "x", "complaint"),
        ("Thanks!", False, "x", "complaint"),
    ]
    assert examples[1].mention_text == make_mention(1).text
    store.check_writable()
    with store.batch():
        store.kv_set("k", "v")
        store.check_writable()  # a probe inside an open write answers too
    assert store.kv_get("readyz") is None  # the probe writes nothing


@pytest.mark.parametrize(
    ("where", "after"),
    [
        (QueueFilter(), None),
        (QueueFilter(), QueueCursor(0.42, 2_000)),
        (QueueFilter(), QueueCursor(None, 2_000)),
        (QueueFilter(states=None, platform="x"), QueueCursor(0.42, 2_000)),
        (QueueFilter(search="refund", intent="question"), QueueCursor(None, 2_000)),
        (QueueFilter(search="crash CAFE", states=None), None),
    ],
)
def test_postgres_pages_are_index_walks_never_a_scan_of_mentions(
    where: QueueFilter, after: QueueCursor | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repbot.store.postgres import open_postgres

    with pg_schema() as dsn:
        store = open_postgres(dsn)
        _seed_volume(store, 4_000)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        run = store._all

        def recording(sql: str, args: Any = ()) -> list[Any]:
            statements.append((sql, tuple(args)))
            return run(sql, args)

        monkeypatch.setattr(store, "_all", recording)
        assert store.queue_page(where, after, 50).items
        store.queue_entered(where, utcnow() - timedelta(minutes=5))
        store.facets()
        store.response_times()
        with store.pool.connection() as conn:
            for sql, args in statements:
                plan = " | ".join(r["QUERY PLAN"] for r in conn.execute(f"EXPLAIN {sql}", args))
                assert "Seq Scan on mentions" not in plan, plan
                assert "Seq Scan on mention_search" not in plan, plan
                if "mention_search s" in sql and "s.mention_id = m.id" not in sql:
                    assert "mention_search" in plan, plan
        store.close()


def _seed_volume(store: Any, n: int) -> None:
    """``n`` awaiting items (as :func:`_seed` leaves them) written in bulk, then analysed."""
    words = ("refund", "delivery", "crash", "login", "café", "naïve", "support")
    mentions = [
        make_mention(
            i,
            platform=("x", "reddit", "trustpilot")[i % 3],
            text=f"Order {i}: {words[i % 7]} problem, {words[(i + 2) % 7]} too",
            author={"handle": f"user{i % 300}", "display_name": "U", "followers": 1},
        )
        for i in range(n)
    ]
    store.ingest("src", mentions, None)
    with store.pool.connection() as conn:
        conn.execute(
            "UPDATE mentions SET state = CASE WHEN id % 10 = 0 THEN 'posted'"
            " ELSE 'awaiting_approval' END, intent = (ARRAY['complaint', 'question',"
            " 'praise'])[1 + id % 3], urgency = CASE WHEN id % 13 = 0 THEN NULL"
            " ELSE (id * 37 % 101) / 100.0 END, state_changed_at = now() - id * interval '1 s'"
        )
        conn.execute("ANALYZE")


def test_a_copied_store_is_searchable_and_counted_as_it_was(tmp_path: Path) -> None:
    from repbot.store.commands import copy_store
    from repbot.store.postgres import open_postgres

    old = SqliteStore(tmp_path / "old.db")
    ids = _seed(old, 12)
    workflow.decide(old, ids[1], "approve", "U1", text="A voucher is on its way")
    where = QueueFilter(search="sorry", states=None)
    expected = ([i.id for i in _walk(old, where, 5)], old.facets(), old.response_times())
    old.close()
    with pg_schema() as dsn:
        copy_store(str(tmp_path / "old.db"), dsn)
        new = open_postgres(dsn)
        try:
            assert ([i.id for i in _walk(new, where, 5)], new.facets()) == expected[:2]
            assert new.response_times() == expected[2]
            voucher = QueueFilter(search="voucher", states=None)
            assert [i.id for i in _walk(new, voucher, 5)] == [ids[1]]
        finally:
            new.close()
