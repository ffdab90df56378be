"""The ``new -> classified`` stage as a pure function: sentiment, language, intent, urgency."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from repbot.classify.config import UrgencyConfig
from repbot.classify.intent import SKIP_INTENTS, BrandContext, detect_intent
from repbot.classify.intent_model import IntentPredictor, load_intent_model
from repbot.classify.language import detect_language
from repbot.classify.results import Classifier, SentimentResult
from repbot.classify.urgency import escalations, is_senior, score_urgency
from repbot.errors import ModelError
from repbot.models import Mention

log = logging.getLogger(__name__)


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
    escalations: list[str] = field(default_factory=list)
    """Escalation categories named in the mention, heaviest first (``security``, ``legal``)."""
    senior: bool = False
    """Flagged for a senior approver (a legal or press category or intent): routed to the
    urgent channel; ``approval.senior_approvers``, when set, alone may approve it."""

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


def default_intent_predictor() -> IntentPredictor | None:
    """The shipped intent model's n-gram head (no encoder needed); None if it cannot load."""
    try:
        return IntentPredictor(load_intent_model())
    except ModelError as exc:
        log.warning("intent model unavailable, rules only: %s", exc)
        return None


def analyze(
    mentions: Sequence[Mention],
    classifier: Classifier,
    urgency_cfg: UrgencyConfig,
    brand: BrandContext | None,
    repeat_counts: Mapping[str, int] | None,
    now: datetime,
    intent_model: IntentPredictor | Literal["default"] | None = "default",
) -> list[Analysis]:
    """Classify ``mentions`` in one batch.

    ``repeat_counts`` maps a mention's external_id to its author's other contacts in 24 h.
    ``intent_model``: the learned intent model (``"default"``: the shipped n-gram head; the
    composition root passes the full model with the shared encoder; None: rules only).
    """
    if not mentions:
        return []
    texts = [model_text(m) for m in mentions]
    sentiments = classifier.classify(texts)
    predictor = default_intent_predictor() if intent_model == "default" else intent_model
    intents = predictor.predict(texts) if predictor is not None else [None] * len(texts)
    repeats = repeat_counts or {}
    return [
        _one(
            mention, sentiment, probs, urgency_cfg, brand, repeats.get(mention.external_id, 0), now
        )
        for mention, sentiment, probs in zip(mentions, sentiments, intents, strict=True)
    ]


def _one(
    mention: Mention,
    sentiment: SentimentResult,
    intent_probs: Mapping[str, float] | None,
    cfg: UrgencyConfig,
    brand: BrandContext | None,
    repeats: int,
    now: datetime,
) -> Analysis:
    language = mention.language or detect_language(mention.text)
    found = escalations(mention, cfg, language)
    intent = detect_intent(
        mention, sentiment, brand, found=found, model=intent_probs, language=language
    )
    urgency = score_urgency(
        mention,
        sentiment,
        intent,
        cfg,
        repeat_contacts=repeats,
        now=now,
        language=language,
        found=found,
    )
    return Analysis(
        label=sentiment.label,
        probs=dict(sentiment.probs),
        intent=intent.intent,
        intent_reason=intent.reason,
        language=language,
        urgency=urgency.score,
        explanation=list(urgency.explanation),
        escalations=[m.category for m in found],
        senior=is_senior(found, intent.intent, cfg) and intent.intent not in SKIP_INTENTS,
    )
