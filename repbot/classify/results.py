"""Light-weight result types shared by the classifier, intent rules and urgency (no torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class SentimentResult:
    """One text's label (negative | neutral | positive) and the probability of each label."""

    label: str
    probs: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Classifier(Protocol):
    """Anything that labels a batch of texts (sync; the pipeline calls it in a thread)."""

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Return one result per text, in order."""
        ...


__all__ = ["LABELS", "Classifier", "SentimentResult"]
