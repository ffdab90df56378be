"""Process settings for a flat RSS and polite threads: applied once, operator's env wins."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

_PROBE = (
    "import json, os; from repbot.memory import tune_process; "
    "print(json.dumps([tune_process(), os.environ.get('OMP_WAIT_POLICY')]))"
)


def _probe(**env: str) -> tuple[list[str], str | None]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "KMP_", "MALLOC_"))}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    applied, policy = json.loads(out)
    return applied, policy


def test_threads_wait_passively_by_default() -> None:
    applied, policy = _probe()
    assert policy == "PASSIVE"
    assert "OMP_WAIT_POLICY=PASSIVE" in applied


@pytest.mark.skipif(platform.system() != "Linux", reason="glibc mallopt")
def test_allocator_returns_large_blocks_and_caps_arenas_on_glibc() -> None:
    applied, _ = _probe()
    assert not any(a.startswith("mmap") for a in applied)
    assert "arena_max=2" in applied


def test_an_operators_settings_win() -> None:
    applied, policy = _probe(OMP_WAIT_POLICY="ACTIVE", MALLOC_ARENA_MAX="8")
    assert policy == "ACTIVE"
    assert not any(a.startswith(("OMP_WAIT_POLICY", "mmap", "arena")) for a in applied)
