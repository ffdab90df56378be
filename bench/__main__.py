"""Run every benchmark and write bench/RESULTS.md: ``python -m bench [--quick] [NAME ...]``.

``--update`` re-measures only the named benchmarks and replaces their sections in RESULTS.md,
keeping the others; each section carries the time and load average it was measured at.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
_SECTION = re.compile(r"<!-- bench:(\w+) -->\n.*?<!-- /bench:\1 -->", re.S)


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


def _header(quick: bool) -> str:
    return (
        "# Benchmark results\n\n"
        f"Regenerate with `make bench` (or `.venv/bin/python -m bench`); one section with "
        f"`python -m bench NAME --update`. Machine: {_machine()}"
        f"{' (quick mode)' if quick else ''}.\n"
        "Timings on shared machines are noisy: compare the ratios against the baselines "
        "measured in the same run, not absolute figures across runs.\n"
    )


def _measure(name: str, quick: bool) -> str:
    started = time.perf_counter()
    print(f"running bench_{name} ...", file=sys.stderr, flush=True)
    module = importlib.import_module(f"bench.bench_{name}")
    body = module.run(quick=quick).rstrip()
    load = os.getloadavg()
    stamp = (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in "
        f"{time.perf_counter() - started:.0f} s; load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
        f"{'; quick mode' if quick else ''}._"
    )
    print(f"  done in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return f"<!-- bench:{name} -->\n{body}\n\n{stamp}\n<!-- /bench:{name} -->"


def _merge(existing: str, sections: dict[str, str], quick: bool) -> str:
    """``existing`` RESULTS.md with the named sections replaced (or appended)."""
    found = {m.group(1): m.group(0) for m in _SECTION.finditer(existing)}
    found.update(sections)
    return _header(quick) + "\n" + "\n\n".join(found[k] for k in sorted(found)) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="e.g. pipeline classify (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    parser.add_argument(
        "--update", action="store_true", help="replace only these sections in RESULTS.md"
    )
    parser.add_argument(
        "--out", help="file to write (default: bench/RESULTS.md for a full run, else stdout)"
    )
    args = parser.parse_args()
    names = args.names or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    sections = {name: _measure(name, args.quick) for name in names}
    if args.update:
        existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        text = _merge(existing, sections, args.quick)
        out: str | None = args.out or str(RESULTS)
    else:
        text = _merge("", sections, args.quick)
        out = args.out or (None if args.names else str(RESULTS))
    if out is None:
        print(text)
        return 0
    Path(out).write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
