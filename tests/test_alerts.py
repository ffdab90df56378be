"""Alerts reach the operator's webhook and Slack channel exactly once, surviving failures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.alerts import AlertDispatcher
from repbot.cli import main
from repbot.config import load_config, parse_config
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


async def test_webhook_url_is_a_secret_in_logs_reprs_and_the_check_summary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_path = "/services/T0SECRET/B0SECRET/xyzzySECRETtoken"

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=503, text=f"no such hook {request.path}")

    app = web.Application()
    app.router.add_post(secret_path, refuse)
    async with TestServer(app) as server:
        url = str(server.make_url(secret_path))
        config_file = tmp_path / "c.yaml"
        config_file.write_text(
            f"alerts: {{webhook_url: '{url}'}}\nsources: [{{name: d, type: demo}}]\n"
        )
        config = load_config(config_file)
        assert secret_path not in repr(config) and secret_path not in str(config.alerts)
        store = SqliteStore(tmp_path / "a.db")
        store.add_alert("x", "auth", "source x disabled")
        with caplog.at_level(logging.DEBUG):
            assert await AlertDispatcher(store, config).run_once() == 0
        store.close()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("repbot"))
    assert "alert delivery failed" in logged and "HTTP 503" in logged
    assert "SECRET" not in logged
    assert main(["check", "-c", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "alerts: webhook set" in out and "SECRET" not in out


async def test_unreachable_webhook_is_logged_without_its_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config("alerts: {webhook_url: 'http://127.0.0.1:9/hooks/T0SECRET/tok'}\n")
    store = SqliteStore(tmp_path / "a.db")
    store.add_alert("x", "auth", "source x disabled")
    with caplog.at_level(logging.DEBUG):
        assert await AlertDispatcher(store, config).run_once() == 0
    store.close()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("repbot"))
    assert "alert delivery failed" in logged and "SECRET" not in logged
