"""The customer's history: earlier mentions, replies and decisions, on the item page and once in
the Slack thread. Real SQLite file, real slack_sdk client, fake Slack over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from repbot.approval.config import HistoryConfig, SlackConfig, WebConfig
from repbot.approval.history import history_mrkdwn
from repbot.approval.slack import SlackApproval
from repbot.approval.web import setup_console
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.slack import FakeSlack

CHANNEL = "CAPPROVE"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "repbot.db")


def _posted(store: SqliteStore, item_id: int, text: str) -> None:
    store.decide(
        item_id,
        "edit",
        "web:alice",
        to=State.APPROVED,
        expected={State.AWAITING_APPROVAL},
        text=text,
    )
    store.begin_post(item_id)
    store.complete_post(item_id, f"r{item_id}", "https://x.example/r1")


def test_history_is_same_platform_and_handle_newest_first(store: SqliteStore) -> None:
    first = seed_item(store, handle="Dana", text="First complaint")
    _posted(store, first, "We fixed it, Dana")
    second = seed_item(store, handle="dana", text="Second one")
    store.decide(second, "reject", "web:bob", to=State.REJECTED, expected={State.AWAITING_APPROVAL})
    seed_item(store, handle="dana", platform="reddit", text="Elsewhere")
    seed_item(store, handle="someone_else", text="Not them")
    current = seed_item(store, handle="DANA", text="Third time!")
    seed_item(store, handle="dana", text="Later one")  # after the current mention: not "earlier"

    history = store.customer_history(current)
    assert [e.mention_id for e in history] == [second, first]
    assert history[1].reply == "We fixed it, Dana" and history[1].state is State.POSTED
    assert [(d.action, d.actor) for d in history[0].decisions] == [("reject", "web:bob")]
    assert history[0].reply is None


def test_history_across_platforms_only_when_asked_and_capped(store: SqliteStore) -> None:
    ids = [seed_item(store, handle="dana", platform=p) for p in ("x", "reddit") * 15]
    current = seed_item(store, handle="dana", platform="x")
    same = store.customer_history(current)
    assert {e.platform for e in same} == {"x"} and len(same) == 15
    every = store.customer_history(current, limit=20, across_platforms=True)
    assert [e.mention_id for e in every] == sorted(ids, reverse=True)[:20]
    assert {e.platform for e in every} == {"x", "reddit"}


class PlanSpy:
    """Stands in for the store's connection and keeps the plan of each author query."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.plans = conn, []

    def execute(self, sql: str, params: Any = ()) -> Any:
        if "author_handle = ?" in sql:
            self.plans.extend(r[3] for r in self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        return self.conn.execute(sql, params)


def test_history_uses_the_author_indexes(store: SqliteStore) -> None:
    current = seed_item(store, handle="dana")
    real = store.conn
    for across in (False, True):
        spy = PlanSpy(real)
        store.conn = spy  # type: ignore[assignment]
        try:
            store.customer_history(current, across_platforms=across)
        finally:
            store.conn = real
        joined = " | ".join(spy.plans)
        assert ("mentions_handle" if across else "mentions_author") in joined, joined
        assert "SCAN" not in joined and "TEMP B-TREE" not in joined, joined


def test_no_handle_no_history(store: SqliteStore) -> None:
    seed_item(store, handle="")
    assert store.customer_history(seed_item(store, handle="")) == []


async def test_item_page_shows_the_history(store: SqliteStore) -> None:
    first = seed_item(store, handle="dana", text="My <b>parcel</b> is late")
    _posted(store, first, "Sorry Dana, it ships today")
    current = seed_item(store, handle="dana", text="Again late")
    app = web.Application()
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1")
    async with TestClient(TestServer(app)) as http:
        html = await (await http.get(f"/items/{current}")).text()
        alone = await (await http.get(f"/items/{first}")).text()
    assert 'id="customer-history"' in html and f'href="/items/{first}"' in html
    assert "My &lt;b&gt;parcel&lt;/b&gt; is late" in html
    assert "Sorry Dana, it ships today" in html and "edit by web:alice" in html
    assert "No earlier mentions by this author." in alone


def _cfg(fake: FakeSlack) -> SlackConfig:
    return SlackConfig(
        mode="http",
        bot_token=SecretStr("xoxb-test"),
        signing_secret=SecretStr("s" * 32),
        channel=CHANNEL,
        approvers=["UALICE"],
        api_base_url=fake.base_url,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


async def test_slack_thread_gets_the_history_once(store: SqliteStore, fake: FakeSlack) -> None:
    first = seed_item(store, handle="dana", text="First <!channel> complaint")
    _posted(store, first, "We fixed it")
    current = seed_item(store, handle="dana", text="Broken again")
    slack = SlackApproval(_cfg(fake), store)
    slack.history = HistoryConfig()
    for _ in range(3):
        await slack.sync()
    await slack.refresh(current)
    await slack.sync()

    posts = fake.calls_to("chat.postMessage")
    threaded = [c for c in posts if c.args.get("thread_ts")]
    (reply,) = threaded
    parent = slack.message_for(current)
    assert parent is not None and reply.args["thread_ts"] == parent[1]
    assert f"#{first}" in reply.args["text"] and "We fixed it" in reply.args["text"]
    assert "<!channel>" not in reply.args["text"], "mention text is escaped for Slack"
    assert len(posts) == 1 + 1  # the open draft and its history (the posted one is not sent)

    # A redelivery of the same item (its message gone, posted anew) adds no second history.
    store.conn.execute("DELETE FROM slack_messages WHERE mention_id = ?", (current,))
    await slack.sync()
    assert len([c for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]) == 1


async def test_slack_history_is_off_without_the_setting(
    store: SqliteStore, fake: FakeSlack
) -> None:
    seed_item(store, handle="dana")
    seed_item(store, handle="dana")
    slack = SlackApproval(_cfg(fake), store)
    await slack.sync()
    assert not [c for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]


def test_history_text_is_short_and_escaped(store: SqliteStore) -> None:
    seed_item(store, handle="dana", text="x" * 1000 + " <@U123> & co")
    entries = store.customer_history(seed_item(store, handle="dana"))
    text = history_mrkdwn(entries, "UTC")
    assert len(text) < 400 and "<@U123>" not in text
