"""Process settings that keep a long-lived daemon's memory flat and its threads polite.

Measured on the daemon (bench/RESULTS.md, "The daemon under load"): with glibc's defaults the
classifier's freed activations stay in per-thread arenas and RSS climbs by hundreds of MB over a
busy day without a leak; and OpenMP's busy-waiting worker threads compete with the event loop
for the two cores a small server has. The arenas are capped here and the inference code trims
the heap after each batch (``repbot.classify.text.trim_heap``); a low ``M_MMAP_THRESHOLD``
kept RSS as flat but cost about 30 % more CPU per classified text (page faults on every
activation). These are applied once, before torch is imported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8
ARENA_MAX = 2
"""At most this many malloc arenas, however many worker threads allocate."""
_THREAD_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}


def tune_process() -> list[str]:
    """Apply the allocator and threading settings; returns what was applied (for the log).

    Environment variables an operator already set win; on a C library without ``mallopt``
    (musl, macOS) the allocator part is skipped.
    """
    applied = [f"{k}={v}" for k, v in _THREAD_ENV.items() if os.environ.setdefault(k, v) == v]
    applied += _tune_malloc()
    return applied


def _tune_malloc() -> list[str]:
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_ARENA_MAX" in os.environ:
        return []
    name = ctypes.util.find_library("c")
    if name is None:
        return []
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return []
    return [f"arena_max={ARENA_MAX}"] if mallopt(_M_ARENA_MAX, ARENA_MAX) else []
