"""Crash safety with the undo window: approvals wait ``undo_seconds`` before posting while
`repbot run` is SIGKILLed at random moments and some approvals are undone. After the last
restart every approval that was not undone is posted exactly once, and no undone one at all.
Only drafts of platforms repbot posts to are approved (the others wait for "post manually").
``--long`` kills the daemon 20 times instead of a few."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from repbot import platforms
from repbot.approval.service import ApprovalService, Request
from repbot.models import State
from repbot.sandbox import Sandbox
from repbot.store import SqliteStore
from repbot.testing.fakes import build_tiny_model
from repbot.workflow import TRANSITIONS

pytestmark = pytest.mark.slow
RECORDS = 40  # approvals at most
WINDOW = 1.5  # seconds; an undo the window refused is simply expected to post (no timing asserts)


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "repbot.cli", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        cwd=config.parent,
    )


def _counts(db: Path) -> dict[str, int]:
    store = SqliteStore(db)
    try:
        return store.counts()
    finally:
        store.close()


def _wait_until(db: Path, done: Callable[[dict[str, int]], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout  # a hang guard only
    while time.monotonic() < deadline:
        if db.exists() and done(_counts(db)):
            return
        time.sleep(0.2)
    raise AssertionError(f"did not settle: {_counts(db) if db.exists() else 'no store'}")


def _settled(counts: dict[str, int]) -> bool:
    """Every demo mention ingested and taken as far as the pipeline goes without a human."""
    return (
        counts.get("awaiting_approval", 0) > 0
        and not counts.get("new")
        and not counts.get("classified")
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_sigkill_during_the_undo_window_posts_once_or_never(tmp_path: Path, long_run: bool) -> None:
    random.seed(20261202)
    model = build_tiny_model(tmp_path / "tiny-model")
    config = tmp_path / "repbot.yaml"
    config.write_text(f"""
brand: {{name: Orbit}}
store: {{path: ./repbot.db}}
sources:
  - {{name: demo, type: demo, per_poll: 200, interval: 0.3, sandbox_dir: ./sandbox}}
classifier: {{model: {model}, batch_size: 16}}
server: {{enabled: false}}
pipeline: {{tick: 0.05, batch_size: 8, post_retry_base: 0.1}}
logging: {{level: WARNING}}
""")
    db, log = tmp_path / "repbot.db", tmp_path / "daemon.log"
    process = _start(config, log)
    try:
        _wait_until(db, _settled)
    finally:
        _kill(process)

    store = SqliteStore(db)
    service = ApprovalService(store, undo_seconds=WINDOW)
    waiting = store.queue([State.AWAITING_APPROVAL], limit=200)
    ids = [i.id for i in waiting if platforms.platform(i.mention.platform).can_reply][:RECORDS]
    assert len(ids) >= 8, store.counts()
    size = max(1, len(ids) // 20) if long_run else 8
    undone: set[int] = set()

    async def approve_and_undo(batch: list[int], undo: list[int]) -> None:
        for item_id in batch:
            assert (await service.decide(Request(item_id, "approve", "web:a", "web"))).changed
        for item_id in undo:
            if (await service.decide(Request(item_id, "undo", "web:b", "web"))).changed:
                undone.add(item_id)

    for batch in (ids[i : i + size] for i in range(0, len(ids), size)):
        process = _start(config, log)
        asyncio.run(approve_and_undo(batch, [i for i in batch if random.random() < 0.4]))
        time.sleep(random.uniform(0.0, WINDOW * 1.5))
        _kill(process)  # inside the window of some approvals, after it for others
    store.close()

    process = _start(config, log)
    try:
        _wait_until(db, lambda c: not c.get("approved") and not c.get("posting"))  # hang guard
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]

    store = SqliteStore(db)
    try:
        for item_id in ids:
            state = State.NEW
            for event in store.audit_log(item_id, limit=200):
                if "to_state" in event["detail"]:
                    assert event["detail"]["from_state"] == state.value
                    state = State(event["detail"]["to_state"])
                    assert state in TRANSITIONS[State(event["detail"]["from_state"])]
            expected = State.AWAITING_APPROVAL if item_id in undone else State.POSTED
            assert state is expected is store.get(item_id).state, item_id
    finally:
        store.close()
    keys = Counter(p["idempotency_key"] for p in Sandbox(tmp_path / "sandbox").all())
    assert keys == Counter({f"repbot-{i}": 1 for i in ids if i not in undone})
    assert undone, "some approvals were undone inside their window"
