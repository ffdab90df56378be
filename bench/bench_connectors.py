"""Connector throughput: a burst of mentions ingested through tweepy and praw from the simulators.

For each platform a burst (1,000 mentions, several pages) lands between two polls; the runner's
loop (fetch while ``has_more``, dedupe on ``external_id``) drains it. Reported: mentions per
second, requests per 1,000 mentions, and whether any mention was missed or delivered twice. The
baseline is the same pages walked with a bare HTTP client in the same run (no library, no
mapping), so the ratio shows what tweepy/praw plus the connector cost on top of the transport.

Run: ``python -m bench`` (all benchmarks) or ``python bench/bench_connectors.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import requests

from repbot.connectors.reddit import RedditConnector
from repbot.connectors.x import XConnector
from repbot.testing.simulators import RedditSimulator, XSimulator, poll


@dataclass
class Result:
    """One platform's figures."""

    platform: str
    expected: int
    unique: int
    missed: int
    duplicates: int
    requests: int
    seconds: float
    baseline_seconds: float

    def row(self) -> str:
        per_1000 = self.requests * 1000 / max(self.expected, 1)
        rate = self.unique / self.seconds if self.seconds else 0.0
        base = self.expected / self.baseline_seconds if self.baseline_seconds else 0.0
        ratio = self.seconds / self.baseline_seconds if self.baseline_seconds else 0.0
        return (
            f"| {self.platform} | {self.expected} | {self.unique} | {self.missed} | "
            f"{self.duplicates} | {self.requests} | {per_1000:.1f} | {rate:,.0f} | "
            f"{base:,.0f} | {ratio:.1f}x |"
        )


async def bench_x(count: int) -> Result:
    """Burst of ``count`` mentions on the simulated X mentions timeline."""
    async with XSimulator() as sim:
        options = {
            "api_base_url": sim.url,
            **sim.credentials(),
            "brand_username": "acme",
            "tier": "enterprise",
            "initial_lookback": 0,
            "max_pages_per_poll": 50,
            "backfill_interval": None,
        }
        connector = XConnector("bench-x", XConnector.Config.model_validate(options))
        try:
            state = await poll(connector)
            until = datetime.now(UTC) + timedelta(seconds=2)
            made = sim.seed_mentions(count, spread_seconds=1, until=until)
            sim.reset_requests()
            started = time.perf_counter()
            state = await poll(connector, state)
            seconds = time.perf_counter() - started
            requests_used = len(sim.requests)
        finally:
            await connector.aclose()
        baseline = await _x_baseline(sim)
    expected = {str(t.id) for t in made}
    return Result(
        "X (tweepy AsyncClient)",
        len(expected),
        len(expected & state.seen),
        len(expected - state.seen),
        state.duplicates,
        requests_used,
        seconds,
        baseline,
    )


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


async def bench_reddit(count: int) -> Result:
    """Burst of ``count`` submissions and comments in a watched subreddit (plus inbox pings)."""
    async with RedditSimulator(rate_limit=100_000) as sim:
        options = {
            **sim.credentials(),
            "subreddits": ["acme"],
            "inbox_mentions": True,
            "max_pages_per_poll": 50,
        }
        connector = RedditConnector("bench-reddit", RedditConnector.Config.model_validate(options))
        try:
            state = await poll(connector)
            made = sim.seed_mentions(count, spread_seconds=30, until=time.time() + 31)
            sim.reset_requests()
            started = time.perf_counter()
            state = await poll(connector, state)
            seconds = time.perf_counter() - started
            requests_used = len(sim.requests)
        finally:
            await connector.aclose()
        baseline = await asyncio.to_thread(_reddit_baseline, sim)
    expected = {t.fullname for t in made}
    return Result(
        "Reddit (praw)",
        len(expected),
        len(expected & state.seen),
        len(expected - state.seen),
        state.duplicates,
        requests_used,
        seconds,
        baseline,
    )


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
    results = [asyncio.run(bench_x(count)), asyncio.run(bench_reddit(count))]
    lines = [
        "### Connectors: burst ingestion through tweepy and praw",
        "",
        f"A burst of {count} mentions lands between two polls; the runner's loop drains it "
        "(fetch while `has_more`, dedupe on `external_id`). Requests are counted at the "
        "simulator (token, karma and subscriber look-ups included). Baseline: the same listing "
        "pages walked with a bare HTTP client (aiohttp / requests), no library and no mapping. "
        "Re-delivered: the same item reached by two paths (Reddit comment stream and inbox) or "
        "re-read inside the overlap window; the runner drops these on `(platform, external_id)`.",
        "",
        "| platform | burst | ingested once | missed | re-delivered (core dedupes) | requests "
        "| requests per 1,000 | mentions/s | baseline mentions/s | time vs baseline |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[r.row() for r in results],
        "",
        "Command: `python -m bench` (or `python bench/bench_connectors.py`"
        f"{' --quick' if quick else ''}).",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; client and simulator share one machine over loopback, so the "
        "figures measure client-side cost, not platform latency.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
