"""A source that cannot post never pretends to; the demo sandbox says so on every screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from repbot import workflow
from repbot.approval import blocks, render
from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.cli import main
from repbot.connector import Connector
from repbot.connectors.demo import DemoConfig, DemoConnector
from repbot.connectors.file import FileConfig, FileConnector
from repbot.models import State
from repbot.poster import MANUAL, Poster
from repbot.runner import SourceRunner
from repbot.sandbox import Sandbox
from repbot.store.sqlite import SqliteStore

REVIEW = {
    "platform": "google_business",
    "external_id": "g-1",
    "kind": "review",
    "rating": 1,
    "text": "Rude staff, waited an hour.",
    "author": {"handle": "Karen W."},
    "created_at": "2026-11-30T09:00:00Z",
    "url": "https://maps.example/review/g-1",
}


def _approve_all(store: SqliteStore) -> list[int]:
    ids = [i.id for i in store.queue([State.NEW])]
    for mid in ids:
        store.set_classified(mid, {"label": "negative", "intent": "complaint", "urgency": 0.5})
        store.set_draft(mid, "Sorry about that, please call us.", {"limit": 4096})
        workflow.decide(store, mid, "approve", "U1", text="Sorry about that, please call us.")
    return ids


async def _post(store: SqliteStore, name: str, connector: Connector) -> None:
    await SourceRunner(store, connector).poll()
    _approve_all(store)
    await Poster(store, {name: connector}).run_once(limit=500)


async def test_a_file_imported_review_goes_to_post_manually(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps(REVIEW) + "\n")
    connector = FileConnector("inbox", FileConfig(path=tmp_path / "in.jsonl"))
    connector.base_dir = tmp_path
    await _post(repbot_store, "inbox", connector)
    [item] = repbot_store.queue([State.APPROVED])
    assert (item.last_error, render.needs_manual_post(item)) == (MANUAL, True)
    assert repbot_store.queue([State.POSTED]) == []
    assert not (tmp_path / "sandbox" / "posts.db").exists()  # nothing pretended to post
    workflow.decide(repbot_store, item.id, "posted_manually", "U1", reason="https://maps.example/r")
    done = repbot_store.get(item.id)
    assert (done.state, done.posted_url, done.sandbox_post) == (
        State.POSTED,
        "https://maps.example/r",
        False,
    )


async def _demo(store: SqliteStore, tmp_path: Path) -> DemoConnector:
    connector = DemoConnector("demo", DemoConfig(per_poll=100, sandbox_dir=tmp_path / "box"))
    await _post(store, "demo", connector)
    return connector


async def test_the_demo_posts_to_its_sandbox_only_where_the_platform_can_reply(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    connector = await _demo(repbot_store, tmp_path)
    await connector.aclose()
    posted = repbot_store.queue([State.POSTED], limit=200)
    manual = repbot_store.queue([State.APPROVED], limit=200)
    assert posted and all(i.sandbox_post for i in posted)
    assert {i.mention.platform for i in manual} >= {"yelp", "hackernews", "rss"}
    assert all(i.last_error == MANUAL for i in manual)
    assert len(Sandbox(tmp_path / "box").all()) == len(posted)


@pytest.fixture
async def sandboxed(repbot_store: SqliteStore, tmp_path: Path) -> int:
    connector = await _demo(repbot_store, tmp_path)
    await connector.aclose()
    return next(i.id for i in repbot_store.queue([State.POSTED]) if i.sandbox_post)


async def test_the_console_labels_sandbox_posts(repbot_store: SqliteStore, sandboxed: int) -> None:
    app = web.Application()
    setup_console(app, repbot_store, WebConfig(enabled=True), server_host="127.0.0.1")
    async with TestClient(TestServer(app)) as client:
        for path in (f"/items/{sandboxed}", "/?state=posted"):
            resp = await client.get(path)
            assert resp.status == 200, path
            assert render.SANDBOX_NOTE in await resp.text(), path


def test_slack_labels_sandbox_posts(repbot_store: SqliteStore, sandboxed: int) -> None:
    rendered = json.dumps(blocks.message_blocks(repbot_store.get(sandboxed), tz="UTC"))
    assert render.SANDBOX_NOTE in rendered


def test_repbot_queue_labels_sandbox_posts(
    repbot_store: SqliteStore,
    sandboxed: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "repbot.yaml").write_text(f"store: {{path: {repbot_store.path}}}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["queue", "--state", "posted", "--json"]) == 0
    items: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert items and all(i["sandbox"] for i in items)
    assert main(["queue", "--state", "posted"]) == 0
    assert "sandbox" in capsys.readouterr().out
