"""Explainable urgency: a weighted sum of named factors, clamped to [0, 1]."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from repbot.classify import escalation
from repbot.classify.config import UrgencyConfig
from repbot.classify.escalation import Match
from repbot.classify.intent import SKIP_INTENTS, IntentResult
from repbot.classify.results import SentimentResult
from repbot.models import Mention

REPEAT_SATURATION = 3
"""Repeat contacts within 24 h at which the repeat factor is full."""
MIN_UNKNOWN_LETTERS = 20
"""A mention whose language is unknown gets the human-look floor from this many letters on."""
_AMOUNT = re.compile(
    r"(?:[£$€]|\br\$)\s?(\d[\d.,]*)(k?)\b"
    r"|\b(\d[\d.,]*)(k?)\s?(?:€|eur|euros?|usd|dollars?|pounds?|gbp|reais)(?!\w)",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"[.,](?=\d{3}(?!\d))")


@dataclass(frozen=True)
class Urgency:
    """The score in [0, 1] and each factor's contribution, largest magnitude first."""

    score: float
    explanation: list[tuple[str, float]] = field(default_factory=list)


def log_scale(value: float, saturation: float) -> float:
    """``log(1 + value) / log(1 + saturation)`` clipped to [0, 1]."""
    if value <= 0:
        return 0.0
    return min(1.0, math.log1p(value) / math.log1p(saturation))


def _audience(mention: Mention) -> int:
    author = mention.author
    return max(author.followers or 0, author.karma or 0, mention.community_size or 0)


def _interactions(mention: Mention) -> int:
    m = mention.metrics
    return max(0, m.likes) + max(0, m.reposts) + max(0, m.upvotes) + max(0, m.replies)


def escalations(mention: Mention, cfg: UrgencyConfig, language: str | None) -> list[Match]:
    """The escalation categories named in the mention, heaviest weight first."""
    text = " ".join(filter(None, [mention.title, mention.text]))
    found = escalation.find(text, cfg.terms, language)
    return sorted(found, key=lambda m: -category_weight(m.category, cfg))


def category_weight(category: str, cfg: UrgencyConfig) -> float:
    """The urgency weight of an escalation category (``urgency.escalation`` by default)."""
    return cfg.escalation_weights.get(category, cfg.escalation)


def is_senior(found: Sequence[Match], intent: str, cfg: UrgencyConfig) -> bool:
    """Whether the item needs a senior approver: a senior category or intent (legal, press)."""
    senior = set(cfg.senior_categories)
    return intent in senior or any(m.category in senior for m in found)


def largest_amount(text: str) -> float:
    """The largest money amount written with a currency in ``text`` (0 when none)."""
    best = 0.0
    for match in _AMOUNT.finditer(text):
        digits, k = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        number = _THOUSANDS.sub("", digits.rstrip(".,")).replace(",", ".")
        try:
            value = float(number) * (1000 if k else 1)
        except ValueError:
            continue
        best = max(best, value)
    return best


def _needs_human_look(language: str | None, mention: Mention, cfg: UrgencyConfig) -> str | None:
    """Why a mention the terms cannot read gets the floor (None when they can)."""
    if language is None:
        letters = sum(ch.isalpha() for ch in mention.text)
        return "language unknown" if letters >= MIN_UNKNOWN_LETTERS else None
    known = {lang for by_lang in cfg.terms.values() for lang in by_lang}
    if language in known or escalation.ANY in known:
        return None
    return f"language {language}"


def _intent_factor(intent: IntentResult, cfg: UrgencyConfig) -> tuple[str, float]:
    weights = {
        "complaint": cfg.complaint,
        "question": cfg.question,
        "praise": cfg.praise,
        "spam": cfg.spam,
        "irrelevant": cfg.spam,
        "press": cfg.press,
        "legal": cfg.legal,
        "security": cfg.security,
    }
    return f"intent ({intent.intent})", weights.get(intent.intent, 0.0)


def content_factors(
    mention: Mention,
    sentiment: SentimentResult,
    intent: IntentResult,
    cfg: UrgencyConfig,
    repeat_contacts: int,
    found: Sequence[Match] = (),
) -> list[tuple[str, float]]:
    """Every factor that does not depend on time, as (name, contribution)."""
    factors = [
        ("negativity", cfg.negativity * sentiment.probs.get("negative", 0.0)),
        _intent_factor(intent, cfg),
        ("reach", cfg.reach * log_scale(_audience(mention), cfg.reach_saturation)),
        (
            "engagement",
            cfg.engagement * log_scale(_interactions(mention), cfg.engagement_saturation),
        ),
    ]
    if mention.rating is not None:
        factors.append((f"rating ({mention.rating}★)", cfg.rating * (5 - mention.rating) / 4))
    if found:
        top = found[0]
        name = f"escalation ({top.category}: {top.term.rstrip('*')})"
        factors.append((name, category_weight(top.category, cfg)))
    amount = largest_amount(" ".join(filter(None, [mention.title, mention.text])))
    if amount > 0:
        factors.append(("money at stake", cfg.amount * log_scale(amount, cfg.amount_saturation)))
    vips = {h.lower().lstrip("@") for h in cfg.vip_handles}
    if mention.author.handle and mention.author.handle.lower().lstrip("@") in vips:
        factors.append(("vip author", cfg.vip))
    if repeat_contacts > 0:
        share = min(1.0, repeat_contacts / REPEAT_SATURATION)
        factors.append((f"repeat contact (x{repeat_contacts} in 24h)", cfg.repeat_contact * share))
    return factors


def age_factors(base: float, age_minutes: float, cfg: UrgencyConfig) -> list[tuple[str, float]]:
    """Fresh items get a small bonus; urgent unanswered ones climb as the SLA nears."""
    progress = min(1.0, max(0.0, age_minutes) / cfg.sla_minutes)
    return [
        ("freshness", cfg.freshness * (1.0 - base) * (1.0 - progress)),
        ("age vs SLA", cfg.age * base * progress),
    ]


def score_urgency(
    mention: Mention,
    sentiment: SentimentResult,
    intent: IntentResult,
    cfg: UrgencyConfig,
    *,
    repeat_contacts: int = 0,
    now: datetime,
    language: str | None = None,
    found: Sequence[Match] | None = None,
) -> Urgency:
    """Score how urgently ``mention`` needs a human, explaining every contribution.

    ``language``: the detected language (which escalation terms apply; one the terms cannot
    read, or an unknown one, lifts a non-spam mention to ``foreign_floor``). ``found``: the
    escalations already matched (:func:`escalations`), else matched here.
    """
    if found is None:
        found = escalations(mention, cfg, language)
    factors = content_factors(mention, sentiment, intent, cfg, repeat_contacts, found)
    base = min(1.0, max(0.0, sum(c for _, c in factors)))
    why = _needs_human_look(language, mention, cfg)
    if why and intent.intent not in SKIP_INTENTS and intent.intent != "praise":
        lift = cfg.foreign_floor - base
        if lift > 0:
            factors.append((f"needs a human look ({why})", lift))
            base = cfg.foreign_floor
    age_minutes = (now - mention.created_at).total_seconds() / 60
    factors += age_factors(base, age_minutes, cfg)
    score = min(1.0, max(0.0, sum(c for _, c in factors)))
    shown = [(name, round(c, 4)) for name, c in factors if abs(c) >= 5e-5]
    shown.sort(key=lambda item: -abs(item[1]))
    return Urgency(round(score, 4), shown)
