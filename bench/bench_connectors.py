"""Connector throughput: a burst of mentions ingested from the simulators through the daemon's path.

For each platform a burst (1,000 mentions, several pages) lands between two polls; the daemon's
:class:`~repbot.runner.SourceRunner` drains it into a SQLite :class:`~repbot.store.SqliteStore`
(fetch while ``has_more``, each page stored with its cursor in one transaction, duplicates
dropped on ``(platform, external_id)``), through tweepy and praw over loopback. Reported: mentions
per second, requests per 1,000 mentions, whether any mention was missed, and what the next
steady polls cost (requests per poll, items re-read by the overlap). The baseline is the same
pages walked with a bare HTTP client in the same run (no library, no mapping, no store), so the
ratio shows what tweepy/praw, the connector and the store cost on top of the transport.

Run: ``python -m bench`` (all benchmarks) or ``python bench/bench_connectors.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import requests

from repbot.connector import Connector
from repbot.connectors.reddit import RedditConnector
from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.connectors.x import XConnector
from repbot.connectors.x.simulator import XSimulator
from repbot.runner import SourceRunner
from repbot.store import SqliteStore
from repbot.testing.server import SimulatorServer

STEADY_POLLS = 3


@dataclass
class Result:
    """One platform's figures."""

    platform: str
    expected: int
    stored: int
    missed: int
    redelivered: int
    requests: int
    polls: int
    seconds: float
    steady_requests: float
    steady_rereads: float
    baseline_seconds: float

    def row(self) -> str:
        per_1000 = self.requests * 1000 / max(self.expected, 1)
        rate = self.stored / self.seconds if self.seconds else 0.0
        base = self.expected / self.baseline_seconds if self.baseline_seconds else 0.0
        ratio = self.seconds / self.baseline_seconds if self.baseline_seconds else 0.0
        return (
            f"| {self.platform} | {self.expected} | {self.stored} | {self.missed} | "
            f"{self.redelivered} | {self.requests} | {per_1000:.1f} | {self.polls} | "
            f"{rate:,.0f} | {base:,.0f} | {ratio:.1f}x | {self.steady_requests:.1f} | "
            f"{self.steady_rereads:.0f} |"
        )


@dataclass
class _Drained:
    polls: int = 0
    redelivered: int = 0
    seconds: float = 0.0
    requests: int = 0


async def _drain(
    runner: SourceRunner, sim: SimulatorServer, expected: set[str], max_polls: int = 20
) -> _Drained:
    """Poll through the runner until every expected id is stored (or ``max_polls``)."""
    sim.reset_requests()
    out = _Drained()
    started = time.perf_counter()
    while out.polls < max_polls:
        result = await runner.poll()
        if result.error:
            raise RuntimeError(f"{runner.name}: {result.error}")
        out.polls += 1
        out.redelivered += result.duplicates
        if expected <= _stored(runner):
            break
    out.seconds = time.perf_counter() - started
    out.requests = len(sim.requests)
    return out


async def _steady(runner: SourceRunner, sim: SimulatorServer) -> tuple[float, float]:
    """Requests and re-read items per poll over the next polls (nothing new published)."""
    sim.reset_requests()
    reread = 0
    for _ in range(STEADY_POLLS):
        result = await runner.poll()
        reread += result.duplicates + result.new
    return len(sim.requests) / STEADY_POLLS, reread / STEADY_POLLS


def _stored(runner: SourceRunner) -> set[str]:
    store = runner.store
    assert isinstance(store, SqliteStore)
    rows = store.conn.execute("SELECT external_id FROM mentions WHERE source = ?", (runner.name,))
    return {row[0] for row in rows}


async def _measure(
    label: str,
    connector: Connector,
    sim: SimulatorServer,
    seed: Callable[[], set[str]],
    workdir: Path,
) -> Result:
    """First poll, then publish the burst (``seed`` returns its ids) and drain it."""
    store = SqliteStore(workdir / f"{connector.name}.db")
    runner = SourceRunner(store, connector)
    try:
        first = await runner.poll()
        if first.error:
            raise RuntimeError(f"{connector.name}: {first.error}")
        expected = seed()
        drained = await _drain(runner, sim, expected)
        stored = _stored(runner)
        steady_requests, steady_rereads = await _steady(runner, sim)
    finally:
        await connector.aclose()
        store.close()
    return Result(
        label,
        len(expected),
        len(expected & stored),
        len(expected - stored),
        drained.redelivered,
        drained.requests,
        drained.polls,
        drained.seconds,
        steady_requests,
        steady_rereads,
        0.0,
    )


async def bench_x(count: int, workdir: Path) -> Result:
    """Burst of ``count`` mentions on the simulated X mentions timeline."""
    async with XSimulator() as sim:
        options = {
            "api_base_url": sim.url,
            **sim.credentials(),
            "brand_username": "acme",
            "tier": "enterprise",
        }
        connector = XConnector("bench-x", XConnector.Config.model_validate(options))

        def seed() -> set[str]:
            return {str(t.id) for t in sim.seed_mentions(count, spread_seconds=2)}

        result = await _measure("X (tweepy AsyncClient)", connector, sim, seed, workdir)
        result.baseline_seconds = await _x_baseline(sim)
    return result


async def _x_baseline(sim: XSimulator) -> float:
    headers = {"Authorization": f"Bearer {sim.bearer_token}", "Accept-Encoding": "gzip"}
    url = f"{sim.url}/2/users/{sim.brand.id}/mentions"
    params = {"max_results": "100", "expansions": "author_id", "tweet.fields": "created_at"}
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        token: str | None = None
        while True:
            query = {**params, **({"pagination_token": token} if token else {})}
            async with session.get(url, params=query, headers=headers) as response:
                body = await response.json()
            token = body.get("meta", {}).get("next_token")
            if not token:
                break
    return time.perf_counter() - started


async def bench_reddit(count: int, workdir: Path) -> Result:
    """Burst of ``count`` submissions and comments in a watched subreddit (plus inbox pings)."""
    async with RedditSimulator(rate_limit=100_000) as sim:
        options = {**sim.credentials(), "subreddits": ["acme"], "inbox_mentions": True}
        connector = RedditConnector("bench-reddit", RedditConnector.Config.model_validate(options))

        def seed() -> set[str]:
            return {t.fullname for t in sim.seed_mentions(count, spread_seconds=2)}

        result = await _measure("Reddit (praw)", connector, sim, seed, workdir)
        result.baseline_seconds = await asyncio.to_thread(_reddit_baseline, sim)
    return result


def _reddit_baseline(sim: RedditSimulator) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        form = {
            "grant_type": "password",
            "username": sim.account.name,
            "password": sim.account.password,
        }
        auth = (sim.client_id, sim.client_secret)
        token = session.post(f"{sim.url}/api/v1/access_token", data=form, auth=auth).json()
        headers = {"Authorization": f"bearer {token['access_token']}"}
        for path in ("/r/acme/new", "/r/acme/comments", "/message/mentions"):
            after: str | None = None
            while True:
                params = {"limit": "100", **({"after": after} if after else {})}
                body = session.get(f"{sim.url}{path}", params=params, headers=headers).json()
                after = body["data"]["after"]
                if not after:
                    break
    return time.perf_counter() - started


def run(quick: bool = False) -> str:
    """Run the benchmark and return its Markdown section."""
    count = 300 if quick else 1000
    with tempfile.TemporaryDirectory(prefix="bench-connectors-") as tmp:
        workdir = Path(tmp)
        results = [asyncio.run(bench_x(count, workdir)), asyncio.run(bench_reddit(count, workdir))]
    lines = [
        "### Connectors: burst ingestion through tweepy and praw, the runner and the store",
        "",
        f"A burst of {count} mentions lands between two polls; the daemon's `SourceRunner` "
        "drains it into a SQLite store (fetch while `has_more`, each page stored with its "
        "cursor in one transaction), with each connector's default options (X: `tier: "
        "enterprise`). Requests are counted at the simulator (X brand look-up, Reddit token, "
        "karma and subscriber look-ups included). Re-delivered: items a poll returned that "
        "were already stored (Reddit comment stream and inbox, or the overlap); the store "
        "drops them on `(platform, external_id)`. Steady: the next "
        f"{STEADY_POLLS} polls with nothing new published (requests and items re-read per "
        "poll; the overlap re-reads at most one page per stream). Baseline: the same listing "
        "pages walked with a bare HTTP client (aiohttp / requests), no library, mapping or "
        "store.",
        "",
        "| platform | burst | stored once | missed | re-delivered (dropped by the store) "
        "| requests | requests per 1,000 | polls | mentions/s | baseline mentions/s "
        "| time vs baseline | steady requests/poll | steady items re-read/poll |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[r.row() for r in results],
        "",
        "Command: `python -m bench` (or `python bench/bench_connectors.py"
        f"{' --quick' if quick else ''}`).",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; client and simulator share one machine over loopback, so the "
        "figures measure client-side cost, not platform latency.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
