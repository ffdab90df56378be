"""Explainable urgency: a weighted sum of named factors, clamped to [0, 1]."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from repbot.classify.config import UrgencyConfig
from repbot.classify.intent import IntentResult, find_phrase
from repbot.classify.results import SentimentResult
from repbot.models import Mention

REPEAT_SATURATION = 3
"""Repeat contacts within 24 h at which the repeat factor is full."""


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


def _escalation(mention: Mention, cfg: UrgencyConfig) -> str | None:
    text = " ".join(filter(None, [mention.title, mention.text])).lower()
    for category, terms in cfg.escalation_terms.items():
        term = find_phrase(text, terms)
        if term:
            return f"escalation ({category}: {term})"
    return None


def _intent_factor(intent: IntentResult, cfg: UrgencyConfig) -> tuple[str, float]:
    weights = {
        "complaint": cfg.complaint,
        "question": cfg.question,
        "praise": cfg.praise,
        "spam": cfg.spam,
        "irrelevant": cfg.spam,
    }
    return f"intent ({intent.intent})", weights.get(intent.intent, 0.0)


def content_factors(
    mention: Mention,
    sentiment: SentimentResult,
    intent: IntentResult,
    cfg: UrgencyConfig,
    repeat_contacts: int,
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
    escalation = _escalation(mention, cfg)
    if escalation:
        factors.append((escalation, cfg.escalation))
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
) -> Urgency:
    """Score how urgently ``mention`` needs a human, explaining every contribution."""
    factors = content_factors(mention, sentiment, intent, cfg, repeat_contacts)
    base = min(1.0, max(0.0, sum(c for _, c in factors)))
    age_minutes = (now - mention.created_at).total_seconds() / 60
    factors += age_factors(base, age_minutes, cfg)
    score = min(1.0, max(0.0, sum(c for _, c in factors)))
    shown = [(name, round(c, 4)) for name, c in factors if abs(c) >= 5e-5]
    shown.sort(key=lambda item: -abs(item[1]))
    return Urgency(round(score, 4), shown)
