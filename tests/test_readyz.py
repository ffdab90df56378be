"""/healthz (liveness) and /readyz (readiness: store writable, model loaded, sources)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.runner import FAILING_AFTER
from repbot.server import build_app, readiness
from repbot.store import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


async def _get(app: web.Application, path: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url(path)) as response:
            return response.status, await response.json()
    finally:
        await server.close()


def _fail(store: SqliteStore, source: str, times: int = FAILING_AFTER) -> None:
    for _ in range(times):
        store.record_source_result(source, "TransientError: 503")


async def test_ready_when_store_model_and_a_source_are_fine(store: SqliteStore) -> None:
    _fail(store, "x")
    store.record_source_result("y")
    status, body = await _get(build_app(store, sources=lambda: ["x", "y"]), "/readyz")
    assert status == 200 and body["ready"] is True
    assert set(body["checks"]) == {"store", "model", "sources"}
    assert body["checks"]["sources"]["failing"] == ["x"]


async def test_not_ready_when_every_source_fails(store: SqliteStore) -> None:
    _fail(store, "x")
    _fail(store, "y")
    status, body = await _get(build_app(store, sources=lambda: ["x", "y"]), "/readyz")
    assert status == 503 and body["ready"] is False
    assert body["checks"]["sources"]["ok"] is False and body["checks"]["store"]["ok"] is True


async def test_not_ready_without_a_model_but_still_alive(store: SqliteStore) -> None:
    app = build_app(store, model_loaded=lambda: False)
    status, body = await _get(app, "/readyz")
    assert status == 503 and body["checks"]["model"] == {"ok": False, "detail": "not loaded"}
    status, _ = await _get(build_app(store, model_loaded=lambda: False), "/healthz")
    assert status == 200


def test_not_ready_while_another_writer_holds_the_store(tmp_path: Path, store: SqliteStore) -> None:
    other = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        body = readiness(store, model_loaded=True)
        assert body["ready"] is False and body["checks"]["store"]["ok"] is False
        assert "not writable" in body["checks"]["store"]["detail"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert readiness(store, model_loaded=True)["ready"] is True
    assert store.conn.execute("SELECT count(*) FROM kv WHERE key = 'readyz'").fetchone()[0] == 0


def test_no_sources_is_ready_and_a_closed_store_is_not(store: SqliteStore) -> None:
    assert readiness(store, model_loaded=True, sources=[])["ready"] is True
    store.close()
    body = readiness(store, model_loaded=True, sources=[])
    assert body["ready"] is False and body["checks"]["store"]["ok"] is False
