"""Google connectors' throughput: a burst of reviews ingested from the simulators through the
daemon's path (google_business across locations, google_play for one app).

Same method as :mod:`bench.bench_connectors`: a burst lands between two polls, the daemon's
:class:`~repbot.runner.SourceRunner` drains it into a SQLite store through
google-api-python-client over loopback, and the same pages are then walked with a bare HTTP
client (aiohttp, no library, mapping or store) in the same run. Reported: mentions per second,
requests per 1,000 mentions (token and location listing included), missed mentions, and what
the next steady polls cost (requests per poll: at most one per location or app).

Run: ``python -m bench connectors_google`` or ``python bench/bench_connectors_google.py [--quick]``.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

try:
    from bench.bench_connectors import STEADY_POLLS, Result, _measure
except ModuleNotFoundError:  # run as a script: bench/ itself is on sys.path
    from bench_connectors import STEADY_POLLS, Result, _measure  # type: ignore[no-redef]
from repbot.connectors.google_business import GoogleBusinessConnector
from repbot.connectors.google_business.simulator import GoogleBusinessSimulator
from repbot.connectors.google_play import GooglePlayConnector
from repbot.connectors.google_play.simulator import GooglePlaySimulator

LOCATIONS = 10


async def bench_business(count: int, workdir: Path) -> Result:
    """Burst of ``count`` reviews spread over ``LOCATIONS`` locations of one account."""
    async with GoogleBusinessSimulator() as sim:
        places = [sim.add_location(f"Branch {i}") for i in range(LOCATIONS)]
        options = {**sim.credentials(), "requests_per_minute": 10_000}
        config = GoogleBusinessConnector.Config.model_validate(options)
        connector = GoogleBusinessConnector("bench-gbp", config)

        def seed() -> set[str]:
            return {r["name"] for r in sim.seed_reviews(count, places, spread_seconds=2)}

        label = f"Google Business Profile ({LOCATIONS} locations, googleapiclient)"
        result = await _measure(label, connector, sim, seed, workdir)
        result.baseline_seconds = await _business_baseline(sim)
    return result


async def _business_baseline(sim: GoogleBusinessSimulator) -> float:
    sim.tokens.add("bench-token")
    headers = {"Authorization": "Bearer bench-token", "Accept-Encoding": "gzip"}
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        for ident in sorted(sim.locations):
            url = f"{sim.url}/v4/accounts/{sim.account}/locations/{ident}/reviews"
            await _walk(session, url, {"pageSize": "50", "orderBy": "updateTime desc"}, "pageToken")
    return time.perf_counter() - started


async def bench_play(count: int, workdir: Path) -> Result:
    """Burst of ``count`` reviews of one app."""
    async with GooglePlaySimulator() as sim:
        options = sim.credentials(workdir / "play-key.json")
        connector = GooglePlayConnector(
            "bench-play", GooglePlayConnector.Config.model_validate(options)
        )

        def seed() -> set[str]:
            return {r["reviewId"] for r in sim.seed_reviews(count, spread_seconds=2)}

        result = await _measure("Google Play (googleapiclient)", connector, sim, seed, workdir)
        result.baseline_seconds = await _play_baseline(sim)
    return result


async def _play_baseline(sim: GooglePlaySimulator) -> float:
    sim.tokens.add("bench-token")
    headers = {"Authorization": "Bearer bench-token", "Accept-Encoding": "gzip"}
    url = f"{sim.url}/androidpublisher/v3/applications/{sim.package}/reviews"
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        await _walk(session, url, {"maxResults": "100"}, "token")
    return time.perf_counter() - started


async def _walk(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], token_name: str
) -> None:
    token: str | None = None
    while True:
        query = {**params, **({token_name: token} if token else {})}
        async with session.get(url, params=query) as response:
            body = await response.json()
        token = body.get("nextPageToken") or (body.get("tokenPagination") or {}).get(
            "nextPageToken"
        )
        if not token:
            return


def run(quick: bool = False) -> str:
    """Run the benchmark and return its Markdown section."""
    count = 300 if quick else 1000
    with tempfile.TemporaryDirectory(prefix="bench-google-") as tmp:
        workdir = Path(tmp)
        results = [
            asyncio.run(bench_business(count, workdir)),
            asyncio.run(bench_play(count, workdir)),
        ]
    lines = [
        "### Connectors: Google reviews through google-api-python-client, the runner and the store",
        "",
        f"A burst of {count} reviews lands between two polls (Business Profile: spread over "
        f"{LOCATIONS} locations, 50 per page; Play: one app, 100 per page); the daemon's "
        "`SourceRunner` drains it into a SQLite store, each page stored with its cursor in one "
        "transaction. Requests are counted at the simulator (token and location listing "
        "included). Re-delivered: reviews a poll returned that were already stored (the "
        "overlap); the store drops them. Steady: the next "
        f"{STEADY_POLLS} polls with nothing new (requests and reviews re-read per poll: one "
        "request per location or app, the overlap re-reads at most that page). Baseline: the "
        "same review pages walked with aiohttp, no library, mapping or store.",
        "",
        "| platform | burst | stored once | missed | re-delivered (dropped by the store) "
        "| requests | requests per 1,000 | polls | mentions/s | baseline mentions/s "
        "| time vs baseline | steady requests/poll | steady items re-read/poll |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[r.row() for r in results],
        "",
        "Command: `python -m bench connectors_google` (or `python "
        f"bench/bench_connectors_google.py{' --quick' if quick else ''}`).",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; client and simulator share one machine over loopback, so the "
        "figures measure client-side cost (googleapiclient and httplib2 are synchronous: one "
        "worker thread per source), not platform latency.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
