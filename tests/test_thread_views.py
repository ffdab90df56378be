"""Edits and conversations are visible in the console and in Slack (issue 14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from repbot import followups, workflow
from repbot.approval import blocks
from repbot.approval.config import SlackConfig, WebConfig
from repbot.approval.slack import SlackApproval
from repbot.approval.web import setup_console
from repbot.models import Thread
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.slack import FakeSlack

EDITED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _edited_after_our_reply(store: SqliteStore) -> int:
    mid = seed_item(store, platform="google_business", rating=1, text="Rude staff, 1 star.")
    workflow.decide(store, mid, "approve", "U1", text="Sorry, the manager will call you.")
    workflow.begin_post(store, mid)
    workflow.complete_post(store, mid, "gb-reply-1", "https://g.example/reply/1")
    mention = store.get(mid).mention
    later = mention.model_copy(
        update={"rating": 4, "text": "The manager called. Sorted!", "updated_at": EDITED_AT}
    )
    followups.ingest(store, "demo", [later], None)
    return mid


def _conversation(store: SqliteStore) -> tuple[int, int]:
    first = seed_item(store, platform="x", text="@orbit charged twice for rent")
    workflow.decide(store, first, "approve", "U1", text="Sorry! Refunding it now.")
    workflow.begin_post(store, first)
    workflow.complete_post(store, first, "tweet-our-1", "https://x.com/orbit/status/1")
    answer = store.get(first).mention.model_copy(
        update={
            "external_id": "tweet-2",
            "text": "@orbit still not refunded",
            "thread": Thread(parent="tweet-our-1"),
        }
    )
    (second,) = followups.ingest(store, "demo", [answer], None).new_ids
    return first, second


async def _page(store: SqliteStore, path: str) -> str:
    app = web.Application()
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1")
    async with TestClient(TestServer(app)) as client:
        resp = await client.get(path)
        assert resp.status == 200
        return await resp.text()


async def test_the_console_shows_an_edit_and_the_earlier_version(
    repbot_store: SqliteStore,
) -> None:
    mid = _edited_after_our_reply(repbot_store)
    html = await _page(repbot_store, f"/items/{mid}")
    assert "edited 1★ → 4★ after our reply" in html
    assert "Rude staff, 1 star." in html  # the earlier version, in the revision history
    listing = await _page(repbot_store, "/?state=posted")
    assert "edited 1★ → 4★ after our reply" in listing


def test_slack_shows_the_edit(repbot_store: SqliteStore) -> None:
    mid = _edited_after_our_reply(repbot_store)
    rendered = json.dumps(
        blocks.message_blocks(repbot_store.get(mid), tz="UTC"), ensure_ascii=False
    )
    assert "edited 1★ → 4★ after our reply" in rendered


async def test_the_console_shows_the_conversation(repbot_store: SqliteStore) -> None:
    first, second = _conversation(repbot_store)
    html = await _page(repbot_store, f"/items/{second}")
    assert "Conversation (2 messages)" in html
    assert "Sorry! Refunding it now." in html and f'href="/items/{first}"' in html


def test_slack_shows_the_conversation(repbot_store: SqliteStore) -> None:
    _, second = _conversation(repbot_store)
    item = repbot_store.get(second)
    conversation = repbot_store.conversation(second)
    rendered = json.dumps(
        blocks.message_blocks(item, tz="UTC", conversation=conversation), ensure_ascii=False
    )
    assert "Conversation* (2 messages)" in rendered
    assert "Sorry! Refunding it now." in rendered and "still not refunded" in rendered


async def test_the_slack_message_of_a_follow_up_shows_the_conversation(
    repbot_store: SqliteStore,
) -> None:
    _, second = _conversation(repbot_store)
    repbot_store.set_classified(second, {"label": "negative", "intent": "complaint"})
    repbot_store.set_draft(second, "Sorry, checking the refund now.", {"limit": 280})
    async with FakeSlack() as fake:
        config = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-test"),
            signing_secret=SecretStr("8f742231b10e8888abcd99yyyzzz85a5"),
            channel="CAPPROVE",
            approvers=["UALICE"],
            api_base_url=fake.base_url,
        )
        slack = SlackApproval(config, repbot_store)
        for _ in range(20):
            if not await slack.sync():
                break
        [message] = fake.channel_messages("CAPPROVE")
    rendered = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Conversation* (2 messages)" in rendered and "Sorry! Refunding it now." in rendered
