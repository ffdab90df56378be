"""The ``new -> classified`` stage as a pure function: sentiment, language, intent, urgency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from repbot.classify.config import UrgencyConfig
from repbot.classify.intent import SKIP_INTENTS, BrandContext, detect_intent
from repbot.classify.language import detect_language
from repbot.classify.results import Classifier
from repbot.classify.urgency import score_urgency
from repbot.models import Mention


@dataclass(frozen=True)
class Analysis:
    """Everything the classifier stage stores for one mention (JSON-serialisable)."""

    label: str
    probs: dict[str, float]
    intent: str
    intent_reason: str
    language: str | None
    urgency: float
    explanation: list[tuple[str, float]] = field(default_factory=list)

    @property
    def skip(self) -> bool:
        """Spam and irrelevant mentions go to ``skipped`` with ``intent_reason``."""
        return self.intent in SKIP_INTENTS

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (explanation as ``[[factor, contribution], ...]``)."""
        data = asdict(self)
        data["explanation"] = [[name, value] for name, value in self.explanation]
        return data


def model_text(mention: Mention) -> str:
    """The text the sentiment model sees: a review's title and body, else the text."""
    if mention.title and mention.kind == "review":
        return f"{mention.title}. {mention.text}"
    return mention.text


def analyze(
    mentions: Sequence[Mention],
    classifier: Classifier,
    urgency_cfg: UrgencyConfig,
    brand: BrandContext | None,
    repeat_counts: Mapping[str, int] | None,
    now: datetime,
) -> list[Analysis]:
    """Classify ``mentions`` in one batch.

    ``repeat_counts`` maps a mention's external_id to its author's other contacts in 24 h.
    """
    if not mentions:
        return []
    sentiments = classifier.classify([model_text(m) for m in mentions])
    repeats = repeat_counts or {}
    results = []
    for mention, sentiment in zip(mentions, sentiments, strict=True):
        intent = detect_intent(mention, sentiment, brand)
        urgency = score_urgency(
            mention,
            sentiment,
            intent,
            urgency_cfg,
            repeat_contacts=repeats.get(mention.external_id, 0),
            now=now,
        )
        results.append(
            Analysis(
                label=sentiment.label,
                probs=dict(sentiment.probs),
                intent=intent.intent,
                intent_reason=intent.reason,
                language=mention.language or detect_language(mention.text),
                urgency=urgency.score,
                explanation=list(urgency.explanation),
            )
        )
    return results
