"""Alerts reach the operator's webhook and Slack channel exactly once, surviving failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.alerts import AlertDispatcher
from repbot.config import parse_config
from repbot.store import SqliteStore


async def test_alerts_are_forwarded_once_and_retried_after_failure(tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []
    fail = {"next": True}

    async def hook(request: web.Request) -> web.Response:
        if fail["next"]:
            fail["next"] = False
            return web.Response(status=503)
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        config = parse_config(f"alerts: {{webhook_url: '{server.make_url('/hook')}'}}\n")
        store = SqliteStore(tmp_path / "a.db")
        dispatcher = AlertDispatcher(store, config)
        store.add_alert("x", "auth", "source x disabled: AuthError: 401")
        assert await dispatcher.run_once() == 0
        assert await dispatcher.run_once() == 1
        assert await dispatcher.run_once() == 0
        store.add_alert("x", "post_budget", "budget exhausted")
        assert await AlertDispatcher(store, config).run_once() == 1
        store.close()
    assert [r["kind"] for r in received] == ["auth", "post_budget"]
    assert "401" in received[0]["text"]
