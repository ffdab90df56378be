"""Readers for labelled files: ``text<TAB>label`` or SemEval ``id<TAB>label<TAB>text``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def read_split(path: Path, split: str) -> list[tuple[str, str]]:
    """``(text, label)`` rows of ``split`` from a file of ``[lang<TAB>]split<TAB>label<TAB>text``
    lines (``#`` starts a comment line), as the project's own evaluation sets are kept."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        *_, row_split, label, text = line.split("\t")
        if row_split == split:
            rows.append((text, label))
    return rows


def read_twcs_split(labels: Path, tweets_csv: Path, split: str) -> list[tuple[str, str]]:
    """``(text, label)`` rows of ``split``: ids and labels from ``labels``
    (``tweet_id<TAB>split<TAB>label``), texts from the Customer Support on Twitter CSV."""
    import csv

    with tweets_csv.open(encoding="utf-8", newline="") as handle:
        texts = {row["tweet_id"]: row["text"] for row in csv.DictReader(handle)}
    rows = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        tweet_id, row_split, label = line.split("\t")
        if row_split == split:
            rows.append((texts[tweet_id], label))
    return rows


def write_labelled(rows: Iterable[tuple[str, str]], path: Path) -> Path:
    """Write ``text<TAB>label`` lines (what ``repbot eval --data`` reads) to ``path``."""
    path.write_text("".join(f"{' '.join(text.split())}\t{label}\n" for text, label in rows))
    return path
