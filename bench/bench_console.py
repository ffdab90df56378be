"""Console queue at volume: p95 server time of the queue's pages, search and item page.

The same requests run against a store holding 1,000 mentions and one holding 100,000 (quick
mode: 10,000), in the same run, over loopback HTTP to the real console routes. Server time is
measured by a middleware around each handler (rendering included, the network not).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.store.queueing import QueueCursor, QueueFilter
from repbot.store.sqlite import SqliteStore
from repbot.testing.queue import bulk_awaiting

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _deep_cursor(store: SqliteStore, n: int) -> QueueCursor | None:
    """The cursor about 90 % into the queue (walked in big pages, as "Load more" would)."""
    cursor, walked = None, 0
    while walked < n * 0.9:
        page = store.queue_page(QueueFilter(), cursor, 500)
        walked += len(page.items)
        if page.next is None:
            return cursor
        cursor = page.next
    return cursor


def _requests(store: SqliteStore, n: int) -> dict[str, str]:
    deep = _deep_cursor(store, n)
    busy = store.queue_page(QueueFilter(), None, 1).items[0].id
    shown = ",".join(str(i.id) for i in store.queue_page(QueueFilter(), None, 50).items)
    return {
        "queue, first page": "/",
        "queue, deep page (90 %)": f"/?after={deep.encode()}&partial=1" if deep else "/",
        "queue, platform filter": "/?platform=reddit",
        "search, common word": "/?q=refund",
        "search, two words + filter": "/?q=delivery+support&platform=x",
        "search, no hit": "/?q=zzyzx",
        "item page + history": f"/items/{busy}",
        "live poll (50 shown)": f"/queue/changes?since=2026-01-01T00:00:00%2B00:00&ids={shown}",
    }


async def _measure(store: SqliteStore, paths: dict[str, str], reps: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {}
    current = [""]

    @web.middleware
    async def timer(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            timings.setdefault(current[0], []).append(time.perf_counter() - started)

    app = web.Application(middlewares=[timer])
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1")
    async with TestClient(TestServer(app)) as client:
        for name, path in paths.items():
            current[0] = f"warm {name}"
            await (await client.get(path)).read()
            current[0] = name
            for _ in range(reps):
                resp = await client.get(path)
                await resp.read()
                assert resp.status == 200, (name, resp.status)
    return {name: _p95(v) for name, v in timings.items() if not name.startswith("warm")}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def run(quick: bool = False) -> str:
    """Measure and return the Markdown section for bench/RESULTS.md."""
    small, big = 1_000, 10_000 if quick else 100_000
    reps = 10 if quick else 40
    results: dict[int, dict[str, float]] = {}
    seeded: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, big):
            store = SqliteStore(Path(tmp) / f"console-{n}.db")
            started = time.perf_counter()
            bulk_awaiting(store, n, authors=max(50, n // 200), unscored_every=13, direct=True)
            seeded[n] = time.perf_counter() - started
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as a running daemon's WAL
            results[n] = asyncio.run(_measure(store, _requests(store, n), reps))
            store.close()
    rows = [
        f"| {name} | {results[small][name]:.1f} | {results[big][name]:.1f} |"
        f" {results[big][name] / max(results[small][name], 1e-9):.2f}× |"
        for name in results[small]
    ]
    worst = max(results[big][k] / max(results[small][k], 1e-9) for k in results[small])
    return "\n".join(
        [
            "## Console queue: pages, search, item page with history (`bench_console`)",
            "",
            f"p95 server time (ms, handler + rendering, {reps} requests each) with {small:,} and"
            f" {big:,} stored mentions awaiting approval, in the same run. Pages are keyset"
            " walks (the deep page starts 90 % into the queue), search walks the FTS5 index"
            " newest first, facets and counts are trigger-kept tables.",
            "",
            f"| request | {small:,} stored | {big:,} stored | ratio |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            f"Worst ratio {worst:.2f}×. Seeding took {seeded[small]:.0f} s and"
            f" {seeded[big]:.0f} s. A common search word costs more than a page: FTS5 reads"
            " its list of matching rows; the page itself stops after 50 items.",
        ]
    )


if __name__ == "__main__":
    print(run(quick=True))
