"""Slack delivery: exactly once across kills and lost answers, every draft at volume, and only
changed messages re-rendered. Real SQLite file, real slack_sdk client, fake Slack over loopback."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from repbot import workflow
from repbot.approval import blocks
from repbot.approval.config import SlackConfig
from repbot.approval.slack import SlackApproval
from repbot.approval.wiring import attach_approval
from repbot.config import parse_config
from repbot.models import utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item, signed_body
from repbot.testing.slack import FakeSlack, block_actions_payload

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "CAPPROVE"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


def _cfg(fake: FakeSlack) -> SlackConfig:
    return SlackConfig(
        mode="http",
        bot_token=SecretStr("xoxb-test"),
        signing_secret=SecretStr(SECRET),
        channel=CHANNEL,
        approvers=["UALICE"],
        api_base_url=fake.base_url,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


def _drafts_in(fake: FakeSlack) -> list[int]:
    """The mention id named by each message in the channel (oldest first)."""
    return [
        int(m["metadata"]["event_payload"]["mention_id"])
        for m in fake.channel_messages(CHANNEL)
        if "metadata" in m
    ]


async def _sync_all(slack: SlackApproval, passes: int = 50) -> None:
    for _ in range(passes):
        if not await slack.sync():
            return
    raise AssertionError("sync never settled")


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count = [0]
    real = blocks.message_blocks

    def counting(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(blocks, "message_blocks", counting)
    return count


def _count_queries(store: SqliteStore) -> Callable[[], int]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    return lambda: len(seen)


# exactly once (issue 10)


async def test_kill_after_post_before_ts_is_recorded_posts_once(
    tmp_path: Path, fake: FakeSlack
) -> None:
    db = tmp_path / "kill.db"
    store = SqliteStore(db)
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)

    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed

    store.slack_sent = die  # type: ignore[method-assign]  # the process dies right here
    with pytest.raises(Killed):
        await slack.sync()
    store.close()
    assert _drafts_in(fake) == [item_id]  # Slack has it; the store has only the intent

    store = SqliteStore(db)
    restarted = SlackApproval(_cfg(fake), store)
    await _sync_all(restarted)
    assert _drafts_in(fake) == [item_id]
    assert len(fake.calls_to("chat.postMessage")) == 1
    (lookup,) = fake.calls_to("conversations.history")
    assert lookup.args["include_all_metadata"] in ("1", "true", True)
    (message,) = fake.channel_messages(CHANNEL)
    assert restarted.message_for(item_id) == (CHANNEL, message["ts"])

    workflow.decide(store, item_id, "reject", "web", reason="dupe", channel="web")
    await _sync_all(restarted)
    assert {c.args["ts"] for c in fake.calls_to("chat.update")} == {message["ts"]}
    assert "Rejected" in str(fake.channel_messages(CHANNEL)[0]["blocks"])
    await restarted.stop()
    store.close()


async def test_kill_before_post_message_posts_once_after_restart(
    tmp_path: Path, fake: FakeSlack
) -> None:
    db = tmp_path / "kill2.db"
    store = SqliteStore(db)
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)

    async def die(**kwargs: Any) -> None:
        raise Killed

    slack._post_client.chat_postMessage = die  # type: ignore[method-assign,assignment]
    with pytest.raises(Killed):
        await slack.sync()
    store.close()
    assert fake.channel_messages(CHANNEL) == []

    store = SqliteStore(db)
    restarted = SlackApproval(_cfg(fake), store)
    await _sync_all(restarted)
    assert _drafts_in(fake) == [item_id]
    await restarted.stop()
    store.close()


async def test_lost_answer_is_found_in_history_not_posted_again(
    tmp_path: Path, fake: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "lost.db")
    ids = [seed_item(store, urgency=0.9 - i / 10) for i in range(3)]
    slack = SlackApproval(_cfg(fake), store)
    fake.drop_next_response("chat.postMessage")  # posted, but the answer never arrives
    await slack.sync()
    assert _drafts_in(fake) == [ids[0]] and slack.message_for(ids[0]) is None
    await _sync_all(slack)
    assert sorted(_drafts_in(fake)) == sorted(ids)
    assert len(fake.calls_to("chat.postMessage")) == 3
    assert all(slack.message_for(i) is not None for i in ids)
    await slack.stop()
    store.close()


async def test_history_lookup_pages_and_ignores_other_apps(tmp_path: Path, fake: FakeSlack) -> None:
    fake.history_max_limit = 15  # Slack's page size for some non-Marketplace apps
    store = SqliteStore(tmp_path / "pages.db")
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)
    fake.drop_next_response("chat.postMessage")
    await slack.sync()
    (ours,) = fake.channel_messages(CHANNEL)
    for n in range(40):  # the channel moves on while repbot is down
        ts = f"{ours['ts'].split('.')[0]}.{900000 + n}"
        fake.messages[(CHANNEL, ts)] = {"type": "message", "user": "UBOB", "ts": ts, "text": "hi"}
    forged_ts = f"{ours['ts'].split('.')[0]}.999999"
    fake.messages[(CHANNEL, forged_ts)] = {**ours, "ts": forged_ts, "bot_id": "BOTHER"}

    await _sync_all(slack)
    assert slack.message_for(item_id) == (CHANNEL, ours["ts"])
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert len(fake.calls_to("conversations.history")) >= 3
    await slack.stop()
    store.close()


async def test_history_temporarily_unreadable_waits_then_resolves(
    tmp_path: Path, fake: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "wait.db")
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)
    fake.drop_next_response("chat.postMessage")
    await slack.sync()
    fake.fail_next("conversations.history", "internal_error", times=2)
    await slack.sync()
    await slack.sync()
    assert len(fake.calls_to("chat.postMessage")) == 1  # waited instead of guessing
    await _sync_all(slack)
    assert _drafts_in(fake) == [item_id] and slack.message_for(item_id) is not None
    await slack.stop()
    store.close()


async def test_history_scope_missing_posts_again_rather_than_never(
    tmp_path: Path, fake: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "scope.db")
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)
    fake.drop_next_response("chat.postMessage")
    await slack.sync()
    fake.fail_next("conversations.history", "missing_scope")
    await _sync_all(slack)
    assert _drafts_in(fake) == [item_id, item_id]  # the documented at-least-once fallback
    assert slack.message_for(item_id) == (CHANNEL, fake.channel_messages(CHANNEL)[-1]["ts"])
    await slack.stop()
    store.close()


async def test_snoozed_draft_back_again_is_matched_to_its_new_message(
    tmp_path: Path, fake: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "snooze.db")
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)
    await _sync_all(slack)
    first = slack.message_for(item_id)
    workflow.decide(store, item_id, "snooze", "web", snooze_until=utcnow(), channel="web")
    await _sync_all(slack)
    store.wake_snoozed(utcnow())
    fake.drop_next_response("chat.postMessage")
    await slack.sync()
    await _sync_all(slack)
    assert len(fake.channel_messages(CHANNEL)) == 2
    second = slack.message_for(item_id)
    assert second is not None and second != first
    assert second[1] == fake.channel_messages(CHANNEL)[-1]["ts"]
    await slack.stop()
    store.close()


async def test_kv_records_of_earlier_versions_are_migrated(tmp_path: Path, fake: FakeSlack) -> None:
    db = tmp_path / "old.db"
    store = SqliteStore(db)
    delivered, waiting = seed_item(store), seed_item(store)
    store.close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(
        "DROP TABLE slack_messages; DELETE FROM schema_migrations WHERE version = 3;"
        f" INSERT INTO kv VALUES ('slack:msg:{delivered}',"
        """ '{"channel": "CAPPROVE", "ts": "1.000001", "state": "awaiting_approval",
        "sig": "x"}');"""
        f" INSERT INTO kv VALUES ('slack:open', '[{delivered}]');"
    )
    conn.close()
    fake.messages[(CHANNEL, "1.000001")] = {"type": "message", "ts": "1.000001", "blocks": []}

    store = SqliteStore(db)
    assert store.kv_get("slack:open") is None and store.kv_get(f"slack:msg:{delivered}") is None
    slack = SlackApproval(_cfg(fake), store)
    assert slack.message_for(delivered) == (CHANNEL, "1.000001")
    await _sync_all(slack)
    assert _drafts_in(fake) == [waiting]  # the delivered draft is not posted again
    assert [c.args["ts"] for c in fake.calls_to("chat.update")] == ["1.000001"]
    await slack.stop()
    store.close()


# volume (issue 11)


async def test_every_one_of_450_open_drafts_reaches_slack_most_urgent_first(
    tmp_path: Path, fake: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "many.db")
    ids = {seed_item(store, urgency=(i * 37 % 100) / 100) for i in range(450)}
    slack = SlackApproval(_cfg(fake), store)
    await _sync_all(slack)
    delivered = _drafts_in(fake)
    assert len(delivered) == 450 and set(delivered) == ids
    urgencies = [store.get(i).urgency or 0.0 for i in delivered]
    assert urgencies == sorted(urgencies, reverse=True)
    await slack.stop()
    store.close()


async def test_undelivered_and_changed_queries_use_indexes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "plan.db")
    seed_item(store)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    store.slack_undelivered(10)
    store.slack_changed(10)
    store.conn.set_trace_callback(None)
    plans = [
        " | ".join(r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {q}")) for q in statements
    ]
    assert "mentions_state" in plans[0] and "SCAN m" not in plans[0]
    assert "SEARCH s USING INTEGER PRIMARY KEY" in plans[0] and "TEMP B-TREE" not in plans[0]
    assert "slack_messages_open" in plans[1]
    store.close()


async def test_a_pass_over_300_unchanged_messages_renders_nothing(
    tmp_path: Path, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "quiet.db")
    ids = [seed_item(store, urgency=0.5) for _ in range(300)]
    slack = SlackApproval(_cfg(fake), store)
    await _sync_all(slack)
    renders = _count_renders(monkeypatch)
    queries = _count_queries(store)

    assert await slack.sync() == 0
    assert renders[0] == 0 and fake.calls_to("chat.update") == []
    idle_queries = queries()
    for _ in range(200):
        seed_item(store)
    await _sync_all(slack)
    before = queries()
    await slack.sync()
    assert queries() - before == idle_queries  # the same few queries at 300 or 500 open

    store.update_urgency(ids[0], 0.5000001, [])  # shown as 0.50: nothing to redo
    store.update_urgency(ids[1], 0.71, [])
    workflow.decide(store, ids[2], "reject", "web", channel="web")
    renders[0] = 0
    assert await slack.sync() == 2
    assert renders[0] == 2
    assert {c.args["ts"] for c in fake.calls_to("chat.update")} == {
        (slack.message_for(i) or ("", ""))[1] for i in ids[1:3]
    }
    await slack.stop()
    store.close()


async def test_failed_refresh_is_rendered_again_on_next_pass(
    tmp_path: Path, fake: FakeSlack
) -> None:
    """A change that is not in the store (the two-person 'first approval' note) is not lost
    when the immediate update fails."""
    store = SqliteStore(tmp_path / "stale.db")
    item_id = seed_item(store, urgency=0.95)
    cfg = _cfg(fake).model_copy(update={"two_person_threshold": 0.9})
    slack = SlackApproval(cfg, store)
    await _sync_all(slack)
    channel, ts = slack.message_for(item_id) or ("", "")
    app = web.Application()
    app.router.add_post("/slack/events", slack.handle_http)
    payload = block_actions_payload(
        user="UALICE",
        action_id=blocks.ACTION_APPROVE,
        value=str(item_id),
        channel=channel,
        message_ts=ts,
    )
    async with TestClient(TestServer(app)) as client:
        body, headers = signed_body(payload, SECRET)
        fake.drop_next_response("chat.update", times=2, carry_out=False)  # slack_sdk retries once
        await client.post("/slack/events", data=body, headers=headers)
        await slack.drain()
    assert store.kv_get(f"slack:pending:{item_id}") is not None
    assert "second approver" not in str(fake.messages[(channel, ts)]["blocks"])
    await _sync_all(slack)
    assert "needs a second approver" in str(fake.messages[(channel, ts)]["blocks"])
    await slack.stop()
    store.close()


# event-driven (issue 11)


async def test_decisions_from_either_surface_wake_slack(tmp_path: Path, fake: FakeSlack) -> None:
    config = parse_config(
        f"""
brand: {{name: Orbit}}
store: {{path: {tmp_path / "w.db"}}}
approval:
  slack:
    mode: http
    bot_token: xoxb-test
    signing_secret: {SECRET}
    channel: {CHANNEL}
    api_base_url: {fake.base_url}
"""
    )
    store = SqliteStore(tmp_path / "w.db")
    woken: list[int] = []
    slack = attach_approval(web.Application(), store, config, on_decision=woken.append)
    assert slack is not None and not slack.wake_event.is_set()
    slack.wake()
    assert slack.wake_event.is_set()
    slack.wake_event.clear()
    assert slack.on_decision is not None
    slack.on_decision(7)
    assert woken == [7] and slack.wake_event.is_set()
    await slack.stop()
    store.close()


async def test_slack_down_at_post_needs_no_history_lookup(tmp_path: Path, fake: FakeSlack) -> None:
    store = SqliteStore(tmp_path / "down.db")
    item_id = seed_item(store)
    slack = SlackApproval(_cfg(fake), store)
    await fake.stop()
    await slack.sync()  # connection refused: certainly not posted
    await fake.start()
    await _sync_all(slack)
    assert _drafts_in(fake) == [item_id]
    assert fake.calls_to("conversations.history") == []
    await slack.stop()
    store.close()
