"""Readers for labelled files: ``text<TAB>label`` or SemEval ``id<TAB>label<TAB>text``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

VALID_LABELS = frozenset({"negative", "neutral", "positive"})


def parse_line(line: str) -> tuple[str, str] | None:
    """Return ``(text, label)`` for one line, or ``None`` for blank or unlabelled lines."""
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) >= 3 and parts[1].strip().lower() in VALID_LABELS:
        return "\t".join(parts[2:]), parts[1].strip().lower()
    if len(parts) >= 2 and parts[-1].strip().lower() in VALID_LABELS:
        return "\t".join(parts[:-1]), parts[-1].strip().lower()
    return None


def read_labelled(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(text, label)`` pairs from ``path``, skipping lines that carry no label."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parsed = parse_line(line)
            if parsed is not None:
                yield parsed
