"""Several daemons on one PostgreSQL database: wake-ups across daemons (LISTEN/NOTIFY), SIGKILL
of either or both daemons at random moments, and PostgreSQL unreachable for a while.

Every test skips without ``REPBOT_TEST_POSTGRES`` (see .ci/postgres.sh). ``--long`` runs 20
crash rounds instead of a few.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from reliability import (
    SlackThread,
    TcpProxy,
    assert_trails,
    demo_ids,
    free_port,
    kill,
    pg_wait_until,
    settled,
    start,
)

from repbot import platforms, workflow
from repbot.approval.service import ApprovalService, Request
from repbot.config import parse_config
from repbot.connectors.demo import load_sample
from repbot.daemon import Daemon
from repbot.models import State
from repbot.sandbox import Sandbox
from repbot.store import Store
from repbot.store.postgres import PostgresStore, open_postgres
from repbot.testing.fakes import KeywordClassifier, build_tiny_model, wait_until
from repbot.testing.postgres import pg_schema

DSN_ENV = "REPBOT_TEST_DSN"


@pytest.fixture
def pg_dsn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated schema; its DSN is also in ``$REPBOT_TEST_DSN`` for configs to name."""
    with pg_schema() as dsn:
        open_postgres(dsn).close()  # `repbot migrate` before the daemons start
        monkeypatch.setenv(DSN_ENV, dsn)
        yield dsn


def _quiet_daemon_config(tmp_path: Path) -> str:
    """A daemon whose fall-back passes never come during a test (``tick`` of an hour) and whose
    demo source polls once: only a wake-up can make it post."""
    return f"""
brand: {{name: Orbit}}
store: {{backend: postgres, dsn: '${{REPBOT_TEST_DSN}}'}}
sources:
  - {{name: demo, type: demo, interval: 3600, per_poll: 40, sandbox_dir: {tmp_path / "box"}}}
server: {{enabled: false}}
pipeline: {{tick: 3600, post_retry_base: 0.1}}
"""


def _approvable(store: PostgresStore) -> list[int]:
    return [
        item.id
        for item in store.queue(states=[State.AWAITING_APPROVAL], limit=200)
        if platforms.platform(item.mention.platform).can_reply
    ]


async def test_approval_on_one_daemon_is_posted_by_another_at_once(
    tmp_path: Path, pg_dsn: str
) -> None:
    b = Daemon(parse_config(_quiet_daemon_config(tmp_path)), classifier=KeywordClassifier())
    await b.initialise()
    await b.start()
    a = open_postgres(pg_dsn)  # daemon A's own pool: the approval is made in its sessions
    try:
        assert b.listener is not None
        listener = b.listener
        await wait_until(listener.listening.is_set)
        await wait_until(lambda: len(_approvable(a)) >= 2)
        first, second = _approvable(a)[:2]
        workflow.decide(a, first, "approve", "U-on-A", text="Sorry, we are on it.")
        await wait_until(lambda: a.get(first).state is State.POSTED)  # hang guard only
        # The listening session dies (server restart, network cut): B subscribes again.
        old_pid = listener.backend_pid
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (old_pid,))
        await wait_until(lambda: listener.listening.is_set() and listener.backend_pid != old_pid)
        workflow.decide(a, second, "approve", "U-on-A", text="Thanks for telling us.")
        await wait_until(lambda: a.get(second).state is State.POSTED)
    finally:
        a.close()
        await b.stop()
    assert not listener.alive  # the listening thread ended with the daemon
    texts = sorted(p["text"] for p in Sandbox(tmp_path / "box").all())
    assert texts == ["Sorry, we are on it.", "Thanks for telling us."]  # each exactly once


# --- two `repbot run` subprocesses on one database, SIGKILLed at random moments ---

WINDOW = 1.0  # seconds of undo window on the approvals of the crash test


def _crash_config(tmp_path: Path, model: Path, slack: SlackThread, *, loop: bool) -> Path:
    """One config for both daemons (same store, same sandbox, same Slack); ``DSN_ENV`` names
    the database. Without ``loop`` the demo releases its sample once, 2 mentions a poll, so
    polling goes on across the first kills and the stream then ends by itself."""
    config = tmp_path / ("pg-loop.yaml" if loop else "pg.yaml")
    per_poll = 7 if loop else 2
    config.write_text(f"""
brand: {{name: Orbit}}
store: {{backend: postgres, dsn: '${{{DSN_ENV}}}'}}
sources:
  - {{name: demo, type: demo, per_poll: {per_poll}, loop: {str(loop).lower()}, interval: 0.4,
      sandbox_dir: ./sandbox}}
classifier: {{model: {model}, batch_size: 16}}
server: {{port: 0}}
pipeline: {{tick: 0.05, batch_size: 8, post_retry_base: 0.1}}
logging: {{level: WARNING}}
{slack.config()}""")
    return config


class _Decisions:
    """The approvals and undos this test made, through the approval service with a window."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.approved: set[int] = set()
        self.undone: set[int] = set()

    def approve_some(self, count: int, undo_share: float) -> None:
        store = open_postgres(self.dsn)
        try:
            asyncio.run(self._decide(ApprovalService(store, undo_seconds=WINDOW), store, count,
                                     undo_share))  # fmt: skip
        finally:
            store.close()

    async def _decide(
        self, service: ApprovalService, store: PostgresStore, count: int, undo_share: float
    ) -> None:
        waiting = [i for i in _approvable(store) if i not in self.undone][:count]
        for item_id in waiting:
            if (await service.decide(Request(item_id, "approve", "web:a", "web"))).changed:
                self.approved.add(item_id)
        for item_id in waiting:
            if random.random() >= undo_share or item_id not in self.approved:
                continue
            if (await service.decide(Request(item_id, "undo", "web:b", "web"))).changed:
                self.approved.discard(item_id)
                self.undone.add(item_id)


def _audit_size(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM audit").fetchone()
    return int(row[0]) if row else 0


def _open(dsn: str) -> Callable[[], Store]:
    return lambda: open_postgres(dsn)


def _all_done(store: Store) -> bool:
    return settled(store) and not store.counts().get("approved")


@pytest.mark.slow
def test_two_daemons_sigkilled_at_random_lose_and_repeat_nothing(
    tmp_path: Path, pg_dsn: str, long_run: bool
) -> None:
    random.seed(20261203)
    model = build_tiny_model(tmp_path / "tiny-model")
    logs = {name: tmp_path / f"daemon-{name}.log" for name in "ab"}
    decisions = _Decisions(pg_dsn)
    running: dict[str, subprocess.Popen[bytes]] = {}
    with SlackThread() as slack:
        config = _crash_config(tmp_path, model, slack, loop=long_run)
        try:
            for _ in range(20 if long_run else 2):
                _start_missing(running, config, logs)
                before = _audit_size(pg_dsn)
                deadline = time.monotonic() + 120  # hang guard: kill only once the daemons move
                while _audit_size(pg_dsn) <= before and time.monotonic() < deadline:
                    time.sleep(0.1)
                decisions.approve_some(random.randint(2, 6), undo_share=0.3)  # live, on PG
                time.sleep(random.uniform(0.0, 2.5))  # polling, drafting, Slack, undo, posting
                for name in random.choice(["a", "b", "ab"]):
                    kill(running.pop(name))
            if long_run:  # the looping stream ends: restart both on the finite one
                for name in list(running):
                    kill(running.pop(name))
                config = _crash_config(tmp_path, model, slack, loop=False)
            _start_missing(running, config, logs)
            pg_wait_until(_open(pg_dsn), _stream_done)
            kill(running.pop(random.choice("ab")))  # one dies while the last approvals wait
            decisions.approve_some(6, undo_share=0.3)
            pg_wait_until(_open(pg_dsn), _all_done)
            for name in list(running):
                process = running.pop(name)
                process.terminate()
                assert process.wait(timeout=60) == 0, logs[name].read_text()[-3000:]
        finally:
            for process in running.values():
                kill(process)
        delivered = slack.delivered()
    _assert_consistent(tmp_path, pg_dsn, decisions, delivered)


def _start_missing(
    running: dict[str, subprocess.Popen[bytes]], config: Path, logs: dict[str, Path]
) -> None:
    for name in "ab":
        if name not in running:
            running[name] = start(config, logs[name])


def _stream_done(store: Store) -> bool:
    """The finite demo stream is all in and taken as far as it goes without a human."""
    return int(store.get_cursor("demo") or 0) >= len(load_sample()) and settled(store)


def _assert_consistent(
    tmp_path: Path, dsn: str, decisions: _Decisions, delivered: Counter[tuple[int, str]]
) -> None:
    store = open_postgres(dsn)
    try:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT id, external_id FROM mentions").fetchall()
            approvals = conn.execute(
                "SELECT mention_id FROM decisions WHERE action = 'approve'"
            ).fetchall()
            with_message = {r[0] for r in conn.execute("SELECT mention_id FROM slack_messages")}
        released = int(store.get_cursor("demo") or 0)
        assert Counter(r[1] for r in rows) == Counter(demo_ids(released))  # each once
        assert_trails(store, [r[0] for r in rows])
        assert decisions.approved, "some replies were approved"
        assert {store.get(i).state for i in decisions.approved} == {State.POSTED}
        assert all(store.get(i).state is State.AWAITING_APPROVAL for i in decisions.undone)
        everyone = Counter(decisions.approved | decisions.undone)
        assert Counter(r[0] for r in approvals) == everyone  # none lost, none twice
    finally:
        store.close()
    keys = Counter(p["idempotency_key"] for p in Sandbox(tmp_path / "sandbox").all())
    assert keys == Counter({f"repbot-{i}": 1 for i in decisions.approved})
    assert delivered and {mention_id for mention_id, _ in delivered} == with_message
    twice = sorted(m for m, n in delivered.items() if n > 1)
    assert twice == []  # one Slack message per draft, whichever daemon delivered it


# --- PostgreSQL unreachable for a while, behind a loopback proxy ---


def _outage_config(tmp_path: Path, model: Path, slack: SlackThread, name: str, port: int) -> Path:
    config = tmp_path / f"outage-{name}.yaml"
    config.write_text(f"""
brand: {{name: Orbit}}
store: {{backend: postgres, dsn: '${{{DSN_ENV}}}'}}
sources:
  - {{name: demo, type: demo, per_poll: 3, loop: false, interval: 0.3, sandbox_dir: ./sandbox}}
classifier: {{model: {model}, batch_size: 16}}
server: {{port: {port}}}
pipeline: {{tick: 0.05, batch_size: 8, post_retry_base: 0.1}}
logging: {{level: WARNING}}
{slack.config()}""")
    return config


def _health(port: int) -> int:
    """The HTTP status /healthz answers with (an error status is an answer too)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=120) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _approve_now(dsn: str, count: int, approved: set[int]) -> None:
    store = open_postgres(dsn)
    try:
        for item_id in _approvable(store)[:count]:
            reply = f"Reply {item_id}"
            if not workflow.decide(store, item_id, "approve", "web:a", text=reply).duplicate:
                approved.add(item_id)
    finally:
        store.close()


@pytest.mark.slow
def test_postgres_unreachable_for_a_while_daemons_stay_up_and_deliver_everything(
    tmp_path: Path, pg_dsn: str, long_run: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = build_tiny_model(tmp_path / "tiny-model")
    outage = 60.0 if long_run else 8.0
    server = conninfo_to_dict(pg_dsn)
    approved: set[int] = set()
    running: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"outage-{name}.log" for name in "ab"}
    with TcpProxy(str(server["host"]), int(server["port"])) as proxy, SlackThread() as slack:
        monkeypatch.setenv(DSN_ENV, make_conninfo(pg_dsn, port=str(proxy.port)))
        ports = {name: free_port() for name in "ab"}
        try:
            for name in "ab":
                config = _outage_config(tmp_path, model, slack, name, ports[name])
                running[name] = start(config, logs[name])
            pg_wait_until(_open(pg_dsn), lambda s: len(_approvable(s)) >= 3)
            _approve_now(pg_dsn, 3, approved)  # replies waiting to post when the cut comes
            proxy.cut()
            ends = time.monotonic() + outage
            while time.monotonic() < ends:
                for name, process in running.items():
                    assert process.poll() is None, logs[name].read_text()[-3000:]
                    assert _health(ports[name]) in {200, 500, 503}  # it answers
                time.sleep(0.5)
            proxy.restore()
            pg_wait_until(_open(pg_dsn), lambda s: all(_health(p) == 200 for p in ports.values()))
            pg_wait_until(_open(pg_dsn), settled)
            _approve_now(pg_dsn, 3, approved)
            pg_wait_until(_open(pg_dsn), _all_done)
            for name in list(running):
                process = running.pop(name)
                process.terminate()
                assert process.wait(timeout=60) == 0, logs[name].read_text()[-3000:]
        finally:
            for process in running.values():
                kill(process)
        delivered = slack.delivered()
    store = open_postgres(pg_dsn)
    try:
        with psycopg.connect(pg_dsn) as conn:
            rows = conn.execute("SELECT external_id FROM mentions").fetchall()
        assert Counter(r[0] for r in rows) == Counter(demo_ids(int(store.get_cursor("demo") or 0)))
        assert int(store.get_cursor("demo") or 0) == len(load_sample())  # the whole stream
        assert {store.get(i).state for i in approved} == {State.POSTED}
    finally:
        store.close()
    keys = Counter(p["idempotency_key"] for p in Sandbox(tmp_path / "sandbox").all())
    assert keys == Counter({f"repbot-{i}": 1 for i in approved})
    assert proxy.cuts >= 1 and delivered
    twice = sorted(m for m, n in delivered.items() if n > 1)
    assert twice == []  # one Slack message per draft, whichever daemon delivered it
