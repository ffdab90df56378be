"""Crash safety: `repbot run` is SIGKILLed at random moments while mentions flow and humans
approve; after a restart every input record is stored exactly once, every mention's audit
trail is a path through the state machine with no step lost or repeated, and every approved
reply was posted exactly once."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from repbot import workflow
from repbot.models import State
from repbot.sandbox import Sandbox
from repbot.store import SqliteStore
from repbot.testing.fakes import build_tiny_model
from repbot.workflow import TRANSITIONS

pytestmark = pytest.mark.slow
ROUNDS = 10
PER_ROUND = 120


def _write_records(path: Path, start: int, count: int) -> None:
    with path.open("a", encoding="utf-8") as out:
        for n in range(start, start + count):
            text = random.choice(
                [
                    "@Orbit my card was charged twice, I want a refund",
                    "@Orbit how do I change my PIN?",
                    "@Orbit love the new app, thanks",
                    "@Orbit the app crashes when I log in",
                ]
            )
            record = {
                "external_id": f"e{n}",
                "platform": "x",
                "text": f"{text} #{n}",
                "author": {"handle": f"user{n % 37}", "followers": n * 7},
                "created_at": "2026-11-20T10:00:00Z",
            }
            out.write(json.dumps(record) + "\n")


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "repbot.cli", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        cwd=config.parent,
    )


def _approve_some(db: Path, count: int) -> None:
    store = SqliteStore(db)
    try:
        for item in store.queue(states=[State.AWAITING_APPROVAL], limit=count):
            reply = f"Reply to {item.mention.external_id}"
            workflow.decide(store, item.id, "approve", "crash-test", text=reply)
    finally:
        store.close()


def _progress(db: Path) -> tuple[int, int]:
    """(audit entries, mentions): grows whenever the daemon does anything."""
    if not db.exists():
        return (0, 0)
    store = SqliteStore(db)
    try:
        audit = store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        mentions = store.conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
    finally:
        store.close()
    return (int(audit), int(mentions))


def _wait_progress(db: Path, before: tuple[int, int], timeout: float = 90) -> None:
    """Kill only once the daemon is up and moving mentions, however slow the machine is."""
    deadline = time.monotonic() + timeout
    while _progress(db) == before and time.monotonic() < deadline:
        time.sleep(0.1)


def _wait_settled_offline(tmp_path: Path, config: Path, log: Path, written: int) -> None:
    """Let a daemon bring everything to awaiting approval, then SIGKILL it (one more crash)."""
    process = _start(config, log)
    try:
        _wait_settled(tmp_path / "repbot.db", written)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def _wait_settled(db: Path, expected: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            store = SqliteStore(db)
            counts = store.counts()
            store.close()
            busy = sum(counts.get(s, 0) for s in ("new", "classified", "approved", "posting"))
            if sum(counts.values()) == expected and not busy:
                return
        time.sleep(0.5)
    raise AssertionError(f"pipeline did not settle: {counts}")


def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path: Path) -> None:
    random.seed(20261122)
    model = build_tiny_model(tmp_path / "tiny-model")
    inbox = tmp_path / "inbox.jsonl"
    inbox.touch()
    config = tmp_path / "repbot.yaml"
    config.write_text(f"""
brand: {{name: Orbit}}
store: {{path: ./repbot.db}}
sources:
  - {{name: inbox, type: file, path: ./inbox.jsonl, interval: 0.3, batch_size: 40,
      sandbox_dir: ./sandbox}}
classifier: {{model: {model}, batch_size: 16}}
server: {{enabled: false}}
pipeline: {{tick: 0.05, batch_size: 8, post_retry_base: 0.1}}
logging: {{level: WARNING}}
""")
    log = tmp_path / "daemon.log"
    written = 0
    for _ in range(ROUNDS):
        _write_records(inbox, written, PER_ROUND)
        written += PER_ROUND
        before = _progress(tmp_path / "repbot.db")
        process = _start(config, log)
        _wait_progress(tmp_path / "repbot.db", before)
        time.sleep(random.uniform(0.0, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if (tmp_path / "repbot.db").exists():
            _approve_some(tmp_path / "repbot.db", random.randint(2, 8))

    _wait_settled_offline(tmp_path, config, log, written)
    _approve_some(tmp_path / "repbot.db", 5)
    process = _start(config, log)
    try:
        _wait_settled(tmp_path / "repbot.db", written)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]  # clean exit (hang guard)
    _assert_consistent(tmp_path, written)


def _assert_consistent(tmp_path: Path, written: int) -> None:
    store = SqliteStore(tmp_path / "repbot.db")
    try:
        rows = store.conn.execute("SELECT id, external_id, state FROM mentions").fetchall()
        assert sorted(r["external_id"] for r in rows) == sorted(f"e{n}" for n in range(written))
        for row in rows:
            trail = [e for e in store.audit_log(row["id"], limit=100) if "to_state" in e["detail"]]
            state = State.NEW
            for event in trail:
                assert event["detail"]["from_state"] == state.value, (row["external_id"], trail)
                state = State(event["detail"]["to_state"])
                assert state in TRANSITIONS[State(event["detail"]["from_state"])]
            assert state.value == row["state"], (row["external_id"], trail)
        posted = store.conn.execute(
            "SELECT m.id, m.final_text FROM mentions m WHERE m.final_text IS NOT NULL"
        ).fetchall()
    finally:
        store.close()
    assert posted, "some replies were approved"
    sandbox = Sandbox(tmp_path / "sandbox").all()
    keys = Counter(p["idempotency_key"] for p in sandbox)
    assert keys == Counter({f"repbot-{r['id']}": 1 for r in posted})
