"""Metrics for ``repbot eval``: macro recall, accuracy, per-class figures, confusion."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from repbot.classify.dataset import read_labelled
from repbot.classify.results import Classifier


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Scores of ``predicted`` against ``gold``.

    ``macro_recall`` averages recall over the labels present in ``gold``; a predicted label
    that never occurs in ``gold`` simply counts as a miss for the item.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    confusion: dict[str, dict[str, int]] = {}
    for g, p in zip(gold, predicted, strict=True):
        row = confusion.setdefault(g, {})
        row[p] = row.get(p, 0) + 1
    support = Counter(gold)
    predicted_counts = Counter(predicted)
    per_class: dict[str, dict[str, float | int]] = {}
    for label in sorted(set(gold) | set(predicted)):
        hits = confusion.get(label, {}).get(label, 0)
        per_class[label] = {
            "recall": hits / support[label] if support[label] else 0.0,
            "precision": hits / predicted_counts[label] if predicted_counts[label] else 0.0,
            "support": support[label],
        }
    present = sorted(support)
    macro = sum(float(per_class[label]["recall"]) for label in present) / max(len(present), 1)
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return {
        "n": len(gold),
        "macro_recall": round(macro, 4),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "per_class": {
            k: {m: round(v, 4) if isinstance(v, float) else v for m, v in row.items()}
            for k, row in per_class.items()
        },
        "confusion": {g: dict(sorted(row.items())) for g, row in sorted(confusion.items())},
    }


def evaluate(classifier: Classifier, path: Path, limit: int | None = None) -> dict[str, Any]:
    """Classify every labelled line of ``path`` and return ``metrics`` plus throughput."""
    rows = list(read_labelled(path))[:limit]
    started = time.perf_counter()
    results = classifier.classify([text for text, _ in rows])
    elapsed = time.perf_counter() - started
    report = metrics([label for _, label in rows], [r.label for r in results])
    report["texts_per_second"] = round(len(rows) / elapsed, 1) if elapsed > 0 else 0.0
    return report


def format_table(report: dict[str, Any]) -> str:
    """A readable plain-text rendering of an ``evaluate`` report."""
    lines = [
        f"n={report['n']}  macro_recall={report['macro_recall']:.4f}  "
        f"accuracy={report['accuracy']:.4f}  texts/s={report.get('texts_per_second', 0)}",
        "",
        f"{'label':<10} {'recall':>7} {'precision':>9} {'support':>7}",
    ]
    for label, row in report["per_class"].items():
        lines.append(
            f"{label:<10} {row['recall']:>7.3f} {row['precision']:>9.3f} {row['support']:>7}"
        )
    labels = sorted(report["per_class"])
    lines += [
        "",
        "confusion (rows gold, columns predicted)",
        " " * 10 + "".join(f"{p[:9]:>10}" for p in labels),
    ]
    for gold in labels:
        row = report["confusion"].get(gold, {})
        lines.append(f"{gold:<10}" + "".join(f"{row.get(p, 0):>10}" for p in labels))
    return "\n".join(lines)
