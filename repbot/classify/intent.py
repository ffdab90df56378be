"""Intent: precise rules combined with a learned model (``intent_model``).

Labels: complaint, question, praise, spam, irrelevant, press, legal, security, other. Rules
decide where they are precise (spam phrases and shapes, brand exclude terms, the author's own
stars); the model decides the rest, and the rules alone are the fallback without a model
(docs/CLASSIFIER.md, "Intent").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from repbot.classify.escalation import Match
from repbot.classify.results import SentimentResult
from repbot.models import Mention

Intent = Literal[
    "complaint", "question", "praise", "spam", "irrelevant", "press", "legal", "security", "other"
]
INTENTS: tuple[Intent, ...] = get_args(Intent)
"""The intent registry: every label the classifier gives, in its order."""
SKIP_INTENTS: frozenset[str] = frozenset({"spam", "irrelevant"})
"""Intents that never get a reply (the item is skipped)."""
REPLY_INTENTS: tuple[str, ...] = tuple(i for i in INTENTS if i not in SKIP_INTENTS)
"""Intents a reply may be drafted for (``responder.reply_intents`` chooses among them)."""

SPAM_PHRASES = (
    "follow me",
    "follow back",
    "free followers",
    "buy followers",
    "click here",
    "click the link",
    "check out my",
    "check my bio",
    "link in bio",
    "dm for promo",
    "dm me for",
    "promo code",
    "giveaway",
    "earn $",
    "make money",
    "work from home",
    "crypto",
    "forex",
    "followers cheap",
    "cheap followers",
    "real followers",
    "free spins",
    "casino bonus",
    "onlyfans",
    "100% free",
    "limited offer",
    "win a free",
)
COMPLAINT_PHRASES = (
    "not working",
    "doesn't work",
    "does not work",
    "isn't working",
    "stopped working",
    "broken",
    "worst",
    "terrible",
    "horrible",
    "awful",
    "useless",
    "ridiculous",
    "unacceptable",
    "disappointed",
    "disappointing",
    "still waiting",
    "never arrived",
    "never received",
    "charged twice",
    "overcharged",
    "refund",
    "chargeback",
    "cancel",
    "rude",
    "scam",
    "never again",
    "fix this",
    "no response",
    "hacked",
    "outage",
    "down again",
)
QUESTION_STARTS = (
    "how",
    "what",
    "why",
    "when",
    "where",
    "which",
    "who",
    "can",
    "could",
    "would",
    "will",
    "is",
    "are",
    "do",
    "does",
    "did",
    "should",
    "anyone",
    "any",
)
QUESTION_PHRASES = (
    "need help",
    "please help",
    "can you help",
    "please advise",
    "any update",
    "how do i",
    "how can i",
    "is there a way",
    "wondering if",
    "let me know",
)
PRAISE_PHRASES = (
    "thank",
    "thx",
    "love",
    "great",
    "awesome",
    "amazing",
    "excellent",
    "fantastic",
    "best",
    "kudos",
    "shout out",
    "well done",
    "impressed",
    "recommend",
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"#\w+")
_HANDLE = re.compile(r"@\w+")
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class BrandContext:
    """What the monitored brand is called and which words mean a mention is about something else.

    Built from the top-level ``brand`` config section (``name``, ``aliases``, ``exclude_terms``,
    ``handles``). For a bank called "Apple", ``exclude_terms`` might be ``["iphone", "fruit"]``.
    """

    name: str
    aliases: tuple[str, ...] = ()
    exclude_terms: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, section: object) -> BrandContext:
        """Build from the ``brand`` section (object or dict); ``handles`` may be a dict."""

        def get(key: str) -> object:
            if isinstance(section, dict):
                return section.get(key)
            return getattr(section, key, None)

        def strings(value: object) -> tuple[str, ...]:
            if isinstance(value, dict):
                value = list(value.values())
            if isinstance(value, str):
                return (value,)
            return tuple(str(v) for v in value) if isinstance(value, Iterable) else ()

        return cls(
            name=str(get("name") or ""),
            aliases=strings(get("aliases")),
            exclude_terms=strings(get("exclude_terms")),
            handles=strings(get("handles")),
        )


@dataclass(frozen=True)
class IntentResult:
    """The detected intent and a human-readable reason (stored when a mention is skipped)."""

    intent: Intent
    reason: str = ""


def find_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first phrase of ``phrases`` found in lower-cased ``text`` on word boundaries."""
    for phrase in phrases:
        pattern = r"(?<![a-z0-9])" + re.escape(phrase.lower()) + r"(?![a-z0-9])"
        if phrase.endswith("$") or phrase.startswith("$"):
            pattern = re.escape(phrase.lower())
        if re.search(pattern, text):
            return phrase
    return None


def _spam_reason(text: str, lowered: str) -> str | None:
    phrase = find_phrase(lowered, SPAM_PHRASES)
    if phrase:
        return f"spam phrase '{phrase}'"
    urls, tags = len(_URL.findall(text)), len(_HASHTAG.findall(text))
    words = len(_WORD.findall(_HASHTAG.sub(" ", _URL.sub(" ", lowered))))
    if tags >= 6 and tags > words:
        return f"{tags} hashtags and {words} words"
    if urls >= 3:
        return f"{urls} links"
    if len(_HANDLE.findall(text)) >= 8:
        return "mass @-mentions"
    return None


def _addresses_brand(lowered: str, brand: BrandContext) -> bool:
    handles = {h.lower().lstrip("@") for h in brand.handles}
    return any(f"@{h}" in lowered for h in handles if h)


def _irrelevant_reason(lowered: str, brand: BrandContext | None) -> str | None:
    if brand is None or not brand.exclude_terms or _addresses_brand(lowered, brand):
        return None
    term = find_phrase(lowered, brand.exclude_terms)
    if term is None:
        return None
    name = brand.name or "the brand"
    return f"mentions '{term}' (an exclude term): not about {name}"


def _is_question(text: str, lowered: str) -> bool:
    if "?" in text or find_phrase(lowered, QUESTION_PHRASES):
        return True
    words = _WORD.findall(_HANDLE.sub(" ", lowered))
    return bool(words) and words[0] in QUESTION_STARTS and len(words) <= 25 and "." not in text


def _complaint_reason(lowered: str, sentiment: SentimentResult, rating: int | None) -> str | None:
    negative = sentiment.probs.get("negative", 0.0)
    if rating is not None and rating <= 2:
        return f"{rating}-star review"
    if rating is not None and rating >= 4:
        return None  # the author's own stars outrank the model: a gripe in a 4-star review
    phrase = find_phrase(lowered, COMPLAINT_PHRASES)
    if phrase and negative >= 0.25:
        return f"complaint phrase '{phrase}' with negative tone"
    if sentiment.label == "negative" and negative >= 0.5:
        return f"negative sentiment ({negative:.2f})"
    return None


def _praise_reason(lowered: str, sentiment: SentimentResult, rating: int | None) -> str | None:
    positive = sentiment.probs.get("positive", 0.0)
    if rating is not None and rating >= 4:
        return f"{rating}-star review"
    if sentiment.label == "positive" and positive >= 0.6:
        return f"positive sentiment ({positive:.2f})"
    phrase = find_phrase(lowered, PRAISE_PHRASES)
    if phrase and sentiment.label == "positive":
        return f"praise phrase '{phrase}'"
    return None


PRESS_THREATS = frozenset({"going to the press", "going viral", "bbb"})
"""Press terms a customer uses as a threat: a complaint with a press escalation, not press."""
ESCALATION_INTENTS: tuple[Intent, ...] = ("legal", "security", "press")
"""Intents an escalation category of the same name implies (rules), in this order."""
MODEL_DECIDES: frozenset[str] = frozenset({"spam", "irrelevant", "press"})
"""Labels the model decides when it ranks them first: the rules are weak there (spam without a
listed phrase, off-topic chatter without an exclude term, a journalist's request in other
words); the rules decide everything else (measured: bench/RESULTS.md, "Intent")."""
RULES_KEEP: frozenset[str] = frozenset({"legal", "security"})
"""Rule results the model never overrides (precise escalation terms)."""
MODEL_LANGUAGES: frozenset[str] = frozenset({"en", "es", "fr", "de", "pt"})
"""Languages the model was trained on: elsewhere it may not skip a mention."""
MODEL_SKIP_MIN = 0.2
"""The least probability at which the model's spam or irrelevant skips a mention."""


def _escalation_intent(found: Sequence[Match]) -> IntentResult | None:
    for intent in ESCALATION_INTENTS:
        for match in found:
            if match.category == intent and match.term not in PRESS_THREATS:
                return IntentResult(intent, f"{intent} term '{match.term.rstrip('*')}'")
    return None


def detect_intent(
    mention: Mention,
    sentiment: SentimentResult,
    brand: BrandContext | None = None,
    *,
    found: Sequence[Match] = (),
    model: Mapping[str, float] | None = None,
    language: str | None = None,
) -> IntentResult:
    """What the author wants: spam and exclude-term rules first, then the model's top label
    where the rules are weak (:data:`MODEL_DECIDES`), else the rules. ``model``: the label
    probabilities from :class:`~repbot.classify.intent_model.IntentPredictor` (None: rules).

    ``found``: the escalation categories named in the mention (``urgency.escalations``).
    The model never skips a mention that names one, is in a language it was not trained on
    (``language``), is a review, or that it is unsure of (:data:`MODEL_SKIP_MIN`).
    """
    text = " ".join(filter(None, [mention.title, mention.text]))
    lowered = text.lower()
    spam = _spam_reason(text, lowered)
    if spam:
        return IntentResult("spam", spam)
    irrelevant = _irrelevant_reason(lowered, brand)
    if irrelevant:
        return IntentResult("irrelevant", irrelevant)
    rules = _by_rules(mention, sentiment, text, lowered, found)
    if not model or rules.intent in RULES_KEEP:
        return rules
    top = max(model, key=lambda k: model[k])
    if top not in MODEL_DECIDES or (
        top in SKIP_INTENTS and not _may_skip(model[top], mention, found, language)
    ):
        return rules
    return IntentResult(_intent(top), f"model: {top} ({model[top]:.2f})")


def _may_skip(p: float, mention: Mention, found: Sequence[Match], language: str | None) -> bool:
    """Skipping loses a mention: only a sure model, in its languages, with nothing escalated,
    and never a review (a review on the brand's own page is about the brand)."""
    known = language is None or language in MODEL_LANGUAGES
    return p >= MODEL_SKIP_MIN and known and not found and mention.rating is None


def _intent(label: str) -> Intent:
    return next((i for i in INTENTS if i == label), "other")


def _by_rules(
    mention: Mention, sentiment: SentimentResult, text: str, lowered: str, found: Sequence[Match]
) -> IntentResult:
    escalated = _escalation_intent(found)
    if escalated:
        return escalated
    complaint = _complaint_reason(lowered, sentiment, mention.rating)
    strong = sentiment.probs.get("negative", 0.0) >= 0.6 or mention.rating in (1, 2)
    if complaint and strong:
        return IntentResult("complaint", complaint)
    if _is_question(text, lowered):
        return IntentResult("question", "asks a question or for help")
    if complaint:
        return IntentResult("complaint", complaint)
    praise = _praise_reason(lowered, sentiment, mention.rating)
    if praise:
        return IntentResult("praise", praise)
    if not text.strip():
        return IntentResult("other", "empty text")
    return IntentResult("other", f"no clear intent ({sentiment.label})")
