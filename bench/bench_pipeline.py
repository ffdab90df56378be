"""Import rate of the file source into the store, and the daemon's idle memory."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from repbot.connectors.file import FileConfig, FileConnector
from repbot.runner import SourceRunner
from repbot.store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            record = {
                "external_id": f"r{i}",
                "platform": "trustpilot",
                "rating": 1 + i % 5,
                "text": f"Order {i} arrived late and the box was damaged, support never replied.",
                "author": {"handle": f"user{i % 997}", "followers": i % 5000},
                "created_at": "2026-11-01T10:00:00Z",
            }
            out.write(json.dumps(record) + "\n")


async def _import(directory: Path, n: int) -> float:
    connector = FileConnector("bench", FileConfig.model_validate({"path": "in.jsonl"}))
    connector.base_dir = directory
    store = SqliteStore(directory / "repbot.db")
    started = time.perf_counter()
    result = await SourceRunner(store, connector).poll()
    elapsed = time.perf_counter() - started
    assert result.new == n, result
    store.close()
    return elapsed


def _baseline(directory: Path) -> float:
    """Raw sqlite3 executemany of the same lines as JSON blobs: the floor for any importer."""
    lines = (directory / "in.jsonl").read_text().splitlines()
    conn = sqlite3.connect(directory / "raw.db")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
    started = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO t VALUES (?, ?)", ((json.loads(x)["external_id"], x) for x in lines)
        )
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _idle_rss(directory: Path, settle: float) -> tuple[int, int, float]:
    config = directory / "repbot.yaml"
    config.write_text(
        "store: {path: ./d.db}\n"
        "sources:\n  - {name: demo, type: demo, interval: 1, per_poll: 50, sandbox_dir: ./box}\n"
        "server: {port: 0}\nlogging: {level: WARNING}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "repbot.cli", "run", "-c", str(config)],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            time.sleep(1)
            store = SqliteStore(directory / "d.db") if (directory / "d.db").exists() else None
            if store is not None:
                counts = store.counts()
                store.close()
                if counts and not counts.get("new") and not counts.get("classified"):
                    break
        time.sleep(settle)
        daemon = _rss_kib(process.pid)
    finally:
        stopping = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        stop_s = time.perf_counter() - stopping
    bare = subprocess.run(
        [
            sys.executable,
            "-c",
            "import torch, transformers, pathlib, re; "
            "print([l for l in pathlib.Path('/proc/self/status').read_text().splitlines() "
            "if l.startswith('VmRSS')][0].split()[1])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return daemon, int(bare.stdout.strip()), stop_s


def run(quick: bool = False) -> str:
    """The Markdown section for RESULTS.md."""
    n = 5_000 if quick else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        _write(directory / "in.jsonl", n)
        ours = asyncio.run(_import(directory, n))
        raw = _baseline(directory)
        daemon_kib, bare_kib, stop_s = _idle_rss(directory, settle=5 if quick else 15)
    return f"""### Foundation: import rate and idle memory (`bench/bench_pipeline.py`)

| measure | value |
|---|---|
| file source → store, {n:,} JSONL records (parse, validate, dedupe, \
one transaction per page) | {n / ours:,.0f} records/s ({ours:.2f} s) |
| baseline: raw `sqlite3.executemany` of the same lines as JSON blobs | {n / raw:,.0f} records/s |
| ours vs the raw floor | {ours / raw:.1f}× the raw floor's time \
(validation, dedupe, audit, cursor) |
| daemon idle RSS after the demo settled (embedded classifier + encoder loaded, \
server up) | {daemon_kib / 1024:,.0f} MiB |
| baseline: bare `python -c "import torch, transformers"` | {bare_kib / 1024:,.0f} MiB |
| SIGTERM → process exit (target ≤ 10 s) | {stop_s:.2f} s |

Command: `.venv/bin/python -m bench pipeline`."""
