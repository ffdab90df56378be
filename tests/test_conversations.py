"""Conversations: follow-ups link to their thread and are drafted in its context (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from repbot import followups, workflow
from repbot.config import parse_config
from repbot.models import Mention, State
from repbot.pipeline import Pipeline
from repbot.respond import Responder
from repbot.store.sqlite import SqliteStore
from repbot.testing.fakes import KeywordClassifier

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def post(n: int, minutes: float = 0, **overrides: Any) -> Mention:
    data: dict[str, Any] = {
        "platform": "mastodon",
        "external_id": f"toot-{n}",
        "author": {"handle": "ana@fosstodon.org"},
        "text": f"@orbit my card was charged twice for order {n}, please help",
        "created_at": T0 + timedelta(minutes=minutes),
    }
    data.update(overrides)
    return Mention.model_validate(data)


class RecordingLLM:
    """Answers politely and keeps every prompt it was sent."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def complete(self, messages: list[dict[str, str]]) -> str:
        self.prompts.append(messages[-1]["content"])
        return "Sorry about that, we have refunded the second charge."


def _pipeline(store: SqliteStore, tmp_path: Path, window: str = "10m") -> tuple[Pipeline, Any]:
    config = parse_config(
        f"brand: {{name: Orbit}}\nstore: {{path: {tmp_path / 'x.db'}}}\n"
        f"responder: {{mode: llm, conversation_window: {window}}}\n"
    )
    llm = RecordingLLM()
    responder = Responder(config.responder, config.brand, llm=llm)
    return Pipeline(store, config, KeywordClassifier(), responder), llm


def _posted(store: SqliteStore, mention_id: int, reply_id: str, text: str) -> None:
    workflow.decide(store, mention_id, "approve", "U1", text=text)
    workflow.begin_post(store, mention_id)
    workflow.complete_post(store, mention_id, reply_id, f"https://m.example/{reply_id}")


async def test_an_answer_to_our_reply_joins_the_conversation_and_sees_it(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    pipeline, llm = _pipeline(repbot_store, tmp_path)
    (first,) = followups.ingest(repbot_store, "m", [post(1)], None).new_ids
    await pipeline.drain()
    _posted(repbot_store, first, "our-reply-1", "Sorry Ana, we are refunding it today.")
    answer = post(
        2, 60, text="@orbit the refund still is not there", thread={"parent": "our-reply-1"}
    )
    (second,) = followups.ingest(repbot_store, "m", [answer], None).new_ids
    assert repbot_store.get(second).conversation_id == first
    assert repbot_store.get(first).conversation_id == first
    turns = repbot_store.conversation(second)
    assert [t.mention_id for t in turns] == [first, second]
    assert turns[0].reply == "Sorry Ana, we are refunding it today." and turns[1].reply is None
    llm.prompts.clear()
    await pipeline.drain()
    assert repbot_store.get(second).state is State.AWAITING_APPROVAL
    [prompt] = llm.prompts
    assert "we are refunding it today" in prompt and "charged twice for order 1" in prompt


async def test_a_reply_to_a_held_mention_links_by_its_parent(repbot_store: SqliteStore) -> None:
    (first,) = repbot_store.ingest("m", [post(1)], None).new_ids
    other = post(2, 90, author={"handle": "raj@hachyderm.io"}, thread={"parent": "toot-1"})
    (second,) = repbot_store.ingest("m", [other], None).new_ids
    assert repbot_store.get(second).conversation_id == first
    stranger = post(3, 90, thread={"parent": "unknown-status"})
    (third,) = repbot_store.ingest("m", [stranger], None).new_ids
    assert repbot_store.get(third).conversation_id is None
    assert repbot_store.conversation(third) == []


async def test_two_messages_within_the_window_are_one_item(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    pipeline, llm = _pipeline(repbot_store, tmp_path)
    (first,) = followups.ingest(repbot_store, "m", [post(1)], None).new_ids
    await pipeline.drain()
    assert repbot_store.get(first).state is State.AWAITING_APPROVAL
    later = post(2, 4, text="@orbit also the app logs me out every time I open it")
    (second,) = followups.ingest(repbot_store, "m", [later], None).new_ids
    llm.prompts.clear()
    await pipeline.drain()
    assert [i.id for i in repbot_store.queue([State.AWAITING_APPROVAL])] == [first]
    joined = repbot_store.get(second)
    assert (joined.state, joined.skip_reason) == (State.SKIPPED, f"joined conversation #{first}")
    assert repbot_store.get(first).conversation_id == joined.conversation_id == first
    [prompt] = llm.prompts  # the open item was drafted again, with the second message
    assert "logs me out" in prompt


async def test_messages_further_apart_are_drafted_separately(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    pipeline, _ = _pipeline(repbot_store, tmp_path, window="2m")
    followups.ingest(repbot_store, "m", [post(1), post(2, 5)], None)
    await pipeline.drain()
    assert len(repbot_store.queue([State.AWAITING_APPROVAL])) == 2


async def test_a_burst_in_one_page_becomes_one_item(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    pipeline, _ = _pipeline(repbot_store, tmp_path)
    followups.ingest(repbot_store, "m", [post(1), post(2, 1), post(3, 2)], None)
    await pipeline.drain()
    [item] = repbot_store.queue([State.AWAITING_APPROVAL])
    assert [t.mention_id for t in repbot_store.conversation(item.id)] == [
        item.id,
        item.id + 1,
        item.id + 2,
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT m.id, m.conversation_id FROM posts p JOIN mentions m ON m.id = p.mention_id"
        " WHERE p.external_id = ? AND p.status = 'posted' AND m.platform = ?",
        "SELECT id FROM mentions WHERE conversation_id = ? AND id < ? ORDER BY id LIMIT 1",
        "SELECT id FROM mentions WHERE platform = ? AND author_handle = ? AND created_at >= ?"
        " AND id < ? ORDER BY created_at DESC LIMIT 1",
    ],
)
def test_conversation_look_ups_are_keyed(repbot_store: SqliteStore, sql: str) -> None:
    args = (1,) * sql.count("?")
    plan = " ".join(str(r[3]) for r in repbot_store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
    assert "SCAN m" not in plan and "SCAN p" not in plan and "SCAN mentions" not in plan, plan
