"""The process: port errors, signals, shutdown without waiting for inference, clean logs,
event-driven wake-ups and roll-back of a failed start (issue 10 "The process", issue 11 wake-ups).

The subprocess tests run the real ``repbot run`` (or ``repbot.cli.serve``, the same code with a
fake classifier) and only use generous hang guards, never timing thresholds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from pathlib import Path

import pytest

from repbot import workflow
from repbot.config import parse_config
from repbot.daemon import Daemon
from repbot.errors import ModelError
from repbot.executor import DaemonThreadExecutor
from repbot.models import State
from repbot.respond import Responder
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, wait_until

REPBOT = str(Path(sys.executable).with_name("repbot"))
LOG_LINE = re.compile(r'^ts=\S+ level=[A-Z]+ logger=\S+ msg=".*"')
HANG_GUARD = 180.0


def _record(n: int) -> str:
    return json.dumps(
        {
            "external_id": f"r{n}",
            "platform": "trustpilot",
            "rating": 1,
            "text": f"Order {n} never arrived and support never replied, I want a refund",
            "author": {"handle": f"user{n}"},
            "created_at": "2026-11-01T10:00:00Z",
        }
    )


def _write_config(tmp_path: Path, port: int, *, records: int = 3, extra: str = "") -> Path:
    (tmp_path / "in.jsonl").write_text("".join(_record(i) + "\n" for i in range(records)))
    config = tmp_path / "repbot.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        store: {{path: ./repbot.db}}
        sources:
          - {{name: exports, type: file, interval: 1, path: ./in.jsonl, sandbox_dir: ./box}}
        server: {{host: 127.0.0.1, port: {port}}}
        """)
        + extra
    )
    return config


def _mentions(db: Path) -> int:
    if not db.exists():
        return 0
    store = SqliteStore(db)
    try:
        return sum(store.counts().values())
    finally:
        store.close()


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_port_in_use_fails_before_anything_runs(tmp_path: Path, busy_port: int) -> None:
    config = _write_config(tmp_path, busy_port)
    done = subprocess.run(
        [REPBOT, "run", "-c", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        f"error: cannot listen on 127.0.0.1:{busy_port}: address already in use "
        "(server.host / server.port)"
    ]
    assert "Traceback" not in done.stderr + done.stdout
    assert _mentions(tmp_path / "repbot.db") == 0  # no source was polled


SLOW_DAEMON = """
import sys, threading
from pathlib import Path
from repbot.cli import serve
from repbot.config import load_config

class Stuck:
    '''A classifier whose inference never finishes while the test runs.'''
    def classify(self, texts):
        Path("inference-started").touch()
        threading.Event().wait(900)
        raise RuntimeError("unreachable")

sys.exit(serve(load_config(sys.argv[1]), classifier=Stuck()))
"""


def _wait_for(predicate: object, what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():  # type: ignore[operator]
        assert process.poll() is None, f"daemon exited while waiting for {what}"
        assert time.monotonic() < deadline, f"hang guard: no {what}"
        time.sleep(0.2)


def test_sighup_keeps_running_and_sigterm_does_not_wait_for_inference(tmp_path: Path) -> None:
    log_file = tmp_path / "repbot.log"
    config = _write_config(tmp_path, 0, extra=f"logging: {{file: {log_file}}}\n")
    stderr = (tmp_path / "stderr.txt").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_DAEMON, str(config)], cwd=tmp_path, stderr=stderr, text=True
    )
    try:
        _wait_for((tmp_path / "inference-started").exists, "inference", process)
        _wait_for(lambda: "serving http" in log_file.read_text(), "server", process)
        port = int(re.findall(r"serving http://127\.0\.0\.1:(\d+)/", log_file.read_text())[0])

        process.send_signal(signal.SIGHUP)
        _wait_for(lambda: "SIGHUP received" in log_file.read_text(), "SIGHUP line", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
            assert json.load(answer)["status"] == "ok"
        assert process.poll() is None

        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)  # hang guard: the stuck inference would hold it forever
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0
    lines = log_file.read_text().splitlines()
    assert any('msg="stopped"' in line for line in lines)
    assert all(LOG_LINE.match(line) for line in lines), lines
    assert _mentions(tmp_path / "repbot.db") == 3  # nothing lost: the items wait in "new"
    stderr.close()
    printed = (tmp_path / "stderr.txt").read_text()  # the sentence encoder was loaded for real
    assert "Loading weights" not in printed and "%|" not in printed, printed


LOADING_FOREVER = """
import sys, threading
from pathlib import Path
import repbot.app
from repbot.cli import serve
from repbot.config import load_config

def load_forever(config):
    Path("loading-started").touch()
    threading.Event().wait(900)

repbot.app.load_classifier = load_forever
sys.exit(serve(load_config(sys.argv[1])))
"""


def test_sigterm_during_start_up_stops_at_once(tmp_path: Path) -> None:
    log_file = tmp_path / "repbot.log"
    config = _write_config(tmp_path, 0, extra=f"logging: {{file: {log_file}}}\n")
    process = subprocess.Popen([sys.executable, "-c", LOADING_FOREVER, str(config)], cwd=tmp_path)
    try:
        _wait_for((tmp_path / "loading-started").exists, "model loading", process)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)  # hang guard: the model load never finishes
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0
    said = log_file.read_text()
    assert "stopped during start-up" in said and "start-up aborted" in said
    assert _mentions(tmp_path / "repbot.db") == 0  # nothing was polled


@pytest.mark.slow
def test_real_model_logs_only_repbot_lines_and_stops_cleanly(tmp_path: Path) -> None:
    config = _write_config(tmp_path, 0)
    process = subprocess.Popen(
        [REPBOT, "run", "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=_collect, args=(process.stderr, lines), daemon=True)
    reader.start()
    try:
        _wait_for(lambda: any('msg="started' in line for line in lines), "start", process)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        reader.join(timeout=30)
        stdout = process.stdout.read() if process.stdout else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0
    text = "".join(lines) + stdout
    assert "Loading weights" not in text and "%|" not in text and "█" not in text
    printed = [line.rstrip("\n") for line in lines if line.strip()]
    assert printed and all(LOG_LINE.match(line) for line in printed), printed
    assert any('msg="stopped"' in line for line in printed)


def _collect(stream: Sequence[str] | None, into: list[str]) -> None:
    for line in stream or []:
        into.append(line)


def _daemon_config(tmp_path: Path, *, tick: float, port: int = 0) -> str:
    (tmp_path / "in.jsonl").touch()
    return f"""
store: {{path: {tmp_path / "repbot.db"}}}
sources:
  - {{name: exports, type: file, interval: 1, path: {tmp_path / "in.jsonl"},
     sandbox_dir: {tmp_path / "box"}}}
server: {{port: {port}}}
pipeline: {{tick: {tick}}}
"""


def _fake_daemon(text: str) -> Daemon:
    """Keyword classifier and a responder without the sentence encoder: no model work."""
    config = parse_config(text)
    responder = Responder(config.responder, config.brand)
    return Daemon(config, classifier=KeywordClassifier(), responder=responder)


async def test_ingest_wakes_the_pipeline_not_its_tick(tmp_path: Path) -> None:
    daemon = _fake_daemon(_daemon_config(tmp_path, tick=3600))
    await daemon.initialise()
    await daemon.start()
    store = daemon.store
    assert store is not None
    try:
        await wait_until(lambda: any(s.last_success for s in store.source_status()), timeout=30)
        await asyncio.sleep(0.2)  # the pipeline's first pass found nothing and went idle
        with (tmp_path / "in.jsonl").open("a") as out:
            out.write(_record(1) + "\n")
        # Hang guard far below the hour-long tick: only the wake-up can get it drafted.
        await wait_until(lambda: store.counts().get("awaiting_approval", 0) == 1, timeout=20)
    finally:
        await daemon.stop()


async def test_a_new_draft_and_a_decision_wake_slack_delivery(tmp_path: Path) -> None:
    daemon = _fake_daemon(_daemon_config(tmp_path, tick=3600))
    await daemon.initialise()
    passes: list[int] = []

    async def slack_pass() -> int:
        passes.append(len(passes))
        return 0

    daemon._spawn("slack-probe", slack_pass, idle=3600, wake=daemon._slack_wake)
    await daemon.start()
    store = daemon.store
    assert store is not None
    try:
        await wait_until(lambda: len(passes) == 1, timeout=20)
        with (tmp_path / "in.jsonl").open("a") as out:
            out.write(_record(1) + "\n")
        await wait_until(lambda: store.counts().get("awaiting_approval", 0) == 1, timeout=20)
        await wait_until(lambda: len(passes) >= 2, timeout=20)
        seen = len(passes)
        [item] = store.queue(states=[State.AWAITING_APPROVAL])
        workflow.decide(store, item.id, "approve", "tester", text=item.draft)
        daemon._decided(item.id)
        await wait_until(lambda: len(passes) > seen, timeout=20)
    finally:
        await daemon.stop()


async def test_failed_initialise_releases_store_and_port(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = _daemon_config(tmp_path, tick=1, port=port)
    config = parse_config(text + f"classifier: {{model: {tmp_path / 'no-such-model'}}}\n")
    daemon = Daemon(config)
    with caplog.at_level(logging.INFO), pytest.raises(ModelError):
        await daemon.initialise()
    assert daemon.store is None
    assert "start-up aborted" in caplog.text
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # the port was released


async def test_failed_start_stops_what_it_started(tmp_path: Path) -> None:
    daemon = _fake_daemon(_daemon_config(tmp_path, tick=1))
    await daemon.initialise()

    async def broken() -> int:
        raise OSError("platform unreachable")

    daemon.poster.reconcile = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="unreachable"):
        await daemon.start()
    assert daemon.store is None and daemon.connectors == {}
    assert all(task.done() for task in daemon._tasks)
    with socket.socket() as again:
        again.bind(("127.0.0.1", daemon.server.port))


def test_executor_shutdown_does_not_wait_for_a_running_call() -> None:
    executor = DaemonThreadExecutor(max_workers=1)
    release, started = threading.Event(), threading.Event()

    def stuck() -> str:
        started.set()
        release.wait(60)
        return "late"

    running = executor.submit(stuck)
    queued = executor.submit(lambda: "never")
    assert started.wait(30)
    executor.shutdown(wait=True)  # returns although ``stuck`` is still running
    assert executor.busy() == 1 and not running.done()
    with pytest.raises(CancelledError):
        queued.result(timeout=30)
    with pytest.raises(RuntimeError):
        executor.submit(lambda: None)
    release.set()
    assert running.result(timeout=30) == "late"


def test_executor_runs_calls_and_reports_errors() -> None:
    executor = DaemonThreadExecutor(max_workers=2)

    def fail() -> None:
        raise ValueError("boom")

    assert [executor.submit(pow, 2, n).result(timeout=30) for n in range(4)] == [1, 2, 4, 8]
    with pytest.raises(ValueError, match="boom"):
        executor.submit(fail).result(timeout=30)
    assert all(t.daemon for t in executor._workers) and len(executor._workers) <= 2
    executor.shutdown()


def test_transformers_progress_bars_are_off_and_its_records_use_our_handlers() -> None:
    from transformers.utils import logging as hf_logging

    from repbot.classify.model import base_model_dir, load_tokenizer

    load_tokenizer(base_model_dir())  # every path into transformers configures it first

    assert not hf_logging.is_progress_bar_enabled()
    library = logging.getLogger("transformers")
    # its own stderr handler is gone (what pytest's capture attaches is not transformers')
    assert library.propagate and hf_logging._default_handler not in library.handlers
