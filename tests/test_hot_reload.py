"""Hot reload on a running daemon: applied (sources added, removed, rescheduled; urgency and
pipeline settings; the responder rebuilt, the model kept) and refused (old config kept, a
``config_invalid`` alert naming every problem with its line); the file watcher and SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from repbot.config import load_config
from repbot.daemon import Daemon
from repbot.reload import ConfigWatcher
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, wait_until

HANG_GUARD = 120.0


def _write(
    path: Path,
    *,
    second: bool = False,
    interval: int = 1,
    extra: str = "",
    pipeline: str = "{tick: 0.05, post_retry_base: 0.1}",
    server: str = "{enabled: false}",
) -> None:
    box = path.parent
    sources = (
        f"  - {{name: demo, type: demo, interval: {interval}, per_poll: 5,"
        f" sandbox_dir: {box / 'a'}}}\n"
    )
    if second:
        sources += (
            f"  - {{name: more, type: demo, interval: 1, per_poll: 5, sandbox_dir: {box / 'b'}}}\n"
        )
    path.write_text(
        f"brand: {{name: Orbit}}\n"
        "classifier: {model: injected-in-tests}\n"  # no sentence encoder: lexical retrieval
        f"store: {{path: {box / 'repbot.db'}}}\n"
        f"sources:\n{sources}"
        f"server: {server}\npipeline: {pipeline}\n" + extra
    )


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    config = tmp_path / "repbot.yaml"
    _write(config)
    d = Daemon(load_config(config), classifier=KeywordClassifier(), watch_config=False)
    await d.initialise()
    await d.start()
    try:
        yield d
    finally:
        await d.stop()


def _sources(store: SqliteStore) -> set[str]:
    return {s.source for s in store.source_status()}


async def test_reload_applies_sources_and_settings_and_keeps_the_model(
    daemon: Daemon, tmp_path: Path
) -> None:
    store, classifier, responder = daemon.store, daemon.pipeline.classifier, daemon.responder
    assert isinstance(store, SqliteStore)
    await wait_until(lambda: "demo" in _sources(store), HANG_GUARD)
    _write(
        tmp_path / "repbot.yaml",
        second=True,
        interval=7,
        extra="urgency: {negativity: 0.5}\n",
        pipeline="{tick: 0.05, batch_size: 8}",
    )
    plan = await daemon.reload("test")
    assert plan is not None
    assert (plan.added, plan.removed, plan.rescheduled) == (("more",), (), ("demo",))
    assert daemon.pipeline.classifier is classifier  # the model was not reloaded
    assert daemon.responder is not responder and daemon.pipeline.responder is daemon.responder
    assert daemon.pipeline.config.urgency.negativity == 0.5
    assert daemon.pipeline.config.pipeline.batch_size == 8
    assert {"poll:demo", "poll:more"} <= set(daemon.scheduler.next_runs())
    await wait_until(lambda: "more" in _sources(store), HANG_GUARD)  # the new source polls
    assert daemon.store is store and store.counts()  # the queue was kept

    _write(tmp_path / "repbot.yaml")
    plan = await daemon.reload("test")
    assert plan is not None and plan.removed == ("more",) and plan.rescheduled == ("demo",)
    assert "poll:more" not in daemon.scheduler.next_runs()
    assert set(daemon.connectors) == set(daemon.runners) == {"demo"}
    assert daemon.poster.connectors is daemon.connectors  # the poster sees the same sources


async def test_invalid_config_is_refused_with_every_problem_and_the_old_one_runs(
    daemon: Daemon, tmp_path: Path
) -> None:
    before = daemon.config
    _write(tmp_path / "repbot.yaml", second=True, pipeline="{batch_size: 0, nonsense: 1}")
    assert await daemon.reload("test") is None
    assert daemon.config is before and set(daemon.runners) == {"demo"}
    assert daemon.store is not None
    [alert] = [a for a in daemon.store.alerts() if a["kind"] == "config_invalid"]
    assert "batch_size (line" in alert["message"] and "nonsense (line" in alert["message"]
    assert "still running the previous config" in alert["message"]


async def test_restart_only_sections_keep_their_running_values(
    daemon: Daemon, tmp_path: Path
) -> None:
    _write(tmp_path / "repbot.yaml", server="{enabled: false, port: 9999}")
    plan = await daemon.reload("test")
    assert plan is not None and plan.needs_restart == ("server",)
    assert daemon.config.server.port != 9999


async def test_the_watcher_reloads_when_the_content_changes(tmp_path: Path) -> None:
    _write(tmp_path / "repbot.yaml")
    daemon = Daemon(load_config(tmp_path / "repbot.yaml"), classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    try:
        _write(tmp_path / "repbot.yaml", second=True)
        await wait_until(lambda: "more" in daemon.runners, HANG_GUARD)  # the scheduled watcher
    finally:
        await daemon.stop()


def test_watcher_ignores_a_touch_and_sees_a_change(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\n")
    watcher = ConfigWatcher(path)
    os.utime(path, ns=(1, 1))
    assert watcher.changed() is False  # same content, new mtime
    path.write_text("a: 2\n")
    os.utime(path, ns=(2, 2))
    assert watcher.changed() is True and watcher.changed() is False
    path.unlink()
    assert watcher.changed() is False


SIGHUP_DAEMON = """
import sys
from repbot.cli import serve
from repbot.config import load_config
from repbot.testing.fakes import KeywordClassifier
sys.exit(serve(load_config(sys.argv[1]), classifier=KeywordClassifier()))
"""


def _wait(predicate: object, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():  # type: ignore[operator]
        assert process.poll() is None, f"daemon exited while waiting for {what}"
        assert time.monotonic() < deadline, f"hang guard: no {what}"
        time.sleep(0.2)


def test_sighup_reloads_a_running_process(tmp_path: Path) -> None:
    config, log = tmp_path / "repbot.yaml", tmp_path / "repbot.log"
    logging_line = f"logging: {{file: {log}}}\n"
    _write(config, extra=logging_line)
    process = subprocess.Popen([sys.executable, "-c", SIGHUP_DAEMON, str(config)], cwd=tmp_path)
    try:
        _wait(lambda: log.exists() and "started sources=demo" in log.read_text(), "start", process)
        _write(config, second=True, extra=logging_line)
        process.send_signal(signal.SIGHUP)
        _wait(lambda: "config reloaded added=more" in log.read_text(), "reload", process)
        _write(config, extra=logging_line, pipeline="{batch_size: 0}")
        process.send_signal(signal.SIGHUP)
        _wait(lambda: "config reload refused" in log.read_text(), "refusal", process)
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0  # hang guard
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    store = SqliteStore(tmp_path / "repbot.db")
    try:
        assert {"demo", "more"} <= _sources(store)
        kinds = [a["kind"] for a in store.alerts()]
        assert kinds.count("config_invalid") == 1
    finally:
        store.close()


async def test_a_job_that_does_not_start_now_still_runs_after_one_interval() -> None:
    """Regression: ``start_now=False`` passed next_run_time=None, which APScheduler reads as
    paused, so such jobs (config watcher, rescore, SLA monitor) never ran."""
    from repbot.scheduler import Scheduler

    ran: list[int] = []

    async def job() -> None:
        ran.append(1)

    scheduler = Scheduler()
    scheduler.every("later", 0.2, job, start_now=False)
    scheduler.start()
    try:
        assert scheduler.next_runs()["later"] is not None
        await wait_until(lambda: bool(ran), HANG_GUARD)
    finally:
        await scheduler.shutdown(timeout=1)
