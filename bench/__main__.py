"""Run every benchmark and write bench/RESULTS.md: ``python -m bench [--quick] [NAME ...]``."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"torch {torch.__version__}, {platform.system()} {platform.release()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="e.g. pipeline classify (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    parser.add_argument(
        "--out", help="file to write (default: bench/RESULTS.md for a full run, else stdout)"
    )
    args = parser.parse_args()
    names = args.names or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    sections = []
    for name in names:
        started = time.perf_counter()
        print(f"running bench_{name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        sections.append(module.run(quick=args.quick).rstrip())
        print(f"  done in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    header = (
        "# Benchmark results\n\n"
        f"Regenerate with `make bench` (or `.venv/bin/python -m bench`). Generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}"
        f"{' (quick mode)' if args.quick else ''}.\n"
        "Timings on shared machines are noisy: compare the ratios against the baselines "
        "measured in the same run, not absolute figures across runs.\n"
    )
    text = header + "\n" + "\n\n".join(sections) + "\n"
    out = args.out or (None if args.names else str(HERE / "RESULTS.md"))
    if out is None:
        print(text)
        return 0
    Path(out).write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
