"""The daemon in-process on the demo source: ingest → classify → draft → approve → post once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from repbot import workflow
from repbot.config import parse_config
from repbot.daemon import Daemon
from repbot.models import State
from repbot.sandbox import Sandbox
from repbot.testing.fakes import KeywordClassifier, wait_until


def _config(tmp_path: Path) -> str:
    return f"""
brand: {{name: Orbit, exclude_terms: [orbit gum, telescope, planet]}}
store: {{path: {tmp_path / "repbot.db"}}}
sources:
  - {{name: demo, type: demo, interval: 1, per_poll: 50, sandbox_dir: {tmp_path / "box"}}}
server: {{port: 0}}
pipeline: {{tick: 0.05, post_retry_base: 0.1}}
"""


async def test_demo_flows_to_awaiting_approval_and_posts_exactly_once(tmp_path: Path) -> None:
    config = parse_config(_config(tmp_path))
    daemon = Daemon(config, classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    store = daemon.store
    assert store is not None and daemon.server is not None
    try:
        await wait_until(lambda: store.counts().get("awaiting_approval", 0) >= 10)
        await wait_until(lambda: "new" not in store.counts() and "classified" not in store.counts())
        url = f"http://127.0.0.1:{daemon.server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as response:
                health = await response.json()
            async with http.get(f"{url}/metrics") as response:
                metrics = await response.text()
        assert health["status"] == "ok" and health["sources"][0]["name"] == "demo"
        assert health["queue"]["awaiting_approval"] >= 10
        assert 'repbot_mentions{state="awaiting_approval"}' in metrics
        skipped = store.queue(states=[State.SKIPPED])
        assert any("gum" in i.mention.text for i in skipped)
        top = store.queue(states=[State.AWAITING_APPROVAL])[0]
        workflow.decide(store, top.id, "approve", "tester", text=top.draft)
        await wait_until(lambda: store.get(top.id).state is State.POSTED)
    finally:
        await daemon.stop()
    posts = Sandbox(tmp_path / "box").all()
    assert [p["text"] for p in posts] == [top.draft]


async def test_stop_releases_every_task_and_is_idempotent(tmp_path: Path) -> None:
    daemon = Daemon(parse_config(_config(tmp_path)), classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    await asyncio.wait_for(daemon.stop(), timeout=60)  # hang guard; stop() bounds itself at 8 s
    await daemon.stop()
    assert all(task.done() for task in daemon._tasks)  # every worker was awaited or cancelled


async def test_restart_reconciles_a_post_whose_result_was_lost(tmp_path: Path) -> None:
    config = parse_config(_config(tmp_path))
    daemon = Daemon(config, classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    store = daemon.store
    assert store is not None
    await wait_until(lambda: store.counts().get("awaiting_approval", 0) >= 1)
    await daemon.scheduler.shutdown(1)
    item = store.queue(states=[State.AWAITING_APPROVAL])[0]
    workflow.decide(store, item.id, "approve", "tester", text="We are on it.")
    # Simulate a crash after the platform accepted the reply but before the result was stored.
    intent = store.begin_post(item.id)
    await daemon.connectors["demo"].reply(item.mention, intent.text, intent.idempotency_key)
    await daemon.stop()

    again = Daemon(parse_config(_config(tmp_path)), classifier=KeywordClassifier())
    await again.initialise()
    await again.start()
    try:
        assert again.store is not None
        assert again.store.get(item.id).state is State.POSTED
    finally:
        await again.stop()
    assert [p["text"] for p in Sandbox(tmp_path / "box").all()] == ["We are on it."]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_hosts(host: str) -> None:
    from repbot.server import is_loopback

    assert is_loopback(host) and not is_loopback("0.0.0.0")


async def test_unanswered_items_age_upward(tmp_path: Path) -> None:
    from datetime import timedelta

    from repbot.models import utcnow
    from repbot.pipeline import Pipeline
    from repbot.respond import Responder
    from repbot.store import SqliteStore
    from repbot.testing.fakes import make_mention

    config = parse_config(_config(tmp_path))
    store = SqliteStore(tmp_path / "age.db")
    now = utcnow()
    clock = [now]
    pipeline = Pipeline(
        store,
        config,
        KeywordClassifier(),
        Responder(config.responder, config.brand),
        clock=lambda: clock[0],
    )
    store.ingest("s", [make_mention(1, created_at=now)], None)
    await pipeline.drain()
    [item] = store.queue(states=[State.AWAITING_APPROVAL])
    clock[0] = now + timedelta(minutes=config.urgency.sla_minutes)
    await pipeline.rescore()
    aged = store.get(item.id)
    assert aged.urgency is not None and item.urgency is not None
    assert aged.urgency > item.urgency
    assert any(name.startswith("age") for name, _ in aged.explanation)
    store.close()
