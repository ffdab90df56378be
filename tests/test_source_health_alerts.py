"""Source health and alert routing, end to end into the fake Slack: a failing source (any error
class) and a silent one raise one alert each and announce recovery; a crisis goes to the
urgent channel with its updates threaded; each kind has a switch, a cool-down, destinations."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from ops_history import T0, add

from repbot.alerts import AlertDispatcher, SilenceMonitor
from repbot.alerts_config import CrisisConfig
from repbot.config import Config, parse_config
from repbot.connector import Page
from repbot.errors import MalformedRecord, TransientError
from repbot.runner import FAILING_AFTER, Backoff, SourceRunner
from repbot.spike import CrisisDetector
from repbot.store import SqliteStore
from repbot.testing.fakes import ScriptedConnector, make_mention
from repbot.testing.slack import FakeSlack

STEP = timedelta(minutes=15)


class Now:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _config(slack: FakeSlack, extra: str = "", webhook: str | None = None) -> Config:
    hook = f"  webhook_url: '{webhook}'\n" if webhook else ""
    return parse_config(
        "sources:\n  - {name: src, type: demo}\n  - {name: quiet, type: demo}\n"
        "approval:\n  slack:\n    mode: http\n    bot_token: xoxb-test-token\n"
        "    signing_secret: test-signing-secret\n    channel: C_APPROVALS\n"
        f"    urgent_channel: C_URGENT\n    api_base_url: '{slack.base_url}'\n"
        f"alerts:\n  slack_channel: C_ALERTS\n{hook}{extra}"
    )


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def _texts(slack: FakeSlack, channel: str) -> list[str]:
    return [
        c.args["text"] for c in slack.calls_to("chat.postMessage") if c.args["channel"] == channel
    ]


class Tick:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_simulated_outage_is_one_alert_then_one_recovery(
    tmp_path: Path, slack: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "o.db")
    errors: list[Exception] = [
        TransientError("503 from the platform"),
        MalformedRecord("page is not JSON"),  # any error class counts
        *(TransientError(f"timeout {n}") for n in range(FAILING_AFTER + 3)),
    ]
    script: list[Page | Exception] = [*errors, Page(mentions=[make_mention(1)])]
    tick = Tick()
    runner = SourceRunner(
        store, ScriptedConnector("src", script), clock=tick,
        backoff=Backoff(base=1.0, cap=1.0, rng=random.Random(1)),
    )  # fmt: skip
    dispatcher = AlertDispatcher(store, _config(slack))
    for _ in range(len(script)):
        tick.now += 10
        await runner.poll()
        await dispatcher.run_once()
    texts = _texts(slack, "C_ALERTS")
    assert len(texts) == 2
    assert "(failing) from src" in texts[0] and "(recovered) from src" in texts[1]
    assert _texts(slack, "C_URGENT") == []
    store.close()


async def test_silence_raises_one_alert_and_recovery(tmp_path: Path, slack: FakeSlack) -> None:
    store = SqliteStore(tmp_path / "s.db")
    config = _config(slack, "  silent_after: {quiet: 2h}\n")
    now = Now(T0)
    monitor = SilenceMonitor(store, config, now)
    add(store, T0 - timedelta(minutes=30), "last one", source="quiet")
    assert monitor.run_once() == 0
    now.at = T0 + timedelta(hours=2)
    assert monitor.run_once() == 1
    now.at += timedelta(hours=5)
    assert monitor.run_once() == 0  # still silent: no second alert
    assert SilenceMonitor(store, config, now).run_once() == 0  # nor after a restart
    add(store, now.at, "back", source="quiet")
    assert monitor.run_once() == 1
    await AlertDispatcher(store, config).run_once()
    texts = _texts(slack, "C_ALERTS")
    assert len(texts) == 2 and "(silent) from quiet" in texts[0]
    assert "brought no mention for 2.5 h" in texts[0]
    assert "(recovered) from quiet" in texts[1]
    store.close()


async def test_simulated_crisis_in_the_urgent_channel_threaded(
    tmp_path: Path, slack: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "c.db")
    rng = random.Random(11)
    with store.batch():
        for i in range(7 * 4):
            for _ in range(rng.randint(4, 10)):
                at = T0 - (7 * 4 - i) * STEP + timedelta(seconds=rng.randint(0, 899))
                add(store, at, "love the app", sentiment="positive")
        for i in range(90):  # 30 minutes of a burst of complaints
            add(
                store, T0 + timedelta(seconds=i * 20), "charged twice for my order, refund now",
                sentiment="negative", handle=f"angry{i}", followers=i,
            )  # fmt: skip
    config = _config(slack)
    cfg = CrisisConfig(
        interval=900, baseline_intervals=24, update_every=900, over_after=1800, cooldown=7200
    )
    now = Now(T0)
    detector = CrisisDetector(store, cfg, lambda i: f"http://console/items/{i}", now)
    dispatcher = AlertDispatcher(store, config)
    while now.at < T0 + 6 * STEP:
        now.at += timedelta(minutes=5)
        detector.run_once()
        await dispatcher.run_once()
    calls = [c.args for c in slack.calls_to("chat.postMessage")]
    assert [c["channel"] for c in calls] == ["C_URGENT"] * len(calls)
    kinds = [c["text"].split("(")[1].split(")")[0] for c in calls]
    assert kinds == ["crisis", "crisis_update", "crisis_update", "crisis_over"]
    first_ts = next(m["ts"] for m in slack.channel_messages("C_URGENT") if "thread_ts" not in m)
    assert [c.get("thread_ts") for c in calls[1:]] == [first_ts] * 3
    assert [c.get("reply_broadcast") for c in calls[1:]] == [False, False, True]
    assert '"charged twice"' in calls[0]["text"] and calls[0]["text"].count("@angry") == 3
    assert "http://console/items/" in calls[0]["text"]
    store.close()


async def test_kind_switch_cooldown_and_destinations(tmp_path: Path, slack: FakeSlack) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        extra = (
            "  kinds:\n    silent: {enabled: false}\n    failing: {cooldown: 1h}\n"
            "    crisis: {to: [webhook]}\n"
        )
        config = _config(slack, extra, webhook=str(server.make_url("/hook")))
        store = SqliteStore(tmp_path / "k.db")
        store.add_alert("src", "silent", "quiet")
        store.add_alert("src", "failing", "first")
        store.add_alert("src", "failing", "again, within the cool-down")
        store.add_alert("other", "failing", "another source")
        store.add_alert("all sources", "crisis", "burst")
        assert await AlertDispatcher(store, config).run_once() == 5
        store.close()
    assert [r["message"] for r in received] == ["first", "another source", "burst"]
    assert [t.rsplit(": ", 1)[1] for t in _texts(slack, "C_ALERTS")] == ["first", "another source"]
    assert _texts(slack, "C_URGENT") == []


async def test_more_pending_alerts_than_one_page_are_all_delivered(
    tmp_path: Path, slack: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "p.db")
    with store.batch():
        for n in range(450):
            store.add_alert("src", "sla_warning", f"item {n}")
    assert await AlertDispatcher(store, _config(slack)).run_once() == 450
    assert len(_texts(slack, "C_ALERTS")) == 450
    store.close()


async def test_urgent_channel_alone_gets_crises_and_nothing_else(
    tmp_path: Path, slack: FakeSlack
) -> None:
    config = parse_config(
        "approval:\n  slack:\n    mode: http\n    bot_token: xoxb-test-token\n"
        "    signing_secret: test-signing-secret\n    channel: C_APPROVALS\n"
        f"    api_base_url: '{slack.base_url}'\nalerts: {{urgent_channel: C_WAR_ROOM}}\n"
    )
    store = SqliteStore(tmp_path / "u.db")
    store.add_alert("src", "failing", "no channel for this kind")
    store.add_alert("all sources", "crisis", "burst")
    dispatcher = AlertDispatcher(store, config)
    assert dispatcher.enabled and await dispatcher.run_once() == 2
    assert [c.args["channel"] for c in slack.calls_to("chat.postMessage")] == ["C_WAR_ROOM"]
    store.close()
