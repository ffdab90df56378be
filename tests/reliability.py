"""Helpers of the reliability suite (tests/test_crash*.py, tests/test_reliability_*.py): a
`repbot run` subprocess, the fake Slack served from a thread for it, and the invariants checked
after crashes."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repbot.connectors.demo import load_sample
from repbot.models import State
from repbot.store import SqliteStore, Store
from repbot.testing.slack import FakeSlack
from repbot.workflow import TRANSITIONS

CHANNEL = "CCRASH"
BUSY = ("new", "classified", "approved", "posting")


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`repbot run -c config`, its stderr appended to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "repbot.cli", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        cwd=config.parent,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL and reap."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def counts(db: Path) -> dict[str, int]:
    """Mentions per state ({} before the daemon made the store)."""
    if not db.exists():
        return {}
    store = SqliteStore(db)
    try:
        return store.counts()
    finally:
        store.close()


def wait_until(db: Path, done: Callable[[SqliteStore], bool], timeout: float = 300) -> None:
    """Poll the store until ``done``; the timeout is a hang guard only."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            store = SqliteStore(db)
            try:
                if done(store):
                    return
            finally:
                store.close()
        time.sleep(0.2)
    raise AssertionError(f"did not settle: {counts(db)}")


def settled(store: Store) -> bool:
    """Nothing left for the daemon to do without a human, Slack included."""
    state = store.counts()
    return (
        sum(state.values()) > 0
        and not any(state.get(s) for s in BUSY)
        and not store.slack_undelivered(1)
    )


class SlackThread:
    """The fake Slack on its own thread and event loop, reachable by daemon subprocesses."""

    def __init__(self) -> None:
        self.fake = FakeSlack()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> SlackThread:
        self.thread.start()
        self._run(self.fake.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def _run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def delivered(self) -> Counter[tuple[int, str]]:
        """Messages in the channel per delivery: (mention id, episode). An item that comes back
        for a new round (a follow-up joined it, the review was edited, a snooze ended) is a new
        episode and gets a new message; one episode must never be posted twice."""

        async def read() -> list[dict[str, Any]]:
            return list(self.fake.channel_messages(CHANNEL))

        messages = self._run(read())
        return Counter(
            (
                int(m["metadata"]["event_payload"]["mention_id"]),
                m["metadata"]["event_payload"]["episode"],
            )
            for m in messages
            if "metadata" in m
        )

    def config(self) -> str:
        """The ``approval.slack`` YAML block for this fake."""
        return (
            "approval:\n  slack: {mode: http, bot_token: xoxb-crash-test, "
            f"signing_secret: 8f742231b10e8888abcd99yyyzzz85a5, channel: {CHANNEL}, "
            f"api_base_url: '{self.fake.base_url}'}}\n"
        )


def demo_ids(released: int) -> set[str]:
    """The external ids the demo source releases at its first ``released`` positions (looping)."""
    sample = load_sample()
    originals = {r["id"]: r for r in sample if "edit_of" not in r}
    ids = set()
    for i in range(released):
        record = sample[i % len(sample)]
        original = originals.get(record.get("edit_of", ""), record)
        suffix = "" if i < len(sample) else f"-r{i // len(sample)}"
        ids.add(f"demo-{original['id']}{suffix}")
    return ids


def assert_trails(store: Store, ids: list[int]) -> None:
    """Every item's audit trail is a path through the state machine ending in its state."""
    for item_id in ids:
        state = State.NEW
        for event in store.audit_log(item_id, limit=500):
            if "to_state" in event["detail"]:
                assert event["detail"]["from_state"] == state.value, (item_id, event)
                state = State(event["detail"]["to_state"])
                assert state in TRANSITIONS[State(event["detail"]["from_state"])], (item_id, event)
        assert state is store.get(item_id).state, item_id


# --- several daemons on PostgreSQL (tests/test_postgres_reliability.py) ---


def pg_wait_until(
    open_store: Callable[[], Store], done: Callable[[Store], bool], timeout: float = 300
) -> None:
    """Open a store with ``open_store`` and poll it until ``done``; the timeout is a hang guard."""
    store = open_store()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done(store):
                return
            time.sleep(0.2)
        raise AssertionError(f"did not settle: {store.counts()}")
    finally:
        store.close()


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TcpProxy:
    """A loopback TCP proxy on its own thread and event loop, to cut a server off and back.

    :meth:`cut` drops every open connection and refuses new ones (the port is closed, so a
    connect fails at once, as for a server that is down); :meth:`restore` listens again on the
    same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.cuts = 0

    def __enter__(self) -> TcpProxy:
        self.thread.start()
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def _run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def restore(self) -> None:
        """Listen (again) and forward each new connection to the target."""

        async def listen() -> asyncio.Server:
            return await asyncio.start_server(self._link, "127.0.0.1", self.port)

        self._server = self._run(listen())

    def cut(self) -> None:
        """Close the port and every forwarded connection."""

        async def close() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._links):
                writer.transport.abort()
            self._links.clear()

        self._run(close())
        self.cuts += 1

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        self._links -= {writer, up_writer}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass  # the other side went away, or cut() aborted the link
        finally:
            writer.transport.abort()
