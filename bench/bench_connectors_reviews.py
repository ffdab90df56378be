"""Review and forum connectors: a burst ingested from the simulators through the daemon's path.

Trustpilot, Yelp, App Store Connect and Hacker News, as ``bench_connectors`` does for X and
Reddit: after a first poll, a burst lands; the daemon's :class:`~repbot.runner.SourceRunner`
drains it into a SQLite store through each connector's aiohttp client over loopback. Reported:
mentions per second, requests per 1,000 mentions, missed mentions, and the cost of the next
steady polls with nothing new (requests per poll: at most one per stream). The baseline is the
same pages walked with a bare aiohttp client in the same run (no mapping, no store).

Yelp shows three excerpts per business, so its burst is spread over ``count / 3`` businesses,
one request each: that is what the API costs.

Run: ``python -m bench connectors_reviews`` or ``python bench/bench_connectors_reviews.py``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from repbot.connector import Connector
from repbot.connectors.app_store import AppStoreConnector
from repbot.connectors.app_store.simulator import AppStoreSimulator
from repbot.connectors.hackernews import HackerNewsConnector
from repbot.connectors.hackernews.simulator import HackerNewsSimulator
from repbot.connectors.trustpilot import TrustpilotConnector
from repbot.connectors.trustpilot.simulator import API_KEY, TrustpilotSimulator
from repbot.connectors.yelp import YelpConnector
from repbot.connectors.yelp.simulator import API_KEY as YELP_KEY
from repbot.connectors.yelp.simulator import YelpSimulator
from repbot.testing.server import SimulatorServer

try:
    from bench.bench_connectors import STEADY_POLLS, Result, _measure
except ImportError:  # run as a script from bench/
    from bench_connectors import STEADY_POLLS, Result, _measure  # type: ignore[no-redef]

UNIT = "5f0000000000000000000u01"
APP = "1234567890"
Walk = Callable[[aiohttp.ClientSession], Awaitable[None]]


def _recent(count: int, seconds: float) -> list[datetime]:
    """``count`` times in the last ``seconds``, newest last (a burst after the first poll)."""
    now = datetime.now(UTC) + timedelta(seconds=2)
    return [
        now - timedelta(seconds=seconds * (count - 1 - i) / max(count, 1)) for i in range(count)
    ]


async def _baseline(walk: Walk) -> float:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await walk(session)
    return time.perf_counter() - started


async def _run(
    label: str,
    connector: Connector,
    sim: SimulatorServer,
    seed: Callable[[], set[str]],
    walk: Walk,
    workdir: Path,
) -> Result:
    result = await _measure(label, connector, sim, seed, workdir)
    result.baseline_seconds = await _baseline(walk)
    return result


async def bench_trustpilot(count: int, workdir: Path) -> Result:
    """A burst of ``count`` reviews of one business unit."""
    async with TrustpilotSimulator() as sim:
        options = {"api_base_url": sim.url, "business_unit_ids": [UNIT], **sim.credentials()}
        connector = TrustpilotConnector(
            "bench-tp", TrustpilotConnector.Config.model_validate(options)
        )

        def seed() -> set[str]:
            return {
                sim.add_review(UNIT, i % 5 + 1, created_at=t).id
                for i, t in enumerate(_recent(count, 60))
            }

        async def walk(session: aiohttp.ClientSession) -> None:
            page = 1
            while True:
                params = {"orderBy": "createdat.desc", "perPage": "100", "page": str(page)}
                async with session.get(
                    f"{sim.url}/v1/business-units/{UNIT}/reviews",
                    params=params,
                    headers={"apikey": API_KEY},
                ) as response:
                    body = await response.json()
                if not any(x.get("rel") == "next-page" for x in body["links"]):
                    return
                page += 1

        return await _run("Trustpilot", connector, sim, seed, walk, workdir)


async def bench_yelp(count: int, workdir: Path) -> Result:
    """``count`` reviews spread three per business (what Fusion shows)."""
    async with YelpSimulator() as sim:
        businesses = [f"biz-{i:04d}" for i in range(max(count // 3, 1))]
        options = {"api_base_url": sim.url, "business_ids": businesses, **sim.credentials()}
        connector = YelpConnector("bench-yelp", YelpConnector.Config.model_validate(options))

        def seed() -> set[str]:
            times = _recent(len(businesses) * 3, 60)
            return {
                sim.add_review(businesses[i // 3], i % 5 + 1, created_at=t).id
                for i, t in enumerate(times)
            }

        async def walk(session: aiohttp.ClientSession) -> None:
            headers = {"Authorization": f"Bearer {YELP_KEY}"}
            for business in businesses:
                url = f"{sim.url}/v3/businesses/{business}/reviews"
                async with session.get(url, params={"limit": "3"}, headers=headers) as response:
                    await response.json()

        return await _run("Yelp (3 per business)", connector, sim, seed, walk, workdir)


async def bench_app_store(count: int, workdir: Path) -> Result:
    """A burst of ``count`` customer reviews of one app."""
    async with AppStoreSimulator() as sim:
        options = {"api_base_url": sim.url, "app_ids": [APP], **sim.credentials()}
        connector = AppStoreConnector("bench-ios", AppStoreConnector.Config.model_validate(options))

        def seed() -> set[str]:
            return {
                sim.add_review(APP, i % 5 + 1, created_at=t).id
                for i, t in enumerate(_recent(count, 60))
            }

        async def walk(session: aiohttp.ClientSession) -> None:
            headers = {"Authorization": f"Bearer {connector.client.token()}"}
            url: str | None = f"{sim.url}/v1/apps/{APP}/customerReviews"
            params: dict[str, Any] | None = {
                "sort": "-createdDate",
                "limit": "200",
                "include": "response",
            }
            while url:
                async with session.get(url, params=params, headers=headers) as response:
                    body = await response.json()
                url, params = body["links"].get("next"), None

        return await _run("App Store Connect (PyJWT)", connector, sim, seed, walk, workdir)


async def bench_hackernews(count: int, workdir: Path) -> Result:
    """A burst of ``count`` comments matching one query."""
    async with HackerNewsSimulator() as sim:
        story = sim.add_story("Orbit Bank", created_at=datetime.now(UTC) - timedelta(days=30))
        options = {"api_base_url": sim.url, "queries": ["orbit"]}
        connector = HackerNewsConnector(
            "bench-hn", HackerNewsConnector.Config.model_validate(options)
        )

        def seed() -> set[str]:
            return {
                str(sim.add_comment(story, f"Orbit comment {i}", created_at=t).id)
                for i, t in enumerate(_recent(count, 60))
            }

        async def walk(session: aiohttp.ClientSession) -> None:
            page, after = 0, int(time.time()) - 3600
            while True:
                params = {
                    "query": "orbit",
                    "tags": "(story,comment)",
                    "numericFilters": f"created_at_i>{after}",
                    "hitsPerPage": "100",
                    "page": str(page),
                }
                url = f"{sim.url}/api/v1/search_by_date"
                async with session.get(url, params=params) as response:
                    body = await response.json()
                page += 1
                if page >= body["nbPages"]:
                    return

        return await _run("Hacker News (Algolia)", connector, sim, seed, walk, workdir)


def run(quick: bool = False) -> str:
    """Run the benchmark and return its Markdown section."""
    count = 300 if quick else 1000
    benches = (bench_trustpilot, bench_yelp, bench_app_store, bench_hackernews)
    with tempfile.TemporaryDirectory(prefix="bench-reviews-") as tmp:
        results = [asyncio.run(bench(count, Path(tmp))) for bench in benches]
    lines = [
        "### Connectors: review sites, app stores and Hacker News through the runner and store",
        "",
        f"A burst of about {count} items lands after a first poll; the daemon's `SourceRunner` "
        "drains it into a SQLite store through each connector's aiohttp client, with default "
        "options. Requests are counted at the simulator (the App Store token is made locally; "
        "Trustpilot's OAuth token is only fetched to reply). Yelp Fusion shows 3 excerpts per "
        "business, so its burst is spread over a third as many businesses, one request each. "
        f"Steady: the next {STEADY_POLLS} polls with nothing new (at most one request per "
        "stream; items re-read come from the overlap and are dropped by the store). Baseline: "
        "the same pages walked with bare aiohttp, no mapping or store.",
        "",
        "| platform | burst | stored once | missed | re-delivered (dropped by the store) "
        "| requests | requests per 1,000 | polls | mentions/s | baseline mentions/s "
        "| time vs baseline | steady requests/poll | steady items re-read/poll |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[r.row() for r in results],
        "",
        "Command: `python -m bench connectors_reviews --update` (or "
        f"`python bench/bench_connectors_reviews.py{' --quick' if quick else ''}`).",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; client and simulator share one machine over loopback.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
