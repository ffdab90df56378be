"""The undo window: an approved reply waits ``approval.undo_seconds`` before the poster takes it;
an undo inside the window puts it back in the queue with the edit kept as the draft."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from repbot import workflow
from repbot.approval import blocks
from repbot.approval.config import ApprovalConfig
from repbot.approval.service import UNDO_OVER, ApprovalService, Request
from repbot.errors import InvalidTransition
from repbot.models import State, utcnow
from repbot.poster import Poster
from repbot.sandbox import SandboxConfig, SandboxConnector
from repbot.store.sqlite import DUE_POSTS_SQL, SqliteStore
from repbot.testing.approval import seed_item

WINDOW = timedelta(seconds=30)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _service(store: SqliteStore, clock: Clock, seconds: float = 30) -> ApprovalService:
    return ApprovalService(store, undo_seconds=seconds, now=clock)


def _edit(item_id: int, text: str, who: str = "web:alice") -> Request:
    return Request(item_id, "edit", who, "web", text=text)


def test_default_window_is_thirty_seconds() -> None:
    assert ApprovalConfig().undo_seconds == 30
    assert ApprovalConfig(undo_seconds=0).undo_seconds == 0


async def test_undo_inside_the_window_keeps_the_edit(repbot_store: SqliteStore) -> None:
    clock = Clock()
    service = _service(repbot_store, clock)
    item_id = seed_item(repbot_store)
    assert (await service.decide(_edit(item_id, "Edited reply, DM us."))).outcome == "accepted"
    approved = repbot_store.get(item_id)
    assert approved.state is State.APPROVED and approved.post_after == clock.now + WINDOW

    clock.now += timedelta(seconds=29)
    result = await service.decide(Request(item_id, "undo", "web:bob", "web", actor="bob"))
    assert result.outcome == "accepted"
    back = repbot_store.get(item_id)
    assert back.state is State.AWAITING_APPROVAL
    assert back.draft == "Edited reply, DM us." and back.final_text is None
    assert [d.action for d in repbot_store.decisions(item_id)] == ["undo", "edit"]
    assert [e["actor"] for e in repbot_store.audit_log(item_id) if e["event"] == "undo"] == ["bob"]


async def test_undo_after_the_window_is_refused_and_the_reply_posts(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    clock = Clock()
    service = _service(repbot_store, clock)
    item_id = seed_item(repbot_store, source="sandbox")
    await service.decide(Request(item_id, "approve", "web:alice", "web"))
    clock.now += WINDOW
    result = await service.decide(Request(item_id, "undo", "web:alice", "web"))
    assert (result.outcome, result.reason) == ("refused", UNDO_OVER)
    assert repbot_store.get(item_id).state is State.APPROVED

    connector = SandboxConnector("sandbox", SandboxConfig(sandbox_dir=tmp_path / "sb"))
    poster = Poster(repbot_store, {"sandbox": connector}, clock=clock)
    assert await poster.run_once() == 1
    assert repbot_store.get(item_id).state is State.POSTED
    result = await service.decide(Request(item_id, "undo", "web:alice", "web"))
    assert (result.outcome, result.state) == ("already_decided", State.POSTED)
    await connector.aclose()


async def test_poster_skips_items_inside_their_window(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    clock = Clock()
    service = _service(repbot_store, clock)
    waiting = seed_item(repbot_store, source="sandbox")
    instant = seed_item(repbot_store, source="sandbox")
    await service.decide(Request(waiting, "approve", "web:alice", "web"))
    workflow.decide(
        repbot_store, instant, "approve", "cli", text="Posted at once.", post_after=clock.now
    )

    connector = SandboxConnector("sandbox", SandboxConfig(sandbox_dir=tmp_path / "sb"))
    poster = Poster(repbot_store, {"sandbox": connector}, clock=clock)
    assert await poster.run_once() == 1
    assert repbot_store.get(waiting).state is State.APPROVED
    assert repbot_store.get(instant).state is State.POSTED
    clock.now += WINDOW
    assert await poster.run_once() == 1
    assert repbot_store.get(waiting).state is State.POSTED
    assert len(connector.sandbox().all()) == 2
    await connector.aclose()


async def test_zero_seconds_posts_at_once(repbot_store: SqliteStore) -> None:
    clock = Clock()
    service = _service(repbot_store, clock, seconds=0)
    item_id = seed_item(repbot_store)
    await service.decide(Request(item_id, "approve", "web:alice", "web"))
    assert [i.id for i in repbot_store.due_posts(clock.now, 10)] == [item_id]
    assert service.undo_deadline(repbot_store.get(item_id)) is None


def test_a_retried_or_held_post_cannot_be_undone(repbot_store: SqliteStore) -> None:
    now = utcnow()
    item_id = seed_item(repbot_store)
    workflow.decide(repbot_store, item_id, "approve", "U1", text="ok", post_after=now + WINDOW)
    repbot_store.hold(item_id, "post manually", now + timedelta(days=30))
    with pytest.raises(InvalidTransition, match="undo window is over"):
        workflow.undo(repbot_store, item_id, "U1", now, "web")


def test_undo_loses_cleanly_to_the_poster(repbot_store: SqliteStore) -> None:
    now = utcnow()
    item_id = seed_item(repbot_store)
    workflow.decide(repbot_store, item_id, "approve", "U1", text="ok", post_after=now + WINDOW)
    workflow.begin_post(repbot_store, item_id)  # the poster took it first
    with pytest.raises(InvalidTransition):
        workflow.undo(repbot_store, item_id, "U1", now, "web")
    assert repbot_store.get(item_id).state is State.POSTING


def test_the_poster_query_reads_only_due_rows(repbot_store: SqliteStore) -> None:
    plan = repbot_store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT m.id FROM mentions m {DUE_POSTS_SQL}",
        (utcnow().isoformat(), 20),
    ).fetchall()
    details = [str(row["detail"]) for row in plan]
    assert any("mentions_post_due (state=? AND post_after<?)" in d for d in details), details
    assert not any(d.startswith("SCAN m") or d == "SCAN mentions" for d in details), details


def test_slack_message_shows_the_window_and_an_undo_button(repbot_store: SqliteStore) -> None:
    clock = Clock()
    item_id = seed_item(repbot_store)
    workflow.decide(
        repbot_store, item_id, "approve", "slack:U1", text="ok", post_after=clock.now + WINDOW
    )
    item = repbot_store.get(item_id)
    rendered = blocks.message_blocks(item, tz="UTC", undo_until=item.post_after, now=clock.now)
    undo = rendered[-1]
    assert undo["text"]["text"].endswith("Posting in 30 s")
    assert undo["accessory"]["action_id"] == blocks.ACTION_UNDO
    assert "Undo" not in str(blocks.message_blocks(item, tz="UTC"))
