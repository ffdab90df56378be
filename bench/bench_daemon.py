"""The real daemon (`repbot run`) under load, against the X and Reddit simulators and the fake
Slack over loopback.

Three scenarios, each on a fresh store, with the embedded classifier and template responder the
daemon uses by default:

- **latency**: 5 mentions/s on X; every draft that reaches Slack is approved 0.5 s after it
  arrives (a signed click on ``/slack/events``). Mention→Slack is measured from the poll that
  fetched the mention; Approve→posted until the simulator receives the reply.
- **sustained**: 50 mentions/s mixed across X and Reddit; the backlog (``new`` + ``classified``),
  the daemon's RSS and ``/healthz`` latency (a proxy for event-loop lag) are sampled; at the end
  SIGTERM under load, timed to process exit.
- **backlog**: 20,000 mentions waiting before the daemon starts; when do the 100 most urgent
  (by their final urgency) reach Slack, and when is everything classified and drafted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from repbot.approval.blocks import ACTION_APPROVE
from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.connectors.x.simulator import XSimulator
from repbot.testing.approval import signed_body
from repbot.testing.server import RecordedRequest, Reply
from repbot.testing.slack import FakeSlack, block_actions_payload

SECRET = "bench-daemon-signing-secret"
APPROVER = "UBENCH01"
CHANNEL = "CBENCH01"
RSS_TARGET_MB = 600


class TimedX(XSimulator):
    """The X simulator, remembering when each mentions page was served and each reply made."""

    def __init__(self) -> None:
        super().__init__(reject_duplicates=False, rate_limits={"mentions": 10**6})
        self.polls: list[float] = []
        self.replied: dict[str, float] = {}

    async def _mentions(self, request: web.Request, rec: RecordedRequest) -> Reply:
        self.polls.append(time.monotonic())
        return await super()._mentions(request, rec)

    async def _create(self, request: web.Request, rec: RecordedRequest) -> Reply:
        reply = await super()._create(request, rec)
        parent = ((rec.json() or {}).get("reply") or {}).get("in_reply_to_tweet_id")
        if parent is not None:
            self.replied.setdefault(str(parent), time.monotonic())
        return reply


@dataclass
class TimedSlack(FakeSlack):
    """The fake Slack, remembering when each draft message arrived (mention id → time)."""

    delivered: dict[int, tuple[float, str, str]] = field(default_factory=dict)

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._m_chat_postMessage(args)
        item_id = _approve_value(args.get("blocks") or [])
        if item_id is not None:
            self.delivered.setdefault(item_id, (time.monotonic(), answer["channel"], answer["ts"]))
        return answer


def _approve_value(blocks: list[dict[str, Any]]) -> int | None:
    for block in blocks:
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and element.get("action_id") == ACTION_APPROVE:
                return int(str(element["value"]).split(":")[0])
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Daemon:
    """A `repbot run` subprocess on a config of its own."""

    root: Path
    x: TimedX
    reddit: RedditSimulator
    slack: TimedSlack
    interval: float = 1.0
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    def config(self) -> dict[str, Any]:
        x_source = {
            "name": "x",
            "type": "x",
            "interval": self.interval,
            "api_base_url": self.x.url,
            "brand_username": "acme",
            "max_pages_per_poll": 50,
            "tier": "enterprise",
            "overlap": 2,
            **self.x.credentials(),
        }
        reddit_source = {
            "name": "reddit",
            "type": "reddit",
            "interval": self.interval,
            "subreddits": ["acme"],
            "max_pages_per_poll": 50,
            **self.reddit.credentials(),
        }
        return {
            "brand": {"name": "Acme"},
            "store": {"path": str(self.root / "repbot.db")},
            "sources": [x_source, reddit_source],
            "server": {"host": "127.0.0.1", "port": self.port},
            "approval": {
                "undo_seconds": 0,  # the click→posted figure measures the machinery, not the wait
                "slack": {
                    "mode": "http",
                    "bot_token": "xoxb-bench-daemon",
                    "signing_secret": SECRET,
                    "channel": CHANNEL,
                    "approvers": [APPROVER],
                    "api_base_url": self.slack.base_url,
                },
                "web": {"enabled": False},
            },
            "responder": {"min_urgency": {"other": 0.0}},
            "logging": {"file": str(self.root / "daemon.log")},
        }

    def start(self) -> None:
        path = self.root / "repbot.yaml"
        path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        exe = Path(sys.executable).with_name("repbot")
        self.proc = subprocess.Popen(
            [str(exe), "run", "-c", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "stderr.log").open("wb"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    async def ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"daemon exited: {self._stderr()}")
                await asyncio.sleep(0.2)
        raise TimeoutError("daemon did not come up")

    def _stderr(self) -> str:
        return (self.root / "stderr.log").read_text(errors="replace")[-2000:]

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> float:
        """SIGTERM; seconds until the process exited."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started

    def rows(self) -> list[tuple[int, str, str, float | None, str]]:
        """(id, platform, external_id, urgency, state) of every stored mention."""
        conn = sqlite3.connect(f"file:{self.root / 'repbot.db'}?mode=ro", uri=True, timeout=10)
        try:
            return list(
                conn.execute("SELECT id, platform, external_id, urgency, state FROM mentions")
            )
        finally:
            conn.close()

    def counts(self) -> dict[str, int]:
        conn = sqlite3.connect(f"file:{self.root / 'repbot.db'}?mode=ro", uri=True, timeout=10)
        try:
            return dict(conn.execute("SELECT state, COUNT(*) FROM mentions GROUP BY state"))
        finally:
            conn.close()


class Approver:
    """Clicks Approve on every draft message, ``delay`` seconds after it reached Slack."""

    def __init__(self, daemon: Daemon, delay: float = 0.5) -> None:
        self.daemon = daemon
        self.delay = delay
        self.clicked: dict[int, float] = {}
        self.refused = 0

    async def run(self, stop: asyncio.Event) -> None:
        url = f"http://127.0.0.1:{self.daemon.port}/slack/events"
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                now = time.monotonic()
                due = [
                    (item_id, channel, ts)
                    for item_id, (at, channel, ts) in list(self.daemon.slack.delivered.items())
                    if item_id not in self.clicked and now - at >= self.delay
                ]
                for item_id, channel, ts in due:
                    await self._click(http, url, item_id, channel, ts)
                await asyncio.sleep(0.02)

    async def _click(
        self, http: aiohttp.ClientSession, url: str, item_id: int, channel: str, ts: str
    ) -> None:
        payload = block_actions_payload(
            user=APPROVER,
            action_id=ACTION_APPROVE,
            value=str(item_id),
            channel=channel,
            message_ts=ts,
        )
        body, headers = signed_body(payload, SECRET)
        self.clicked[item_id] = time.monotonic()
        async with http.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                self.refused += 1


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fetched_at(polls: list[float], published: float) -> float:
    """The start of the first mentions poll after ``published``."""
    return next((p for p in polls if p >= published), published)


async def _latency(root: Path, seconds: float, rate: float) -> dict[str, Any]:
    async with TimedX() as x, RedditSimulator() as reddit, TimedSlack() as slack:
        daemon = Daemon(root, x, reddit, slack)
        daemon.start()
        try:
            await daemon.ready()
            approver = Approver(daemon)
            stop = asyncio.Event()
            clicking = asyncio.create_task(approver.run(stop))
            published: dict[str, float] = {}
            started = time.monotonic()
            n = 0
            while time.monotonic() - started < seconds:
                tweet = x.seed_mentions(1, spread_seconds=0)[0]
                published[str(tweet.id)] = time.monotonic()
                n += 1
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ids = {ext: i for i, plat, ext, _, _ in daemon.rows() if plat == "x"}
                drafted = [ids[e] for e in published if e in ids and ids[e] in slack.delivered]
                states = daemon.counts()
                pending = sum(states.get(s, 0) for s in ("new", "classified", "approved"))
                if (
                    drafted
                    and pending == 0
                    and all(e in x.replied for e in published if ids.get(e) in approver.clicked)
                ):
                    break
                await asyncio.sleep(0.5)
            stop.set()
            await clicking
        finally:
            daemon.stop()
        ids = {ext: i for i, plat, ext, _, _ in daemon.rows() if plat == "x"}
        to_slack = [
            slack.delivered[ids[e]][0] - _fetched_at(x.polls, at)
            for e, at in published.items()
            if ids.get(e) in slack.delivered
        ]
        from_publish = [
            slack.delivered[ids[e]][0] - at
            for e, at in published.items()
            if ids.get(e) in slack.delivered
        ]
        to_post = [
            x.replied[e] - approver.clicked[ids[e]]
            for e in published
            if ids.get(e) in approver.clicked and e in x.replied
        ]
        return {
            "published": len(published),
            "delivered": len(to_slack),
            "approved": len(approver.clicked),
            "posted": len(to_post),
            "refused": approver.refused,
            "slack_p50": _pct(to_slack, 0.5),
            "slack_p95": _pct(to_slack, 0.95),
            "publish_p95": _pct(from_publish, 0.95),
            "post_p50": _pct(to_post, 0.5),
            "post_p95": _pct(to_post, 0.95),
        }


async def _probe_lag(port: int, stop: asyncio.Event, out: list[float]) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.monotonic()
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=30)
                ) as resp:
                    await resp.read()
                    out.append(time.monotonic() - started)
            await asyncio.sleep(0.5)


async def _sustained(root: Path, seconds: float, rate: float) -> dict[str, Any]:
    async with TimedX() as x, RedditSimulator() as reddit, TimedSlack() as slack:
        daemon = Daemon(root, x, reddit, slack)
        daemon.start()
        samples: list[tuple[float, float, int, int]] = []
        lags: list[float] = []
        try:
            await daemon.ready()
            stop = asyncio.Event()
            probing = asyncio.create_task(_probe_lag(daemon.port, stop, lags))
            started = time.monotonic()
            second = 0
            next_sample = started
            while time.monotonic() - started < seconds:
                x.seed_mentions(int(rate // 2), spread_seconds=1)
                reddit.seed_mentions(int(rate - rate // 2), spread_seconds=1)
                second += 1
                if time.monotonic() >= next_sample:
                    states = daemon.counts()
                    backlog = states.get("new", 0) + states.get("classified", 0)
                    stored = sum(states.values())
                    samples.append((time.monotonic() - started, daemon.rss_mb(), backlog, stored))
                    next_sample += 5
                await asyncio.sleep(max(0.0, started + second - time.monotonic()))
            stop.set()
            await probing
            states = daemon.counts()
        finally:
            shutdown = daemon.stop()
        elapsed = samples[-1][0] - samples[0][0] if len(samples) > 1 else 1.0
        half = len(samples) // 2
        growth = (samples[-1][2] - samples[half][2]) / max(1e-9, samples[-1][0] - samples[half][0])
        processed = stored - samples[-1][2]
        return {
            "rate": rate,
            "seconds": seconds,
            "samples": samples,
            "stored": stored,
            "states": states,
            "backlog_end": samples[-1][2],
            "growth_per_s": growth if half else float("nan"),
            "processed_per_s": processed / max(1.0, elapsed + 5),
            "rss_max": max(s[1] for s in samples),
            "rss_first": samples[0][1],
            "rss_last": samples[-1][1],
            "lag_p50": _pct(lags, 0.5),
            "lag_p99": _pct(lags, 0.99),
            "lag_max": max(lags) if lags else float("nan"),
            "shutdown_s": shutdown,
        }


async def _backlog(root: Path, count: int) -> dict[str, Any]:
    async with TimedX() as x, RedditSimulator() as reddit, TimedSlack() as slack:
        x.seed_mentions(count, spread_seconds=3600)
        daemon = Daemon(root, x, reddit, slack)
        daemon.start()
        classified_at = drafted_at = float("nan")
        try:
            await daemon.ready()
            deadline = time.monotonic() + max(600.0, count / 20)
            while time.monotonic() < deadline:
                states = daemon.counts()
                stored = sum(states.values())
                if stored >= count and not states.get("new") and classified_at != classified_at:
                    classified_at = time.monotonic()
                if stored >= count and not states.get("new") and not states.get("classified"):
                    drafted_at = time.monotonic()
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)
        finally:
            daemon.stop()
        t0 = x.polls[0] if x.polls else float("nan")
        rows = [r for r in daemon.rows() if r[3] is not None]
        ranked = sorted(rows, key=lambda r: -(r[3] or 0.0))
        top = [r[0] for r in ranked[:100]]
        top_times = [slack.delivered[i][0] - t0 for i in top if i in slack.delivered]
        rank = {r[0]: n + 1 for n, r in enumerate(ranked)}
        first = sorted(slack.delivered.items(), key=lambda kv: kv[1][0])[:100]
        return {
            "count": count,
            "awaiting": len(slack.delivered),
            "top_delivered": len(top_times),
            "top_max": max(top_times) if top_times else float("nan"),
            "top_p50": _pct(top_times, 0.5),
            "first_rank_median": statistics.median(rank.get(i, 0) for i, _ in first)
            if first
            else float("nan"),
            "ranked": len(ranked),
            "classified_s": classified_at - t0,
            "drafted_s": drafted_at - t0,
            "classify_rate": count / (classified_at - t0) if classified_at > t0 else float("nan"),
        }


def _plot(samples: list[tuple[float, float, int, int]], width: int = 60, height: int = 10) -> str:
    """An ASCII plot of RSS (MB) over time."""
    if not samples:
        return ""
    values = [s[1] for s in samples]
    low, high = min(min(values), 0.0), max(max(values), RSS_TARGET_MB) * 1.05
    step = max(1, len(values) // width)
    columns = values[::step][:width]
    rows = []
    for level in range(height, 0, -1):
        threshold = low + (high - low) * level / height
        target = low + (high - low) * (level - 1) / height < RSS_TARGET_MB <= threshold
        line = "".join("█" if v >= threshold else ("-" if target else " ") for v in columns)
        rows.append(f"{threshold:7.0f} MB |{line}")
    rows.append(f"{'':10} +{'-' * len(columns)}")
    rows.append(f"{'':11}0 s{'':{max(0, len(columns) - 10)}}{samples[-1][0]:.0f} s")
    return "\n".join(rows)


def _fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def run(quick: bool = False) -> str:
    """All three scenarios; returns the RESULTS.md section."""
    latency_s, sustained_s, backlog_n = (20, 40, 2_000) if quick else (60, 600, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("latency", "sustained", "backlog"):
            (root / name).mkdir()
        lat = asyncio.run(_latency(root / "latency", latency_s, 5.0))
        sus = asyncio.run(_sustained(root / "sustained", sustained_s, 50.0))
        back = asyncio.run(_backlog(root / "backlog", backlog_n))
    load = os.getloadavg()
    return _section(lat, sus, back, quick, load)


def _section(
    lat: dict[str, Any],
    sus: dict[str, Any],
    back: dict[str, Any],
    quick: bool,
    load: tuple[float, float, float],
) -> str:
    lines = [
        "### The daemon under load (`repbot run` against the simulators and the fake Slack)",
        "",
        "The real daemon as a subprocess, with the embedded classifier and the template "
        "responder, polling the X and Reddit simulators every second over loopback and "
        "delivering drafts to the fake Slack in HTTP mode; approvals are signed clicks on "
        "`/slack/events`. The load generator shares the machine's cores with the daemon.",
        "",
        f"**Latency at 5 mentions/s** (X, {lat['published']} mentions; each draft approved "
        "0.5 s after it reached Slack):",
        "",
        "| figure | p50 | p95 | target |",
        "|---|---|---|---|",
        f"| poll that fetched it → draft in Slack, s | {_fmt(lat['slack_p50'])} | "
        f"{_fmt(lat['slack_p95'])} | p95 ≤ 2 s |",
        f"| published → draft in Slack (includes the 1 s poll interval), s | — | "
        f"{_fmt(lat['publish_p95'])} | — |",
        f"| Approve click → reply received by the platform, s | {_fmt(lat['post_p50'])} | "
        f"{_fmt(lat['post_p95'])} | p95 ≤ 1 s |",
        "",
        f"Drafts delivered {lat['delivered']}, approved {lat['approved']}, posted "
        f"{lat['posted']}, clicks refused {lat['refused']} (the rest were skipped as needing "
        "no reply).",
        "",
        f"**Sustained {sus['rate']:.0f} mentions/s** (X and Reddit, half each, "
        f"{sus['seconds']:.0f} s; {sus['stored']} stored):",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| processed (classified or beyond), mentions/s | {_fmt(sus['processed_per_s'], 1)} | "
        f"≥ {sus['rate']:.0f} |",
        f"| backlog (new + classified) at the end | {sus['backlog_end']} | flat |",
        f"| backlog growth over the second half, mentions/s | {_fmt(sus['growth_per_s'], 1)} "
        "| ≤ 0 |",
        f"| daemon RSS first / last / max, MB | {sus['rss_first']:.0f} / {sus['rss_last']:.0f} "
        f"/ {sus['rss_max']:.0f} | flat, ≤ {RSS_TARGET_MB} |",
        f"| `/healthz` answer time p50 / p99 / max, ms (event-loop lag proxy) | "
        f"{sus['lag_p50'] * 1000:.0f} / {sus['lag_p99'] * 1000:.0f} / "
        f"{sus['lag_max'] * 1000:.0f} | ≤ 50 |",
        f"| SIGTERM under this load → process exit, s | {sus['shutdown_s']:.2f} | ≤ 10 |",
        "",
        "RSS over the run (sampled every 5 s; `-` marks the target):",
        "",
        "```",
        _plot(sus["samples"]),
        "```",
        "",
        f"**Backlog of {back['count']:,} at once** (stored before the daemon starts; times "
        "from its first poll):",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| the 100 most urgent (final urgency) in Slack: all by, s | {_fmt(back['top_max'], 1)}"
        f" ({back['top_delivered']}/100 delivered) | ≤ 90 |",
        f"| the 100 most urgent in Slack: median, s | {_fmt(back['top_p50'], 1)} | — |",
        f"| median urgency rank of the first 100 drafts delivered | "
        f"{_fmt(back['first_rank_median'], 0)} of {back['ranked']} | near 50 |",
        f"| all classified by, s ({_fmt(back['classify_rate'], 0)} mentions/s) | "
        f"{_fmt(back['classified_s'], 1)} | classifier throughput |",
        f"| all drafted by, s | {_fmt(back['drafted_s'], 1)} | — |",
        "",
        f"Load average at the end (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
        f"{'; quick mode (shorter runs)' if quick else ''}.",
        "",
        "Command: `python -m bench daemon` (`--quick` for a short smoke run).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
