"""Learning from approvers: relabels, labelled reject reasons, agreement and training data.

A relabel ("this is praise", "spam", "not about us") or a reject reason that names a label is
stored as a :class:`~repbot.store.feedback.FeedbackLabel`. ``repbot eval --feedback`` measures
how often the current intent model agrees with the humans' latest label per mention, and
``repbot train --intent --feedback`` adds those labels to the training examples.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from repbot.classify.intent import INTENTS, detect_intent
from repbot.classify.results import SentimentResult
from repbot.models import Mention
from repbot.store.feedback import FeedbackLabel

RELABELS: dict[str, str] = {
    "complaint": "this is a complaint",
    "question": "this is a question",
    "praise": "this is praise",
    "spam": "spam",
    "irrelevant": "not about us",
    "press": "press enquiry",
    "legal": "legal threat",
    "security": "security problem",
    "other": "something else",
}
"""Label -> the words the surfaces show for a one-click relabel."""
_PHRASES = {v: k for k, v in RELABELS.items()} | {
    "not about us": "irrelevant",
    "not relevant": "irrelevant",
    "irrelevant": "irrelevant",
    "spam": "spam",
    "bot": "spam",
    "praise": "praise",
}
_THIS_IS = re.compile(r"^(?:this is|it'?s|its)\s+(?:an?\s+)?(\w+)$")
PAGE = 500


class LabelSource(Protocol):
    """Where labels are read from (the store)."""

    def feedback_labels(self, after_id: int = 0, limit: int = 500) -> list[FeedbackLabel]:
        """Labels after ``after_id``, oldest first."""
        ...


class IntentProbs(Protocol):
    """The intent model's probabilities per text."""

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One distribution per text."""
        ...


def label_from_reason(reason: str | None) -> str | None:
    """The intent a reject reason names ("spam", "not about us", "this is praise"), or None."""
    if not reason:
        return None
    words = " ".join(reason.lower().replace("\u2019", "'").strip(" .!").split())
    if words in _PHRASES:
        return _PHRASES[words]
    match = _THIS_IS.match(words)
    if match and match.group(1) in INTENTS:
        return match.group(1)
    return None


def latest_labels(source: LabelSource) -> list[FeedbackLabel]:
    """Each labelled mention's latest label, in the order of those labels (paged by id)."""
    latest: dict[int, FeedbackLabel] = {}
    for label in _pages(source):
        latest.pop(label.mention_id, None)
        latest[label.mention_id] = label
    return list(latest.values())


def _pages(source: LabelSource) -> Iterator[FeedbackLabel]:
    after = 0
    while True:
        page = source.feedback_labels(after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id


def current_intents(
    labels: Sequence[FeedbackLabel],
    model: IntentProbs | None,
    sentiments: Sequence[SentimentResult] | None = None,
) -> list[str]:
    """What the current intent model and rules say of each labelled text (``sentiments``
    from the configured classifier; neutral when not given)."""
    neutral = SentimentResult("neutral", {"negative": 0.0, "neutral": 1.0, "positive": 0.0})
    moods = sentiments or [neutral] * len(labels)
    probs: Sequence[Mapping[str, float] | None] = (
        model.predict([f.text for f in labels]) if model is not None else [None] * len(labels)
    )
    now = datetime.now(UTC)
    return [
        detect_intent(
            Mention(platform="feedback", external_id=str(f.id), text=f.text, created_at=now),
            mood,
            model=p,
        ).intent
        for f, p, mood in zip(labels, probs, moods, strict=True)
    ]


def agreement_report(labels: Sequence[FeedbackLabel], predicted: Sequence[str]) -> dict[str, Any]:
    """Agreement of ``predicted`` (the current model) and of the classifier at the time
    (``previous``) with the humans' labels, overall and per label, plus the confusion."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for f, p in zip(labels, predicted, strict=True):
        per[f.label].update(n=1, agreed=int(p == f.label), before=int(f.previous == f.label))
        confusion[f.label][p] += 1
    n = len(labels)
    return {
        "n": n,
        "agreement": round(sum(c["agreed"] for c in per.values()) / n, 4) if n else None,
        "agreement_before": round(sum(c["before"] for c in per.values()) / n, 4) if n else None,
        "per_label": {
            label: {
                "n": c["n"],
                "agreement": round(c["agreed"] / c["n"], 4),
                "agreement_before": round(c["before"] / c["n"], 4),
            }
            for label, c in sorted(per.items())
        },
        "confusion": {k: dict(v) for k, v in sorted(confusion.items())},
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a small table."""
    if not report["n"]:
        return "no feedback labels yet (relabel items in Slack or the console)"
    lines = [
        f"feedback labels: {report['n']}  agreement now {report['agreement']:.3f}"
        f"  (when classified: {report['agreement_before']:.3f})",
        f"{'label':<12}{'n':>6}{'now':>8}{'before':>8}",
    ]
    for label, row in report["per_label"].items():
        lines.append(
            f"{label:<12}{row['n']:>6}{row['agreement']:>8.3f}{row['agreement_before']:>8.3f}"
        )
    return "\n".join(lines)
