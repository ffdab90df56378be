"""One composition root (repbot/app.py): every path builds the same components."""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from repbot import app, cli
from repbot.classify import SentenceEmbedder
from repbot.config import Config, parse_config
from repbot.daemon import Daemon
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier

REPBOT = Path(__file__).parent.parent / "repbot"
QUERY = "Someone used my card and I didn't authorise it, is my money safe?"


def _config(tmp_path: Path, name: str = "repbot.db") -> Config:
    return parse_config(
        f"""
brand: {{name: Orbit}}
store: {{path: {tmp_path / name}}}
sources:
  - {{name: demo, type: demo, interval: 1, sandbox_dir: {tmp_path / "box"}}}
server: {{port: 0}}
"""
    )


async def test_poll_process_and_the_daemon_draft_with_the_same_responder(tmp_path: Path) -> None:
    """Before: ``repbot poll --process`` drafted without the daemon's sentence encoder."""
    config = _config(tmp_path)
    assert config.classifier.model == "embedded"
    daemon = Daemon(config, classifier=KeywordClassifier())
    await daemon.initialise()
    try:
        assert daemon.responder is not None
        store = SqliteStore(tmp_path / "poll.db")
        try:
            pipeline = await cli._process(config, store, classifier=KeywordClassifier())
        finally:
            store.close()
        served, polled = daemon.responder, pipeline.responder
        assert isinstance(served.embedder, SentenceEmbedder)
        assert polled.embedder is served.embedder and polled.cfg == served.cfg
        assert polled.knowledge.semantic and served.knowledge.semantic
        found = [[h.snippet.id for h in r.knowledge.search(QUERY)] for r in (served, polled)]
        assert found[0] == found[1] and found[0]
    finally:
        await daemon.stop()


async def test_every_route_is_assembled_in_one_application(tmp_path: Path) -> None:
    daemon = Daemon(_config(tmp_path), classifier=KeywordClassifier())
    await daemon.initialise()
    try:
        assert daemon.app is not None
        paths = {r.resource.canonical for r in daemon.app.router.routes() if r.resource}
    finally:
        await daemon.stop()
    assert {"/healthz", "/metrics", "/webhooks/{source_name}", "/"} <= paths


class _BrokenEncoder:
    """An encoder that fails on first use: start-up must fail and release what it opened."""

    model_id = "broken:1"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("encoder exploded")


def _open_files(path: Path) -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
async def test_a_failed_build_closes_the_store_it_opened(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with pytest.raises(RuntimeError, match="encoder exploded"):
        await app.build(config, classifier=KeywordClassifier(), embedder=_BrokenEncoder())  # type: ignore[arg-type]
    assert (tmp_path / "repbot.db").exists() and _open_files(tmp_path / "repbot.db") == 0
    built = await app.build(config, classifier=KeywordClassifier(), embedder=None)
    assert _open_files(tmp_path / "repbot.db") >= 1 and set(built.runners) == {"demo"}
    await built.aclose()
    assert _open_files(tmp_path / "repbot.db") == 0


def _broad(handler: ast.ExceptHandler) -> bool:
    return handler.type is None or ast.unparse(handler.type) in ("Exception", "BaseException")


def _silent(body: list[ast.stmt]) -> bool:
    return all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in body
    )


def _suppresses_everything(call: ast.Call) -> bool:
    names = {ast.unparse(a) for a in call.args}
    return ast.unparse(call.func).endswith("suppress") and bool(
        names & {"Exception", "BaseException"}
    )


def test_no_exception_is_swallowed_without_a_trace() -> None:
    """No ``suppress(Exception)`` and no broad ``except`` whose body does nothing."""
    found = []
    for path in sorted(REPBOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(REPBOT.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and _suppresses_everything(node):
                found.append(where)
            if isinstance(node, ast.ExceptHandler) and _broad(node) and _silent(node.body):
                found.append(where)
    assert found == []
