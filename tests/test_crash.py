"""Crash safety: `repbot run` is SIGKILLed at random moments while the demo source releases
mentions, the pipeline classifies and drafts them, drafts go to (fake) Slack and approved
replies are posted. After the last restart every released mention is stored exactly once,
every audit trail is a path through the state machine, every approval was recorded once and
posted exactly once, and no draft reached Slack twice. ``--long`` runs 20 rounds."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest
from reliability import SlackThread, assert_trails, demo_ids, kill, settled, start, wait_until

from repbot import platforms, workflow
from repbot.models import State
from repbot.sandbox import Sandbox
from repbot.store import SqliteStore
from repbot.testing.fakes import build_tiny_model

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, model: Path, slack: SlackThread, *, loop: bool) -> Path:
    config = tmp_path / ("repbot.yaml" if loop else "final.yaml")
    config.write_text(f"""
brand: {{name: Orbit}}
store: {{path: ./repbot.db}}
sources:
  - {{name: demo, type: demo, per_poll: 7, loop: {str(loop).lower()}, interval: 0.3,
      sandbox_dir: ./sandbox}}
classifier: {{model: {model}, batch_size: 16}}
server: {{port: 0}}
pipeline: {{tick: 0.05, batch_size: 8, post_retry_base: 0.1}}
logging: {{level: WARNING}}
{slack.config()}""")
    return config


def _approve_some(db: Path, count: int, approved: set[int]) -> None:
    """Approve up to ``count`` drafts of platforms repbot posts to (the others go manual)."""
    store = SqliteStore(db)
    try:
        for item in store.queue(states=[State.AWAITING_APPROVAL], limit=200):
            if count <= 0:
                break
            if not platforms.platform(item.mention.platform).can_reply:
                continue
            reply = f"Reply to {item.mention.external_id}"
            if not workflow.decide(store, item.id, "approve", "crash-test", text=reply).duplicate:
                approved.add(item.id)
                count -= 1
    finally:
        store.close()


def _audit_size(db: Path) -> int:
    if not db.exists():
        return 0
    store = SqliteStore(db)
    try:
        return int(store.conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        store.close()


def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, long_run: bool
) -> None:
    random.seed(20261122)
    model = build_tiny_model(tmp_path / "tiny-model")
    db, log = tmp_path / "repbot.db", tmp_path / "daemon.log"
    approved: set[int] = set()
    with SlackThread() as slack:
        config = _config(tmp_path, model, slack, loop=True)
        for _ in range(20 if long_run else 4):
            before = _audit_size(db)
            process = start(config, log)
            deadline = time.monotonic() + 120  # hang guard: kill only once the daemon moves
            while _audit_size(db) <= before and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(random.uniform(0.0, 2.5))
            kill(process)
            _approve_some(db, random.randint(2, 8), approved)

        final = _config(tmp_path, model, slack, loop=False)  # the stream ends: let it settle
        process = start(final, log)
        try:
            wait_until(db, settled)
        finally:
            kill(process)
        _approve_some(db, 5, approved)
        process = start(final, log)
        try:
            wait_until(db, settled)
        finally:
            process.terminate()
            assert process.wait(timeout=60) == 0, log.read_text()[-3000:]  # clean exit
        delivered = slack.delivered()
    _assert_consistent(tmp_path, approved, delivered)


def _assert_consistent(
    tmp_path: Path, approved: set[int], delivered: Counter[tuple[int, str]]
) -> None:
    store = SqliteStore(tmp_path / "repbot.db")
    try:
        released = int(store.get_cursor("demo") or 0)
        rows = store.conn.execute("SELECT id, external_id FROM mentions").fetchall()
        assert Counter(r["external_id"] for r in rows) == Counter(demo_ids(released))
        assert_trails(store, [r["id"] for r in rows])
        assert approved, "some replies were approved"
        assert {store.get(i).state for i in approved} == {State.POSTED}
        decisions = store.conn.execute(
            "SELECT mention_id FROM decisions WHERE action = 'approve'"
        ).fetchall()
        assert Counter(r[0] for r in decisions) == Counter(approved)  # none lost, none twice
        with_message = {
            r[0] for r in store.conn.execute("SELECT mention_id FROM slack_messages").fetchall()
        }
    finally:
        store.close()
    keys = Counter(p["idempotency_key"] for p in Sandbox(tmp_path / "sandbox").all())
    assert keys == Counter({f"repbot-{i}": 1 for i in approved})
    assert delivered and {mention_id for mention_id, _ in delivered} == with_message
    assert max(delivered.values()) == 1, [m for m, n in delivered.items() if n > 1]
