"""Start-up and idle memory: what a process pays for the connectors it does not run (issue 15).

Every figure is a fresh subprocess, measured in the same run as its baseline:

- **imports**: wall time and peak RSS of ``python -c pass`` (the baseline), of loading the
  platform registry (every connector class), of parsing config.example.yaml (what
  ``repbot check`` pays before its checks) and of ``import repbot.app``; the registry case
  also lists the client libraries (atproto, Mastodon.py, praw, tweepy, googleapiclient,
  feedparser, PyJWT) it left loaded, the config case the model stack (torch, transformers,
  scipy, sympy) it loaded.
- **daemon**: ``repbot run`` on config.example.yaml (the demo source; its own store, port and
  log, and the whole sample in one poll): seconds from spawn to the first stored draft, and
  VmRSS once everything is drafted. The *eager* row runs the same daemon after importing every
  connector's client library first, which is what each process did before connectors loaded
  their library only when a source of theirs is built.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD = 600.0
TARGET_MB = 600
CLIENT_LIBRARIES = (
    "atproto",
    "mastodon",
    "praw",
    "tweepy",
    "googleapiclient.discovery",
    "google_auth_httplib2",
    "google.oauth2.service_account",
    "feedparser",
    "jwt",
)
REGISTRY = (
    "import json, sys\nfrom repbot import platforms\nplatforms.platforms()\n"
    f"print(json.dumps(sorted(m for m in {CLIENT_LIBRARIES!r} if m in sys.modules)))"
)
EAGER = "".join(f"import {m}\n" for m in CLIENT_LIBRARIES)
MODEL_STACK = ("torch", "transformers", "scipy", "sympy")
CONFIG = (
    "import json, sys\nfrom repbot.config import load_config\n"
    "load_config('config.example.yaml')\n"
    f"print(json.dumps(sorted(m for m in {MODEL_STACK!r} if m in sys.modules)))"
)


@dataclass
class Run:
    """One subprocess: wall seconds, peak RSS (MB) and what it printed."""

    seconds: float
    peak_mb: float
    out: str


def _python(code: str) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} exited {proc.returncode}")
    return Run(time.perf_counter() - started, usage.ru_maxrss / 1024, out.strip())


def _median(code: str, repeats: int) -> Run:
    runs = [_python(code) for _ in range(repeats)]
    runs.sort(key=lambda r: r.seconds)
    return runs[len(runs) // 2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo_config(root: Path) -> Path:
    config: dict[str, Any] = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    config["store"]["path"] = str(root / "repbot.db")
    config["server"]["port"] = _free_port()
    config["logging"]["file"] = str(root / "daemon.log")
    for source in config["sources"]:
        source["per_poll"] = 1_000
        source["sandbox_dir"] = str(root / "sandbox")
    path = root / "repbot.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return -1
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return -1


def _vm_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _daemon(eager: bool) -> tuple[float, float, int]:
    """(seconds to the first draft, idle VmRSS MB, drafts) of one ``repbot run``."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        root = Path(tmp)
        config, db = _demo_config(root), root / "repbot.db"
        prelude = EAGER if eager else ""
        code = f"{prelude}import sys\nfrom repbot.cli import main\nsys.exit(main())"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "run", "-c", str(config)],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=(root / "stderr.log").open("wb"),
        )
        try:
            first = _wait(proc, lambda: _count(db, "SELECT count(*) FROM drafts") > 0)
            first_draft = first - started
            pending = "SELECT count(*) FROM mentions WHERE state IN ('new', 'classified')"
            _wait(proc, lambda: _count(db, "SELECT count(*) FROM mentions") > 0)
            _wait(proc, lambda: _count(db, pending) == 0)
            time.sleep(3.0)
            samples = []
            for _ in range(5):
                samples.append(_vm_rss_mb(proc.pid))
                time.sleep(1.0)
            drafts = _count(db, "SELECT count(*) FROM drafts")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return first_draft, statistics.median(samples), drafts


def _wait(proc: subprocess.Popen[bytes], done: Callable[[], bool]) -> float:
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        if done():
            return time.perf_counter()
        if proc.poll() is not None:
            raise RuntimeError(f"repbot run exited with {proc.returncode}")
        time.sleep(0.1)
    raise TimeoutError("repbot run: hang guard reached")


def run(quick: bool = False) -> str:
    """Measure and return the Markdown section."""
    repeats = 1 if quick else 3
    base = _median("pass", repeats)
    registry = _median(REGISTRY, repeats)
    config = _median(CONFIG, repeats)
    app = _median("import repbot.app", repeats)
    eager_registry = _median(EAGER + REGISTRY, repeats)
    lazy = _daemon(eager=False)
    eager = _daemon(eager=True)
    loaded = ", ".join(json.loads(registry.out)) or "none"
    stack = ", ".join(json.loads(config.out)) or "none"
    idle = lazy[1]
    verdict = (
        f"met: {idle:.0f} MB, {TARGET_MB - idle:.0f} MB to spare"
        if idle < TARGET_MB
        else f"not met: {idle:.0f} MB"
    )
    lines = [
        "## Start-up and idle memory (`bench_startup`, issue 15)",
        "",
        "Fresh subprocesses; wall time and peak RSS (median of "
        f"{repeats}). The registry loads every installed connector class.",
        "",
        "| process | wall (s) | peak RSS (MB) |",
        "|---|---:|---:|",
        f"| `python -c pass` (baseline) | {base.seconds:.2f} | {base.peak_mb:.0f} |",
        f"| platform registry | {registry.seconds:.2f} | {registry.peak_mb:.0f} |",
        f"| registry after importing every client library (before) "
        f"| {eager_registry.seconds:.2f} | {eager_registry.peak_mb:.0f} |",
        f"| parse config.example.yaml (`repbot check`) | {config.seconds:.2f} "
        f"| {config.peak_mb:.0f} |",
        f"| `import repbot.app` | {app.seconds:.2f} | {app.peak_mb:.0f} |",
        "",
        f"Client libraries left loaded by the registry: {loaded}. Model stack "
        f"({', '.join(MODEL_STACK)}) loaded by parsing the config: {stack}.",
        "",
        "`repbot run` on config.example.yaml (demo source, whole sample in one poll):",
        "",
        "| daemon | first draft (s) | idle VmRSS (MB) | drafts |",
        "|---|---:|---:|---:|",
        f"| connectors load their library per source | {lazy[0]:.1f} | {lazy[1]:.0f} | {lazy[2]} |",
        f"| every client library imported first (before) | {eager[0]:.1f} | {eager[1]:.0f} "
        f"| {eager[2]} |",
        "",
        f"**Idle target {TARGET_MB} MB: {verdict}** (VmRSS once every mention is drafted). "
        "The daemon's MiniLM runs in plain torch (repbot/classify/minilm.py; transformers' "
        "modelling stack is never imported) and the classifier shares its embedding tables. "
        f"Saved by loading libraries per source: {eager[1] - lazy[1]:.0f} MB idle, "
        f"{eager[0] - lazy[0]:.1f} s to the first draft.",
        "",
        "First draft = seconds from spawning `repbot run` to the first stored draft (config, "
        "imports, both models, knowledge embedded, first poll, classify, draft); it and every "
        "wall time scale with the machine's load (below).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
