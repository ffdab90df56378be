"""Secrets never leak: every secret is configured (through the environment, as in production)
with a recognisable value, a demo flow runs through the HTTP surfaces (X over loopback, a
signed webhook, Slack delivery and a signed Slack click, console break-glass login, health and
metrics, refused requests too), then the captured logs (DEBUG, every logger), the SQLite file
with its WAL, the sandbox and every HTTP answer are searched for each value: none appears."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import aiohttp
import pytest

from repbot.approval import blocks
from repbot.config import parse_config
from repbot.connectors.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from repbot.connectors.x.simulator import XSimulator
from repbot.daemon import Daemon
from repbot.logs import setup_logging
from repbot.store import Store
from repbot.testing.approval import signed_body
from repbot.testing.fakes import KeywordClassifier, wait_until
from repbot.testing.slack import FakeSlack, block_actions_payload

SECRETS = {
    "SEC_SLACK_BOT": "xoxb-SEKRET1-slackbot-9f8e7d",
    "SEC_SLACK_SIGNING": "SEKRET2signing0123456789abcdef",
    "SEC_WEBHOOK": "SEKRET3-webhook-secret-5a5a",
    "SEC_CONSOLE": "SEKRET4-console-breakglass-77",
    "SEC_X_BEARER": "SEKRET5-x-bearer-token-4242",
    "SEC_X_CONSUMER": "SEKRET6-x-consumer-key-3131",
    "SEC_X_ACCESS": "SEKRET7-x-access-token-2020",
    "SEC_ALERT_HOOK": "http://127.0.0.1:9/SEKRET8-alert-hook",
}


def _config(tmp_path: Path, sim: XSimulator, slack: FakeSlack) -> str:
    return f"""
brand: {{name: Acme}}
store: {{path: {tmp_path / "repbot.db"}}}
sources:
  - {{name: x, type: x, interval: 0.5, api_base_url: '{sim.url}', brand_username: acme,
      tier: enterprise, bearer_token: '${{SEC_X_BEARER}}', consumer_key: '${{SEC_X_CONSUMER}}',
      consumer_secret: sim-consumer-secret, access_token: '${{SEC_X_ACCESS}}',
      access_token_secret: sim-access-token-secret}}
  - {{name: hook, type: webhook, secret: '${{SEC_WEBHOOK}}',
      mapping: {{text: comment, external_id: rid}}}}
server: {{port: 0}}
pipeline: {{tick: 0.05}}
responder: {{min_urgency: {{other: 0.0}}}}
approval:
  web: {{token: '${{SEC_CONSOLE}}', break_glass: true}}
  slack: {{mode: http, bot_token: '${{SEC_SLACK_BOT}}', signing_secret: '${{SEC_SLACK_SIGNING}}',
          channel: CSEC, approvers: [UALICE], api_base_url: '{slack.base_url}'}}
alerts: {{webhook_url: '${{SEC_ALERT_HOOK}}'}}
logging: {{level: DEBUG, file: {tmp_path / "logs" / "repbot.log"}}}
"""


async def _http_flow(base: str, answers: list[str]) -> None:
    """Console, health, metrics and refused requests; every answer body is kept."""
    async with aiohttp.ClientSession() as http:

        async def get(path: str) -> str:
            async with http.get(base + path) as response:
                answers.append(
                    f"{response.status} {dict(response.headers)} {await response.text()}"
                )
                return answers[-1]

        page = await get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf, page[-500:]
        for password in ("wrong-guess", SECRETS["SEC_CONSOLE"]):
            form = {"csrf": csrf.group(1), "name": "break-glass", "password": password}
            async with http.post(base + "/login", data=form) as response:
                answers.append(f"{response.status} {await response.text()}")
        for path in ("/", "/healthz", "/readyz", "/metrics", "/items/1", "/sources"):
            await get(path)


async def test_no_secret_in_logs_database_sandbox_or_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    answers: list[str] = []
    sim = XSimulator(
        bearer_token=SECRETS["SEC_X_BEARER"],
        consumer_key=SECRETS["SEC_X_CONSUMER"],
        access_token=SECRETS["SEC_X_ACCESS"],
    )
    async with sim, FakeSlack() as slack:
        sim.seed_mentions(6, spread_seconds=60)
        config = parse_config(_config(tmp_path, sim, slack))
        saved = _logging_state()
        setup_logging(config.logging)  # as `repbot run` does: the log file is what operators see
        daemon = Daemon(config, classifier=KeywordClassifier())
        await daemon.initialise()
        await daemon.start()
        assert daemon.server is not None and daemon.store is not None
        store, base = daemon.store, f"http://127.0.0.1:{daemon.server.port}"
        try:
            await _webhook(base, answers)
            await wait_until(lambda: len(slack.channel_messages("CSEC")) >= 3)
            await _slack_click(base, slack, store, answers)
            await _http_flow(base, answers)
            await wait_until(lambda: bool(store.counts().get("posted")))
            answers.append(json.dumps(store.audit_log(limit=10_000), default=str))
            running = _files(tmp_path, "running")  # the WAL exists only while the store is open
        finally:
            await daemon.stop()
            _restore_logging(saved)
    haystacks = {
        "answers": "\n".join(answers),
        **running,
        **_files(tmp_path, "stopped"),
    }
    assert "repbot.db-wal (running)" in haystacks, sorted(haystacks)  # the WAL is searched
    assert "posted mention=" in haystacks["repbot.log (stopped)"]
    leaks = {
        (where, name)
        for where, text in haystacks.items()
        for name, value in SECRETS.items()
        if value in text
    }
    assert not leaks


def _files(root: Path, when: str) -> dict[str, str]:
    return {
        f"{p.name} ({when})": p.read_bytes().decode("latin-1")
        for p in root.rglob("*")
        if p.is_file()
    }


LoggingState = tuple[list[logging.Handler], int, dict[str, int]]


def _logging_state() -> LoggingState:
    root = logging.getLogger()
    levels = {n: logging.getLogger(n).level for n in logging.root.manager.loggerDict}
    return list(root.handlers), root.level, levels


def _restore_logging(state: LoggingState) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handlers, level, levels = state
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


async def _webhook(base: str, answers: list[str]) -> None:
    body = json.dumps(
        [{"rid": "w1", "comment": "Refund never arrived", "created_at": "2026-11-20T09:00:00Z"}]
    ).encode()
    async with aiohttp.ClientSession() as http:
        for secret in (SECRETS["SEC_WEBHOOK"], "not-the-secret"):
            ts = str(int(time.time()))
            headers = {
                TIMESTAMP_HEADER: ts,
                SIGNATURE_HEADER: sign(secret, ts, body),
                "Content-Type": "application/json",
            }
            async with http.post(f"{base}/webhooks/hook", data=body, headers=headers) as response:
                answers.append(f"{response.status} {await response.text()}")


async def _slack_click(base: str, slack: FakeSlack, store: Store, answers: list[str]) -> None:
    """Approve an X draft with a signed click (and send one badly signed)."""
    message = next(
        m
        for m in slack.channel_messages("CSEC")
        if store.get(int(m["metadata"]["event_payload"]["mention_id"])).mention.platform == "x"
    )
    item_id = str(message["metadata"]["event_payload"]["mention_id"])
    payload = block_actions_payload(
        user="UALICE",
        action_id=blocks.ACTION_APPROVE,
        value=item_id,
        channel="CSEC",
        message_ts=message["ts"],
    )
    async with aiohttp.ClientSession() as http:
        for secret in (SECRETS["SEC_SLACK_SIGNING"], "wrong-signing-secret-000000000"):
            body, headers = signed_body(payload, secret)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            async with http.post(f"{base}/slack/events", data=body, headers=headers) as response:
                answers.append(f"{response.status} {await response.text()}")
