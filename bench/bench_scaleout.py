"""Scale-out (issue 17): several `repbot run` daemons on one PostgreSQL database.

Three scenarios, each with real daemon subprocesses (a config file and a server port of their
own), the X and Reddit simulators and the fake Slack served over loopback from this process, and
the embedded classifier with the template responder (the daemon's defaults; there is no cheaper
classifier to configure, so the bursts are kept small):

- **throughput**: a burst of N mentions (half X, half Reddit) against 1 daemon on SQLite and 1,
  2 and 4 daemons sharing a PostgreSQL database (a fresh database per configuration); the time
  from the burst until every mention is drafted (or skipped as needing no reply), then every
  draft is approved through the web console (round-robin over the daemons' consoles) and the
  time until the platforms received every reply. Exactly once is asserted: each mention stored
  once, each approved reply received once by its platform and logged as posted by one daemon,
  no draft delivered to Slack twice.
- **failover**: two daemons; SIGKILL the one holding the X source's advisory lock and time until
  the other polls X; the killed daemon is restarted for the next trial.
- **cross-daemon**: two daemons; mentions trickle in, every draft is approved through daemon A's
  console as soon as it is awaiting approval; Approve → reply received by the platform, and
  which daemon posted it.

``python -m bench scaleout [--quick] [--update]``; needs ``REPBOT_TEST_POSTGRES`` (a role that
may create databases; see ``.ci/postgres.sh``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import aiohttp
import psycopg
import yaml
from aiohttp import web
from psycopg import sql
from psycopg.conninfo import make_conninfo

import repbot.daemon
from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.connectors.x.simulator import XSimulator
from repbot.store.postgres import source_lock_key
from repbot.testing.server import RecordedRequest, Reply
from repbot.testing.slack import FakeSlack

ENV = "REPBOT_TEST_POSTGRES"
DSN_ENV = "REPBOT_SCALEOUT_DSN"
SLACK_SECRET = "bench-scaleout-signing-secret-0123456789"
CONSOLE_TOKEN = "bench-scaleout-break-glass-token-0123456789abcdef"
CHANNEL = "CSCALE01"
SOURCES = ("x", "reddit")
DONE_PIPELINE = ("new", "classified", "drafted")
_POSTED_LINE = re.compile(r"posted mention=(\d+) ")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# ---- the platforms ------------------------------------------------------------------------


class TimedX(XSimulator):
    """The X simulator, remembering when each mentions page was served and each reply made."""

    def __init__(self) -> None:
        super().__init__(reject_duplicates=False, rate_limits={"mentions": 10**6})
        self.polls: list[float] = []
        self.replied: dict[str, list[float]] = {}

    async def _mentions(self, request: web.Request, rec: RecordedRequest) -> Reply:
        self.polls.append(time.monotonic())
        return await super()._mentions(request, rec)

    async def _create(self, request: web.Request, rec: RecordedRequest) -> Reply:
        reply = await super()._create(request, rec)
        parent = ((rec.json() or {}).get("reply") or {}).get("in_reply_to_tweet_id")
        if parent is not None and reply.status == 201:
            self.replied.setdefault(str(parent), []).append(time.monotonic())
        return reply


class TimedReddit(RedditSimulator):
    """The Reddit simulator, remembering when each reply (comment) was made, by parent."""

    def __init__(self) -> None:
        super().__init__(rate_limit=10**6)
        self.replied: dict[str, list[float]] = {}

    async def _comment(self, request: web.Request, rec: RecordedRequest) -> Reply:
        reply = await super()._comment(request, rec)
        body = reply.body if isinstance(reply.body, dict) else {}
        if not body.get("json", {}).get("errors"):
            self.replied.setdefault(rec.form().get("thing_id", ""), []).append(time.monotonic())
        return reply


@dataclass
class Platforms:
    """The simulated X, Reddit and Slack for one configuration (served by this event loop)."""

    x: TimedX = field(default_factory=TimedX)
    reddit: TimedReddit = field(default_factory=TimedReddit)
    slack: FakeSlack = field(default_factory=FakeSlack)

    async def __aenter__(self) -> Platforms:
        await self.x.start()
        await self.reddit.start()
        await self.slack.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.slack.stop()
        await self.reddit.stop()
        await self.x.stop()

    def seed(self, count: int) -> set[tuple[str, str]]:
        """Publish ``count`` mentions (X and Reddit, half each); their (platform, external id)."""
        tweets = self.x.seed_mentions(count // 2, spread_seconds=1)
        things = self.reddit.seed_mentions(count - count // 2, spread_seconds=1)
        return {("x", str(t.id)) for t in tweets} | {("reddit", t.fullname) for t in things}

    def replies(self) -> Counter[tuple[str, str]]:
        """Replies each mention received on its platform, (platform, external id) → count."""
        got: Counter[tuple[str, str]] = Counter()
        for parent, times in self.x.replied.items():
            got[("x", parent)] += len(times)
        for parent, times in self.reddit.replied.items():
            got[("reddit", parent)] += len(times)
        return got

    def replied_at(self, platform: str, external_id: str) -> float | None:
        """When the platform first received a reply to this mention."""
        sim = self.x if platform == "x" else self.reddit
        times = sim.replied.get(external_id)
        return times[0] if times else None

    def slack_deliveries(self) -> Counter[tuple[int, str]]:
        """Draft messages posted to Slack, (mention id, episode) → count."""
        got: Counter[tuple[int, str]] = Counter()
        for call in self.slack.calls_to("chat.postMessage"):
            meta = call.args.get("metadata")
            if isinstance(meta, str):
                meta = json.loads(meta)
            payload = (meta or {}).get("event_payload") or {}
            if "mention_id" in payload:
                got[(int(payload["mention_id"]), str(payload.get("episode")))] += 1
        return got


# ---- the stores ---------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, empty database on the server of ``server`` (dropped on exit); its DSN.

    A database rather than a schema: advisory locks and NOTIFY channels are per database, so
    the daemons of one configuration never meet those of another test or bench.
    """
    name = f"repbot_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server, dbname=name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


class Reader:
    """Read-only queries on the store the daemons share (SQLite file or PostgreSQL DSN)."""

    def __init__(self, sqlite_path: Path | None = None, dsn: str | None = None) -> None:
        self.sqlite_path = sqlite_path
        self.dsn = dsn

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """``query`` (``%s`` placeholders) on the store; [] while it does not exist yet."""
        if self.dsn is not None:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                return list(conn.execute(cast(Any, query), params).fetchall())
        assert self.sqlite_path is not None
        if not self.sqlite_path.exists():
            return []
        uri = f"file:{self.sqlite_path}?mode=ro"
        lite = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            return list(lite.execute(query.replace("%s", "?"), params))
        except sqlite3.OperationalError:  # the schema is not there yet
            return []
        finally:
            lite.close()

    def counts(self) -> dict[str, int]:
        """Mentions per state."""
        try:
            return {str(s): int(n) for s, n in self.rows(_COUNTS)}
        except psycopg.errors.UndefinedTable:
            return {}

    def ids(self, state: str) -> list[int]:
        """Mention ids in ``state``."""
        return [int(r[0]) for r in self.rows("SELECT id FROM mentions WHERE state = %s", [state])]

    def joined(self) -> int:
        """Mentions skipped because they joined an open item of their conversation."""
        return int(self.rows(_JOINED)[0][0])

    def keys(self) -> dict[int, tuple[str, str]]:
        """Every stored mention: id → (platform, external id)."""
        return {int(i): (str(p), str(e)) for i, p, e in self.rows(_KEYS)}

    def cursors(self) -> set[str]:
        """Sources that have completed a poll (they keep a cursor)."""
        try:
            return {str(r[0]) for r in self.rows("SELECT source FROM cursors")}
        except psycopg.errors.UndefinedTable:
            return set()

    def lock_holder(self, source: str) -> str | None:
        """The application_name (the daemon) of the session holding ``source``'s lock."""
        found = self.rows(_HOLDER, [source_lock_key(source)])
        return str(found[0][0]) if found else None


_COUNTS = "SELECT state, COUNT(*) FROM mentions GROUP BY state"
_JOINED = "SELECT COUNT(*) FROM mentions WHERE skip_reason LIKE 'joined conversation #%%'"
_KEYS = "SELECT id, platform, external_id FROM mentions"
_HOLDER = """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s::bigint::oid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


# ---- the daemons --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    """One `repbot run` subprocess with a config file and server port of its own."""

    name: str
    root: Path
    platforms: Platforms
    dsn: str | None = None
    interval: float = 1.0
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def config(self) -> dict[str, Any]:
        """The node's repbot.yaml; the DSN comes from the environment (a secret)."""
        x, reddit, slack = self.platforms.x, self.platforms.reddit, self.platforms.slack
        sources = [
            {"name": "x", "type": "x", "interval": self.interval, "api_base_url": x.url,
             "brand_username": "acme", "max_pages_per_poll": 50, "tier": "enterprise",
             "overlap": 2, **x.credentials()},
            {"name": "reddit", "type": "reddit", "interval": self.interval,
             "subreddits": ["acme"], "max_pages_per_poll": 50, **reddit.credentials()},
        ]  # fmt: skip
        store = (
            {"backend": "postgres", "dsn": f"${{{DSN_ENV}}}"}
            if self.dsn is not None
            else {"path": str(self.root.parent / "repbot.db")}
        )
        return {
            "brand": {"name": "Acme"},
            "store": store,
            "sources": sources,
            "server": {"host": "127.0.0.1", "port": self.port},
            "approval": {
                "slack": {
                    "mode": "http",
                    "bot_token": "xoxb-bench-scaleout",
                    "signing_secret": SLACK_SECRET,
                    "channel": CHANNEL,
                    "api_base_url": slack.base_url,
                },
                "web": {"enabled": True, "break_glass": True, "token": CONSOLE_TOKEN},
                "undo_seconds": 0,
            },
            "responder": {"min_urgency": {"other": 0.0}},
            "logging": {"file": str(self.root / "daemon.log")},
        }

    def start(self) -> None:
        """Write the config and start the daemon."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "repbot.yaml"
        path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.dsn is not None:
            env[DSN_ENV] = make_conninfo(self.dsn, application_name=self.name)
        with (self.root / "stderr.log").open("ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "repbot.cli", "run", "-c", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                cwd=self.root,
            )

    async def ready(self, timeout: float = 300.0) -> None:
        """Wait for ``/healthz`` to answer 200 (the timeout is a hang guard only)."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.stderr()}")
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} did not come up: {self.stderr()}")

    def stderr(self) -> str:
        """The end of the daemon's stderr."""
        path = self.root / "stderr.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def terminate(self) -> None:
        """Send SIGTERM (the daemon stops in bounded time)."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for the process to exit; SIGKILL it after ``timeout`` seconds."""
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def posted(self) -> list[int]:
        """Mention ids this daemon logged as posted (all its runs)."""
        path = self.root / "daemon.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return [int(m) for m in _POSTED_LINE.findall(text)]


@contextlib.contextmanager
def cluster(nodes: list[Node]) -> Iterator[list[Node]]:
    """Start every node; stop (and at worst kill) every one on exit, also on failure."""
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait()


class Console:
    """A signed-in web console session on one daemon (break-glass admin)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def __aenter__(self) -> Console:
        async with self.http.get(f"{self.base}/login") as resp:
            csrf = _csrf(await resp.text())
        form = {"csrf": csrf, "name": "break-glass", "token": CONSOLE_TOKEN, "next": "/users"}
        async with self.http.post(f"{self.base}/login", data=form) as resp:
            if resp.status != 200:
                raise RuntimeError(f"console sign-in answered {resp.status}")
            self.csrf = _csrf(await resp.text())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    async def approve(self, item_id: int) -> bool:
        """``POST /items/{id}/approve``; whether the console recorded it."""
        form = {"csrf": self.csrf, "next": "/"}
        headers = {"Accept": "application/json"}
        url = f"{self.base}/items/{item_id}/approve"
        async with self.http.post(url, data=form, headers=headers) as resp:
            answer = await resp.json(content_type=None)
            return resp.status == 200 and bool(answer.get("ok"))


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise RuntimeError("no CSRF token on the console page")
    return found.group(1)


def cross_daemon_wakeups() -> bool:
    """Whether the daemon listens for the store's NOTIFY (wake-ups from other daemons)."""
    source = Path(repbot.daemon.__file__).read_text(encoding="utf-8")
    return "wait_for_work" in source or "LISTEN" in source


async def _query(reader: Reader, what: str, *args: Any) -> Any:
    return await asyncio.to_thread(getattr(reader, what), *args)


async def _until_polled(reader: Reader, timeout: float = 120) -> None:
    """Wait until every source completed its first poll: a connector's first sweep starts
    after the newest item existing then, so a burst published before it would never be read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(SOURCES) <= await _query(reader, "cursors"):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"sources not polled yet: {await _query(reader, 'cursors')}")


async def _until_settled(reader: Reader, total: int, timeout: float) -> dict[str, int]:
    """Wait until ``total`` mentions are stored and none is left for the pipeline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = await _query(reader, "counts")
        if sum(counts.values()) >= total and not any(counts.get(s) for s in DONE_PIPELINE):
            return dict(counts)
        await asyncio.sleep(0.2)
    raise AssertionError(f"pipeline did not settle: {await _query(reader, 'counts')}")


async def _until_posted(reader: Reader, count: int, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = await _query(reader, "counts")
        if counts.get("posted", 0) >= count and not counts.get("approved"):
            return dict(counts)
        await asyncio.sleep(0.2)
    raise AssertionError(f"replies not all posted: {await _query(reader, 'counts')}")


# ---- throughput ---------------------------------------------------------------------------


@dataclass
class Throughput:
    """One configuration's burst: counts and phase times."""

    label: str
    daemons: int
    burst: int
    drafted: int
    joined: int
    skipped: int
    approved: int
    posted: int
    draft_s: float
    post_s: float
    posted_by: dict[str, int]
    slack_messages: int
    slack_twice: int

    @property
    def draft_rate(self) -> float:
        """Mentions drafted (or skipped) per second."""
        return self.burst / self.draft_s

    @property
    def post_rate(self) -> float:
        """Replies approved and received by the platform per second."""
        return self.posted / self.post_s if self.post_s > 0 else float("nan")


async def throughput(
    root: Path,
    *,
    daemons: int,
    burst: int,
    server: str | None,
    warm: int = 10,
    timeout: float = 900.0,
) -> Throughput:
    """Burst ``burst`` mentions at ``daemons`` daemons (on SQLite when ``server`` is None, else
    on a fresh PostgreSQL database of ``server``); asserts every item was handled once.

    ``warm`` mentions per daemon go through first (not timed, not approved), so each daemon's
    first inference is not part of the figure.
    """
    label = f"{daemons}× PostgreSQL" if server else f"{daemons}× SQLite"
    with contextlib.ExitStack() as stack:
        dsn = stack.enter_context(fresh_database(server)) if server else None
        async with Platforms() as platforms:
            nodes = [
                Node(f"bench-node{i}", root / f"node{i}", platforms, dsn) for i in range(daemons)
            ]
            reader = Reader(dsn=dsn) if dsn else Reader(sqlite_path=root / "repbot.db")
            with cluster(nodes):
                for node in nodes:
                    await node.ready()
                await _until_polled(reader)
                expected = platforms.seed(warm * daemons)
                before = await _until_settled(reader, len(expected), timeout)
                warmed = set(await _query(reader, "ids", "awaiting_approval"))
                joined_before = await _query(reader, "joined")
                expected |= platforms.seed(burst)
                started = time.monotonic()
                counts = await _until_settled(reader, len(expected), timeout)
                draft_s = time.monotonic() - started
                joined = await _query(reader, "joined") - joined_before
                awaiting = await _query(reader, "ids", "awaiting_approval")
                started = time.monotonic()
                approved = await _approve_all(nodes, [i for i in awaiting if i not in warmed])
                final = await _until_posted(reader, len(approved), timeout)
                post_s = time.monotonic() - started
                await asyncio.sleep(2 * repbot.daemon.SLACK_PASS)  # Slack catches up
                keys = await _query(reader, "keys")
        posted_by = {node.name: len(node.posted()) for node in nodes}
        slack_twice = check_exactly_once(expected, keys, approved, platforms, nodes)
    skipped = counts.get("skipped", 0) - before.get("skipped", 0)
    return Throughput(
        label=label,
        daemons=daemons,
        burst=burst,
        drafted=counts.get("awaiting_approval", 0) - len(warmed),
        joined=joined,
        skipped=skipped - joined,
        approved=len(approved),
        posted=final.get("posted", 0),
        draft_s=draft_s,
        post_s=post_s,
        posted_by=posted_by,
        slack_messages=sum(platforms.slack_deliveries().values()),
        slack_twice=slack_twice,
    )


async def _approve_all(nodes: list[Node], ids: list[int], parallel: int = 8) -> list[int]:
    """Approve ``ids`` through the consoles of ``nodes`` in turn; the ids recorded."""
    gate = asyncio.Semaphore(parallel)
    async with contextlib.AsyncExitStack() as stack:
        consoles = [await stack.enter_async_context(Console(n.port)) for n in nodes]

        async def one(n: int, item_id: int) -> int | None:
            async with gate:
                ok = await consoles[n % len(consoles)].approve(item_id)
                return item_id if ok else None

        done = await asyncio.gather(*(one(n, i) for n, i in enumerate(ids)))
    refused = [i for i, d in zip(ids, done, strict=True) if d is None]
    if refused:
        raise AssertionError(f"console refused approvals: {refused[:10]}")
    return [d for d in done if d is not None]


def check_exactly_once(
    expected: set[tuple[str, str]],
    keys: dict[int, tuple[str, str]],
    approved: list[int],
    platforms: Platforms,
    nodes: list[Node],
) -> int:
    """Assert every mention stored once, every approved reply received once by its platform
    and logged as posted by exactly one daemon; return the drafts delivered to Slack more than
    once per episode (reported, not asserted: a known defect of Slack delivery on several
    daemons, see the section)."""
    stored = Counter(keys.values())
    missing = expected - set(stored)
    twice = [k for k, n in stored.items() if n > 1]
    assert not missing and not twice, f"stored: {len(missing)} missing, twice {twice[:5]}"
    replies = platforms.replies()
    want = Counter(keys[i] for i in approved)
    wrong = {
        k: (want.get(k, 0), replies.get(k, 0)) for k in want | replies if want[k] != replies[k]
    }
    assert not wrong, (
        f"replies received ≠ approvals (approved, received): {list(wrong.items())[:5]}"
    )
    logged = Counter(i for node in nodes for i in node.posted())
    assert set(logged) == set(approved) and max(logged.values(), default=1) == 1, (
        f"posted log lines: {len(logged)} items for {len(approved)} approvals, "
        f"max {max(logged.values(), default=0)} per item"
    )
    return sum(1 for n in platforms.slack_deliveries().values() if n > 1)


# ---- failover -----------------------------------------------------------------------------


@dataclass
class Failover:
    """Takeover times of the X source after its polling daemon was killed."""

    interval: float
    takeovers: list[float]
    lock_moved: list[float]
    after_stored: int
    after_expected: int


async def failover(
    root: Path, *, server: str, trials: int, interval: float = 2.0, after: int = 20
) -> Failover:
    """Kill -9 the holder of the X lock ``trials`` times (restarting it in between); then a
    burst of ``after`` mentions, each of which must be stored once."""
    takeovers: list[float] = []
    moved: list[float] = []
    with fresh_database(server) as dsn:
        async with Platforms() as platforms:
            reader = Reader(dsn=dsn)
            nodes = [
                Node(f"bench-node{i}", root / f"node{i}", platforms, dsn, interval)
                for i in range(2)
            ]
            with cluster(nodes):
                for node in nodes:
                    await node.ready()
                await _until_polled(reader)
                for trial in range(trials):
                    holder = await _holder(reader, "x", {n.name for n in nodes})
                    victim = next(n for n in nodes if n.name == holder)
                    killed_at = time.monotonic()
                    victim.kill()
                    reaped = time.monotonic()
                    took, lock = await _takeover(platforms.x, reader, holder, killed_at, reaped)
                    takeovers.append(took)
                    moved.append(lock)
                    if trial < trials - 1:
                        victim.start()
                        await victim.ready()
                expected = platforms.seed(after) if after else set()
                if after:
                    await _wait_keys(reader, expected, 120)
                keys = await _query(reader, "keys")
    stored = Counter(k for k in keys.values() if k in expected)
    assert all(n == 1 for n in stored.values()), "a mention was stored twice after failovers"
    return Failover(interval, takeovers, moved, len(stored), len(expected))


async def _holder(reader: Reader, source: str, names: set[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = await _query(reader, "lock_holder", source)
        if holder in names:
            return str(holder)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no daemon holds the {source} lock")


async def _takeover(
    x: TimedX, reader: Reader, victim: str, killed_at: float, reaped: float, timeout: float = 60
) -> tuple[float, float]:
    """Seconds from the kill until the next X poll (by the survivor) and until the lock moved."""
    deadline = time.monotonic() + timeout
    poll = lock = float("nan")
    while time.monotonic() < deadline and (poll != poll or lock != lock):
        if poll != poll:
            after = [t for t in x.polls if t > reaped]
            if after:
                poll = after[0] - killed_at
        if lock != lock:
            holder = await _query(reader, "lock_holder", "x")
            if holder is not None and holder != victim:
                lock = time.monotonic() - killed_at
        await asyncio.sleep(0.02)
    if poll != poll:
        raise AssertionError("no daemon polled X after the kill")
    return poll, lock


async def _wait_keys(reader: Reader, expected: set[tuple[str, str]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected <= set((await _query(reader, "keys")).values()):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("mentions published after the failovers were not all stored")


# ---- approve → posted across daemons ------------------------------------------------------


@dataclass
class CrossDaemon:
    """Approve (through daemon A) → reply received by the platform, and who posted."""

    published: int
    approved: int
    latencies: list[float]
    posted_by: dict[str, int]
    wakeups: bool
    slack_twice: int


async def cross_daemon(
    root: Path, *, server: str, seconds: float, rate: float = 2.0
) -> CrossDaemon:
    """Publish ``rate`` mentions/s for ``seconds``; approve each draft through daemon A as soon
    as it awaits approval; time each approval until its platform received the reply."""
    clicked: dict[int, float] = {}
    wakeups = cross_daemon_wakeups()  # the daemon code these subprocesses are about to load
    with fresh_database(server) as dsn:
        async with Platforms() as platforms:
            reader = Reader(dsn=dsn)
            nodes = [Node(f"bench-node{c}", root / f"node{c}", platforms, dsn) for c in "AB"]
            with cluster(nodes):
                for node in nodes:
                    await node.ready()
                await _until_polled(reader)
                async with Console(nodes[0].port) as console:
                    expected: set[tuple[str, str]] = set()
                    started = time.monotonic()
                    n = 0
                    while time.monotonic() - started < seconds:
                        expected |= platforms.seed(2) if n % 2 == 0 else set()
                        n += 1
                        await _approve_new(reader, console, clicked)
                        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline:
                        await _approve_new(reader, console, clicked)
                        counts = await _query(reader, "counts")
                        if sum(counts.values()) >= len(expected) and not any(
                            counts.get(s) for s in (*DONE_PIPELINE, "awaiting_approval", "approved")
                        ):
                            break
                        await asyncio.sleep(0.1)
                await asyncio.sleep(2 * repbot.daemon.SLACK_PASS)
                keys = await _query(reader, "keys")
        slack_twice = check_exactly_once(expected, keys, list(clicked), platforms, nodes)
        latencies = []
        for item_id, at in clicked.items():
            got = platforms.replied_at(*keys[item_id])
            if got is not None:
                latencies.append(got - at)
        posted_by = {node.name.removeprefix("bench-node"): len(node.posted()) for node in nodes}
    return CrossDaemon(len(expected), len(clicked), latencies, posted_by, wakeups, slack_twice)


async def _approve_new(reader: Reader, console: Console, clicked: dict[int, float]) -> None:
    for item_id in await _query(reader, "ids", "awaiting_approval"):
        if item_id not in clicked:
            clicked[item_id] = time.monotonic()
            if not await console.approve(item_id):
                raise AssertionError(f"console refused approving {item_id}")


# ---- the section --------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(quick: bool = False) -> str:
    """Every scenario; returns the RESULTS.md section."""
    server = os.environ.get(ENV)
    if not server:
        raise SystemExit(
            f'{ENV} is not set: start PostgreSQL with `eval "$(bash .ci/postgres.sh)"`'
        )
    burst, trials, seconds = (200, 3, 20.0) if quick else (400, 5, 40.0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # The baseline runs first and again last: how far it moves shows the machine's drift.
        configs = [(1, None), (1, server), (2, server), (4, server), (1, None)]
        results = [
            asyncio.run(throughput(root / f"t{n}", daemons=k, burst=burst, server=s))
            for n, (k, s) in enumerate(configs)
        ]
        fail = asyncio.run(failover(root / "failover", server=server, trials=trials))
        cross = asyncio.run(cross_daemon(root / "cross", server=server, seconds=seconds))
    return section(results, fail, cross, quick)


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def _slack_note(results: list[Throughput], cross: CrossDaemon) -> str:
    twice = {r.label: r.slack_twice for r in results if r.slack_twice}
    if cross.slack_twice:
        twice["approve → posted, 2× PostgreSQL"] = cross.slack_twice
    if not twice:
        return "no draft reached Slack twice."
    where = ", ".join(f"{n} in {label}" for label, n in twice.items())
    return (
        f"**exactly-once MISSED for Slack**: drafts delivered twice ({where}). On PostgreSQL "
        "two daemons can pick the same undelivered draft (`slack_undelivered` claims nothing), "
        "and a daemon's `_resolve_intents` treats another live daemon's in-flight intent as a "
        'crash leftover and forgets it (its `slack_sent` then fails: "no Slack message or '
        'intent"), so the draft is delivered again.'
    )


def section(results: list[Throughput], fail: Failover, cross: CrossDaemon, quick: bool) -> str:
    """The markdown section for RESULTS.md."""
    base = results[0]
    lines = [
        "### Scale-out: several daemons on one PostgreSQL database (issue 17)",
        "",
        f"Real `repbot run` subprocesses (own config, own port) polling the X and Reddit "
        f"simulators over loopback (1 s interval), drafts to the fake Slack, the embedded "
        f"classifier and the template responder (the defaults; there is no cheaper classifier "
        f"to configure), `approval.undo_seconds: 0`. Each PostgreSQL configuration gets a fresh "
        f"database. **This machine has {os.cpu_count()} cores** shared by every daemon, the "
        f"load generator and PostgreSQL: more daemons cannot add CPU here, so the ratios show "
        f"the coordination cost (claims with `FOR UPDATE SKIP LOCKED`, advisory locks, one "
        f"model per process) and prove correctness, not scale-out speed-up.",
        "",
        f"**Throughput, burst of {base.burst} mentions** (half X, half Reddit). Drafting: "
        "burst → every mention drafted (awaiting approval), joined to the open item of its "
        "conversation (Reddit comments on one submission) or skipped as needing no reply. "
        "Posting: every draft approved through the web console (round-robin over the daemons' "
        "consoles, 8 requests in flight) → every reply received by its platform.",
        "",
        "| configuration | drafted / joined / skipped | drafting, s | mentions/s | vs 1× SQLite "
        "| approved → posted, s | replies/s | vs 1× SQLite | posts per daemon "
        "| Slack messages (delivered twice) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(results):
        if n == len(results) - 1 and n > 0:
            r = replace(r, label=f"{r.label} again (drift check)")
        lines.append(
            f"| {r.label} | {r.drafted} / {r.joined} / {r.skipped} | {r.draft_s:.1f} | "
            f"{r.draft_rate:.1f} | {r.draft_rate / base.draft_rate:.2f}× | {r.post_s:.1f} | "
            f"{_fmt(r.post_rate, 1)} | {r.post_rate / base.post_rate:.2f}× | "
            f"{' / '.join(str(v) for v in r.posted_by.values())} | "
            f"{r.slack_messages} ({r.slack_twice}) |"
        )
    lines += [
        "",
        "The configurations run one after another on a shared machine; the baseline is "
        "measured again at the end, and the gap between its two rows is the drift of the "
        "machine during the run: ratios smaller than that gap say nothing.",
        "",
        "Exactly once, asserted in every configuration: each mention stored once, each approved "
        "reply received once by its platform and logged as posted by one daemon. Slack "
        "deliveries are counted per (item, episode) from the messages' metadata (the column "
        "includes the drafts of the untimed warm-up, 10 mentions per daemon before the burst): "
        + _slack_note(results, cross),
        "",
        f"**Failover** (2 daemons, poll interval {fail.interval:g} s): SIGKILL the daemon "
        "holding the X source's advisory lock (found in `pg_locks`), time until the other "
        "daemon polls X; the killed one is restarted before the next trial.",
        "",
        "| trial | kill → next X poll, s | kill → lock held by the survivor, s |",
        "|---|---|---|",
    ]
    for n, (took, lock) in enumerate(zip(fail.takeovers, fail.lock_moved, strict=True), 1):
        lines.append(f"| {n} | {took:.2f} | {_fmt(lock)} |")
    lines += [
        "",
        f"Takeover max {max(fail.takeovers):.2f} s against the target of one poll interval "
        f"({fail.interval:g} s): {'met' if max(fail.takeovers) <= fail.interval else 'missed'}. "
        f"After the failovers {fail.after_stored} of {fail.after_expected} newly published "
        "mentions were stored, each once. The survivor tries the lock before each of its own "
        "polls, so takeover is bounded by one interval plus the scheduling lag of the machine "
        "(see the load average below); a shorter interval gives a shorter takeover.",
        "",
        f"**Approve → posted across daemons** (2 daemons A and B; {cross.published} mentions "
        f"trickled in; each draft approved through A's console as soon as it awaited approval, "
        f"{cross.approved} approvals): click → reply received by the platform p50 "
        f"{_fmt(pct(cross.latencies, 0.5))} s, p95 {_fmt(pct(cross.latencies, 0.95))} s, max "
        f"{_fmt(max(cross.latencies, default=float('nan')))} s; posted by A "
        f"{cross.posted_by.get('A', 0)}, by B {cross.posted_by.get('B', 0)}. Cross-daemon "
        "wake-ups (LISTEN/NOTIFY in the daemon): "
        + (
            "present (each daemon's `WorkListener` holds `LISTEN repbot_work`; the NOTIFY "
            "sent with the approval also wakes B, and whichever daemon claims the item first "
            "posts it)."
            if cross.wakeups
            else "**not present** when measured (the daemon deciding wakes its own poster; "
            "the other daemon only finds approved items on its 1 s fall-back tick)."
        ),
        "",
        "Command: `python -m bench scaleout` (`--quick`: burst 200, 3 failover trials, "
        f"20 s trickle){'; this run in quick mode' if quick else ''}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
