"""Review edits: a newer version of a stored mention is kept as a revision (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from repbot import followups, workflow
from repbot.config import parse_config
from repbot.models import Mention, State
from repbot.pipeline import Pipeline
from repbot.respond import Responder
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.fakes import KeywordClassifier

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def review(n: int = 1, **overrides: Any) -> Mention:
    data: dict[str, Any] = {
        "platform": "google_business",
        "external_id": f"rev-{n}",
        "kind": "review",
        "author": {"handle": f"Customer {n}"},
        "text": "Waited 40 minutes and nobody helped. Awful branch.",
        "rating": 1,
        "created_at": T0,
        "updated_at": T0,
    }
    data.update(overrides)
    return Mention.model_validate(data)


def edited(n: int = 1, minutes: int = 30, **overrides: Any) -> Mention:
    data: dict[str, Any] = {
        "text": "Update: the manager called me and sorted it out. Great service in the end.",
        "rating": 4,
        "updated_at": T0 + timedelta(minutes=minutes),
    }
    return review(n, **{**data, **overrides})


def test_a_newer_version_is_kept_as_a_revision(repbot_store: SqliteStore) -> None:
    (mid,) = repbot_store.ingest("g", [review()], None).new_ids
    result = repbot_store.ingest("g", [edited()], None)
    assert (result.new_ids, result.revised_ids, result.duplicates) == ([], [mid], 0)
    item = repbot_store.get(mid)
    assert (item.mention.rating, item.mention.text[:7]) == (4, "Update:")
    assert (item.revisions, item.original_rating) == (1, 1)
    [before] = repbot_store.revisions(mid)
    assert (before.rating, before.text, before.updated_at) == (1, review().text, T0)
    assert before.state is State.NEW
    [event] = [e for e in repbot_store.audit_log(mid) if e["event"] == "revised"]
    assert (event["detail"]["rating_from"], event["detail"]["rating_to"]) == (1, 4)


def test_every_edit_is_kept_and_the_original_rating_stays(repbot_store: SqliteStore) -> None:
    (mid,) = repbot_store.ingest("g", [review()], None).new_ids
    repbot_store.ingest("g", [edited(minutes=10)], None)
    repbot_store.ingest("g", [edited(minutes=20, rating=5, text="Five stars now.")], None)
    item = repbot_store.get(mid)
    assert (item.mention.rating, item.revisions, item.original_rating) == (5, 2, 1)
    assert [r.rating for r in repbot_store.revisions(mid)] == [4, 1]  # newest first


def test_an_unchanged_or_older_resend_is_a_duplicate(repbot_store: SqliteStore) -> None:
    (mid,) = repbot_store.ingest("g", [edited()], None).new_ids
    again = repbot_store.ingest("g", [edited()], None)
    older = repbot_store.ingest("g", [review()], None)  # an older version arriving late
    assert (again.duplicates, again.revised_ids) == (1, [])
    assert (older.duplicates, older.revised_ids) == (1, [])
    item = repbot_store.get(mid)
    assert (item.mention.rating, item.revisions) == (4, 0)
    assert repbot_store.revisions(mid) == []


def test_without_updated_at_a_changed_text_is_a_revision(repbot_store: SqliteStore) -> None:
    first = review(updated_at=None)
    (mid,) = repbot_store.ingest("t", [first], None).new_ids
    assert repbot_store.ingest("t", [first], None).duplicates == 1
    changed = first.model_copy(update={"text": "Edited: fixed now.", "rating": 3})
    assert repbot_store.ingest("t", [changed], None).revised_ids == [mid]
    assert repbot_store.get(mid).mention.rating == 3


def _statements(store: SqliteStore, call: Any) -> list[str]:
    seen: list[str] = []  # statements the store sends (not triggers' or FTS's inner ones)
    store.conn.set_trace_callback(lambda sql: None if sql.startswith("--") else seen.append(sql))
    try:
        call()
    finally:
        store.conn.set_trace_callback(None)
    return seen


def test_resending_a_page_costs_the_same_at_any_history_size(tmp_path: Path) -> None:
    """O(page): the statements per re-sent page do not grow with what is stored."""
    counts = []
    for size in (50, 1500):
        store = SqliteStore(tmp_path / f"s{size}.db")
        store.ingest("g", [review(n) for n in range(size)], None)
        page = [review(n) for n in range(20)] + [edited(n) for n in range(20, 25)]
        counts.append(len(_statements(store, lambda s=store, p=page: s.ingest("g", p, "c"))))
        found = store.find("google_business", "rev-20")
        assert found is not None and [r.rating for r in store.revisions(found.id)] == [1]
        store.close()
    assert counts[0] == counts[1]


def test_the_lookups_of_a_resend_use_indexes(repbot_store: SqliteStore) -> None:
    queries = [
        "SELECT id, state, mention_json FROM mentions WHERE platform = ? AND external_id = ?",
        "SELECT * FROM mention_revisions WHERE mention_id = ? ORDER BY id DESC LIMIT ?",
    ]
    for sql in queries:
        plan = " ".join(
            str(r[3]) for r in repbot_store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", (1, 2))
        )
        assert "USING" in plan and "SCAN" not in plan, plan


async def _pipeline(store: SqliteStore, tmp_path: Path) -> Pipeline:
    config = parse_config(f"brand: {{name: Orbit}}\nstore: {{path: {tmp_path / 'x.db'}}}\n")
    return Pipeline(store, config, KeywordClassifier(), Responder(config.responder, config.brand))


async def test_an_edit_redrafts_an_open_item(repbot_store: SqliteStore, tmp_path: Path) -> None:
    pipeline = await _pipeline(repbot_store, tmp_path)
    (mid,) = followups.ingest(repbot_store, "g", [review()], None).new_ids
    await pipeline.drain()
    first = repbot_store.get(mid)
    assert first.state is State.AWAITING_APPROVAL
    followups.ingest(repbot_store, "g", [edited()], None)
    assert repbot_store.get(mid).state is State.NEW
    await pipeline.drain()
    again = repbot_store.get(mid)
    assert again.state is State.AWAITING_APPROVAL and again.draft != first.draft
    assert again.sentiment == "positive"  # classified again, on the new text
    moves = [(e["detail"].get("from_state"), e["event"]) for e in repbot_store.audit_log(mid)]
    assert ("awaiting_approval", "redraft_after_edit") in moves


def test_a_posted_item_stays_posted_and_shows_the_edit(repbot_store: SqliteStore) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1, text="Awful, 1 star.")
    workflow.decide(repbot_store, mid, "approve", "U1", text="Sorry, please call us.")
    workflow.begin_post(repbot_store, mid)
    workflow.complete_post(repbot_store, mid, "reply-1", "https://g.example/r/1")
    stored = repbot_store.get(mid).mention
    later = stored.model_copy(
        update={"rating": 4, "text": "They called back: sorted.", "updated_at": T0}
    )
    assert followups.ingest(repbot_store, "demo", [later], None).revised_ids == [mid]
    item = repbot_store.get(mid)
    assert (item.state, item.revisions, item.original_rating) == (State.POSTED, 1, 1)
    assert repbot_store.revisions(mid)[0].state is State.POSTED  # edited after our reply


def test_an_edit_re_renders_a_closed_slack_message(repbot_store: SqliteStore) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1, text="Awful.")
    repbot_store.slack_intend(mid, "C1")
    item = repbot_store.get(mid)
    repbot_store.slack_sent(
        mid, channel="C1", ts="1.1", state=item.state, version=None, sig=None, is_open=False
    )
    message = repbot_store.slack_message(mid)
    assert message is not None
    repbot_store.slack_sent(
        mid,
        channel="C1",
        ts="1.1",
        state=item.state,
        version=message.item_version,
        sig=None,
        is_open=False,
    )
    assert repbot_store.slack_changed(10) == []
    later = item.mention.model_copy(update={"rating": 4, "text": "Better now.", "updated_at": T0})
    repbot_store.ingest("demo", [later], None)
    assert [m.mention_id for m in repbot_store.slack_changed(10)] == [mid]
