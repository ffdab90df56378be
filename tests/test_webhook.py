"""Signed inbound webhooks: POST /webhooks/{source_name} on the daemon's server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiohttp

from repbot.config import parse_config
from repbot.connectors.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from repbot.daemon import Daemon
from repbot.testing.fakes import KeywordClassifier

SECRET = "whsec-test-0123456789"


def _headers(body: bytes, secret: str = SECRET, age: float = 0) -> dict[str, str]:
    ts = str(int(time.time() - age))
    return {
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: sign(secret, ts, body),
        "Content-Type": "application/json",
    }


async def test_signed_webhook_is_stored_and_bad_ones_refused(tmp_path: Path) -> None:
    config = parse_config(f"""
store: {{path: {tmp_path / "r.db"}}}
sources:
  - {{name: feedback, type: webhook, secret: {SECRET},
     mapping: {{text: comment, external_id: rid}}}}
server: {{port: 0}}
""")
    daemon = Daemon(config, classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    assert daemon.server is not None and daemon.store is not None
    url = f"http://127.0.0.1:{daemon.server.port}/webhooks/feedback"
    records = [
        {
            "rid": "s1",
            "comment": "Checkout kept failing, I gave up",
            "created_at": "2026-11-20T09:00:00Z",
        },
        {"rid": "s2", "comment": "ok", "created_at": "not a date"},
        {"comment": "no id", "created_at": "2026-11-20T09:00:00Z"},
    ]
    body = json.dumps(records).encode()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers=_headers(body)) as response:
                assert response.status == 202
                assert await response.json() == {
                    "new": 1,
                    "revised": 0,
                    "duplicates": 0,
                    "malformed": 2,
                }
            async with http.post(url, data=body, headers=_headers(body)) as response:
                assert (await response.json())["duplicates"] == 1
            bad = _headers(body, secret="wrong-secret-000")
            async with http.post(url, data=body, headers=bad) as response:
                assert response.status == 401
            async with http.post(url, data=body, headers=_headers(body, age=3600)) as response:
                assert response.status == 401
            async with http.post(url, data=b"{nope", headers=_headers(b"{nope")) as response:
                assert response.status == 400
            async with http.post(url + "x", data=body, headers=_headers(body)) as response:
                assert response.status == 404
        [item] = daemon.store.queue()
        assert item.mention.kind == "survey" and item.mention.platform == "webhook"
        assert any(e["event"] == "webhook_refused" for e in daemon.store.audit_log())
        assert SECRET not in json.dumps(daemon.store.audit_log())
    finally:
        await daemon.stop()
