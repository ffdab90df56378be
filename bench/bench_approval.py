"""Click-to-post latency: a human decision (Slack click or web POST) until the sandbox holds it.

Everything runs over loopback: a fake Slack Web API, the daemon's aiohttp routes
(``/slack/events`` with signed payloads, the web console), the real SQLite store and the real
:class:`repbot.poster.Poster` posting through the sandbox connector. The poster is woken by
the approval code's ``on_decision`` hook (as the daemon wires it), so the figures are the
approval path itself; a daemon that only polls adds up to its poster interval.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from repbot import workflow
from repbot.approval import blocks
from repbot.approval.config import SlackConfig, WebConfig
from repbot.approval.slack import SlackApproval
from repbot.approval.web import setup_console
from repbot.models import State
from repbot.poster import Poster
from repbot.sandbox import SandboxConfig, SandboxConnector
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item, signed_body
from repbot.testing.slack import FakeSlack, block_actions_payload

SECRET = "bench-signing-secret"


class _Rig:
    """Store, fake Slack, approval routes and a poster woken on every decision."""

    def __init__(self, root: Path, fake: FakeSlack) -> None:
        self.store = SqliteStore(root / "repbot.db")
        self.connector = SandboxConnector("demo", SandboxConfig(sandbox_dir=root / "sandbox"))
        self.poster = Poster(self.store, {"demo": self.connector})
        self.wake = asyncio.Event()
        cfg = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-bench"),
            signing_secret=SecretStr(SECRET),
            channel="CBENCH",
            approvers=["UBENCH"],
            api_base_url=fake.base_url,
        )
        self.slack = SlackApproval(cfg, self.store)
        self.slack.on_decision = lambda _id: self.wake.set()
        self.app = web.Application()
        self.app.router.add_post("/slack/events", self.slack.handle_http)
        setup_console(
            self.app,
            self.store,
            WebConfig(),
            server_host="127.0.0.1",
            slack=self.slack,
            on_decision=lambda _id: self.wake.set(),
        )

    async def poster_loop(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while await self.poster.run_once():
                pass

    async def posted(self, item_id: int, timeout: float = 10.0) -> None:
        deadline = time.perf_counter() + timeout
        while self.store.get(item_id).state is not State.POSTED:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"item {item_id} was not posted")
            await asyncio.sleep(0.0005)

    async def close(self) -> None:
        await self.slack.stop()
        await self.connector.aclose()
        self.store.close()


async def _measure(
    rig: _Rig, n: int, click: Callable[[int], Awaitable[float]]
) -> tuple[list[float], list[float]]:
    acks, totals = [], []
    for _ in range(n):
        item_id = seed_item(rig.store, source="demo")
        await rig.slack.sync()  # the draft's Slack message exists before anyone clicks
        start = time.perf_counter()
        acks.append(await click(item_id) - start)
        await rig.posted(item_id)
        totals.append(time.perf_counter() - start)
    return acks, totals


async def _run(n: int) -> dict[str, tuple[list[float], list[float]]]:
    results: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeSlack() as fake:
            rig = _Rig(Path(tmp), fake)
            server = TestServer(rig.app, host="127.0.0.1")
            await server.start_server()
            poster = asyncio.create_task(rig.poster_loop())
            try:
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    results["direct"] = await _measure(rig, n, _direct(rig))
                    results["slack"] = await _measure(rig, n, await _slack(rig, http, server))
                    results["web"] = await _measure(rig, n, await _web(http, server))
            finally:
                poster.cancel()
                await asyncio.gather(poster, return_exceptions=True)
                await server.close()
                await rig.close()
    return results


def _direct(rig: _Rig) -> Callable[[int], Awaitable[float]]:
    async def click(item_id: int) -> float:
        workflow.decide(rig.store, item_id, "approve", "bench", text=rig.store.get(item_id).draft)
        rig.wake.set()
        return time.perf_counter()

    return click


async def _slack(
    rig: _Rig, http: aiohttp.ClientSession, server: TestServer
) -> Callable[[int], Awaitable[float]]:
    url = str(server.make_url("/slack/events"))

    async def click(item_id: int) -> float:
        channel, ts = rig.slack.message_for(item_id) or ("CBENCH", "1.1")
        payload = block_actions_payload(
            user="UBENCH",
            action_id=blocks.ACTION_APPROVE,
            value=str(item_id),
            channel=channel,
            message_ts=ts,
        )
        body, headers = signed_body(payload, SECRET)
        async with http.post(url, data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
        return time.perf_counter()

    return click


async def _web(
    http: aiohttp.ClientSession, server: TestServer
) -> Callable[[int], Awaitable[float]]:
    async with http.get(str(server.make_url("/"))) as resp:
        html = await resp.text()
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    csrf = match.group(1) if match else ""

    async def click(item_id: int) -> float:
        url = str(server.make_url(f"/items/{item_id}/approve"))
        headers = {"Accept": "application/json"}
        async with http.post(url, data={"csrf": csrf}, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
        return time.perf_counter()

    return click


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def run(quick: bool = False) -> str:
    """Measure and return the Markdown section for bench/RESULTS.md."""
    n = 30 if quick else 200
    results = asyncio.run(_run(n))
    base = statistics.median(results["direct"][1])
    rows = []
    labels = {
        "direct": "store.decide + poster (baseline, no HTTP)",
        "slack": "Slack button → signed POST /slack/events",
        "web": "Web console POST /items/{id}/approve",
    }
    for key, (acks, totals) in results.items():
        ratio = statistics.median(totals) / base if base else float("nan")
        rows.append(
            f"| {labels[key]} | {n} | {_pct(acks, 0.5):.1f} | {_pct(acks, 0.95):.1f} "
            f"| {_pct(totals, 0.5):.1f} | {_pct(totals, 0.95):.1f} | {ratio:.1f}× |"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    return "\n".join(
        [
            "### Approval: click-to-post latency",
            "",
            "From the moment a human decides until the reply is recorded in the sandbox"
            " (state `posted`), over loopback with the real store and poster; ack = the HTTP"
            " answer the click gets (Slack's 3 s budget).",
            "",
            "| path | n | ack p50 ms | ack p95 ms | click→posted p50 ms | click→posted p95 ms"
            " | p50 vs baseline |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "The poster is woken by `on_decision`; a daemon that only polls adds up to its"
            " poster interval. Slack's own network time (tens to hundreds of ms) is not included.",
            "",
            f"Command: `python -m bench` (or `python -c 'import bench.bench_approval as b;"
            f" print(b.run())'`). Machine: {machine}.",
        ]
    )


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
