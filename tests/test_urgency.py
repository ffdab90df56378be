"""Urgency: every factor moves the score the right way and the explanation says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repbot.classify import IntentResult, SentimentResult, UrgencyConfig, score_urgency
from repbot.classify.urgency import log_scale
from repbot.models import Author, Mention, Metrics

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NEG = SentimentResult("negative", {"negative": 0.95, "neutral": 0.04, "positive": 0.01})
MILD_POS = SentimentResult("positive", {"negative": 0.02, "neutral": 0.28, "positive": 0.70})
NEUTRAL = SentimentResult("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1})
OTHER = IntentResult("other", "")
CFG = UrgencyConfig()


def mention(text: str = "hello", age_min: float = 0.0, **kw: Any) -> Mention:
    return Mention(
        platform="x",
        external_id=kw.pop("external_id", "1"),
        text=text,
        created_at=NOW - timedelta(minutes=age_min),
        **kw,
    )


def score(m: Mention, s: SentimentResult = NEUTRAL, i: IntentResult = OTHER, **kw: Any) -> float:
    cfg = kw.pop("cfg", CFG)
    return score_urgency(m, s, i, cfg, repeat_contacts=kw.pop("repeat", 0), now=NOW).score


def factors(
    m: Mention, s: SentimentResult = NEUTRAL, i: IntentResult = OTHER, **kw: Any
) -> dict[str, float]:
    cfg = kw.pop("cfg", CFG)
    urgency = score_urgency(m, s, i, cfg, repeat_contacts=kw.pop("repeat", 0), now=NOW)
    return dict(urgency.explanation)


def test_angry_influencer_with_chargeback_outranks_mild_praise() -> None:
    angry = mention(
        "Third time you billed me twice. Filing a chargeback today, absolutely furious",
        author=Author(handle="loud", followers=50_000),
    )
    praise = mention("nice coffee this morning, thanks", author=Author(handle="fan", followers=120))
    angry_score = score(angry, NEG, IntentResult("complaint", "negative"))
    praise_score = score(praise, MILD_POS, IntentResult("praise", "positive"))
    assert angry_score > praise_score + 0.4
    assert angry_score >= 0.6


def test_negativity_scales_with_probability() -> None:
    m = mention()
    assert score(m, NEG) > score(m, NEUTRAL) > score(m, MILD_POS)
    assert factors(m, NEG)["negativity"] == pytest.approx(CFG.negativity * 0.95, abs=1e-3)


@pytest.mark.parametrize(
    ("intent", "direction"),
    [("complaint", 1), ("question", 1), ("praise", -1), ("spam", -1), ("irrelevant", -1)],
)
def test_intent_factor(intent: str, direction: int) -> None:
    m = mention()
    base = score(m, NEG, OTHER)
    with_intent = score(m, NEG, IntentResult(intent, ""))  # type: ignore[arg-type]
    assert (with_intent - base) * direction > 0
    assert f"intent ({intent})" in factors(m, NEG, IntentResult(intent, ""))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kw",
    [
        {"author": Author(followers=50_000)},
        {"author": Author(karma=20_000)},
        {"community": "r/acme", "community_size": 300_000},
    ],
)
def test_reach_from_followers_karma_or_community(kw: dict[str, Any]) -> None:
    assert score(mention(**kw), NEG) > score(mention(), NEG)
    assert factors(mention(**kw), NEG)["reach"] > 0


def test_reach_is_log_scaled_and_saturates() -> None:
    assert log_scale(0, 1000) == 0.0
    assert log_scale(10, 1000) < log_scale(100, 1000) < log_scale(1000, 1000) == 1.0
    assert log_scale(10**9, 1000) == 1.0


@pytest.mark.parametrize("field", ["likes", "reposts", "upvotes", "replies"])
def test_engagement_counts_every_interaction(field: str) -> None:
    busy = mention(metrics=Metrics(**{field: 500}))
    assert score(busy, NEG) > score(mention(), NEG)
    assert factors(busy, NEG)["engagement"] > 0


def test_one_star_review_is_more_urgent_than_five_stars() -> None:
    one, five = mention(kind="review", rating=1), mention(kind="review", rating=5)
    assert score(one) > score(mention(kind="review", rating=3)) > score(five)
    assert factors(one)["rating (1★)"] == pytest.approx(CFG.rating)
    assert "rating (5★)" not in factors(five)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I'm calling my lawyer about this", "legal"),
        ("we will sue you", "legal"),
        ("my son got food poisoning from your burger", "safety"),
        ("the charger caught fire", "safety"),
        ("my account was hacked and money stolen", "security"),
        ("I want a refund", "money"),
        ("doing a chargeback", "money"),
        ("a journalist friend will hear about this", "press"),
        ("I'm going to the press", "press"),
    ],
)
def test_escalation_terms(text: str, category: str) -> None:
    found = [name for name in factors(mention(text)) if name.startswith("escalation")]
    assert found and f"({category}:" in found[0]
    assert score(mention(text)) > score(mention("an ordinary remark"))


def test_escalation_terms_match_whole_words_and_are_configurable() -> None:
    assert not any(n.startswith("escalation") for n in factors(mention("a pursued goal")))
    cfg = UrgencyConfig(escalation_terms={"regulator": ["ombudsman"]})
    named = factors(mention("writing to the Ombudsman"), cfg=cfg)
    assert "escalation (regulator: ombudsman)" in named
    assert not any(n.startswith("escalation") for n in factors(mention("refund"), cfg=cfg))


def test_vip_author() -> None:
    cfg = UrgencyConfig(vip_handles=["@BigCritic"])
    vip = mention(author=Author(handle="bigcritic"))
    assert score(vip, cfg=cfg) > score(mention(author=Author(handle="someone")), cfg=cfg)
    assert factors(vip, cfg=cfg)["vip author"] == pytest.approx(cfg.vip)


def test_repeat_contact_within_24h_raises_and_saturates() -> None:
    m = mention()
    assert score(m, NEG, repeat=1) > score(m, NEG, repeat=0)
    assert score(m, NEG, repeat=3) == score(m, NEG, repeat=10)
    assert "repeat contact (x2 in 24h)" in factors(m, NEG, repeat=2)


def test_urgent_items_age_upward_toward_sla() -> None:
    complaint = IntentResult("complaint", "")
    fresh = score(mention("refund now", 0), NEG, complaint)
    older = score(mention("refund now", CFG.sla_minutes / 2), NEG, complaint)
    at_sla = score(mention("refund now", CFG.sla_minutes * 3), NEG, complaint)
    assert fresh < older < at_sla
    assert factors(mention("refund now", CFG.sla_minutes), NEG, complaint)["age vs SLA"] > 0


def test_calm_items_are_fresh_first() -> None:
    assert score(mention(age_min=1)) > score(mention(age_min=CFG.sla_minutes))
    assert factors(mention(age_min=1))["freshness"] > 0


def test_explanation_sorted_by_magnitude_and_zero_weight_removes_factor() -> None:
    m = mention("refund", author=Author(followers=1000), metrics=Metrics(likes=5))
    explanation = list(factors(m, NEG).values())
    assert [abs(v) for v in explanation] == sorted((abs(v) for v in explanation), reverse=True)
    assert "reach" not in factors(m, NEG, cfg=UrgencyConfig(reach=0.0))


@settings(max_examples=60, deadline=None)
@given(
    p_neg=st.floats(0, 1),
    followers=st.integers(0, 10**9),
    likes=st.integers(0, 10**7),
    age=st.floats(-60, 10**6),
    repeat=st.integers(0, 50),
    rating=st.none() | st.integers(1, 5),
    intent=st.sampled_from(["complaint", "question", "praise", "spam", "irrelevant", "other"]),
)
def test_score_always_in_unit_interval(
    p_neg: float,
    followers: int,
    likes: int,
    age: float,
    repeat: int,
    rating: int | None,
    intent: str,
) -> None:
    s = SentimentResult("negative", {"negative": p_neg, "neutral": 0.0, "positive": 1 - p_neg})
    m = mention(
        "lawyer chargeback hacked",
        age,
        author=Author(followers=followers),
        metrics=Metrics(likes=likes),
        rating=rating,
    )
    value = score(m, s, IntentResult(intent, ""), repeat=repeat)  # type: ignore[arg-type]
    assert 0.0 <= value <= 1.0
