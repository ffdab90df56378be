"""Intent rules: spam, irrelevant (brand exclude terms), complaint, question, praise, other."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from repbot.classify import BrandContext, SentimentResult, detect_intent
from repbot.models import Mention

NEG = SentimentResult("negative", {"negative": 0.9, "neutral": 0.08, "positive": 0.02})
MILD_NEG = SentimentResult("negative", {"negative": 0.45, "neutral": 0.4, "positive": 0.15})
NEU = SentimentResult("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1})
POS = SentimentResult("positive", {"negative": 0.02, "neutral": 0.1, "positive": 0.88})
APPLE_BANK = BrandContext(
    name="Apple Bank",
    aliases=("Apple",),
    exclude_terms=("iphone", "fruit", "apple pie"),
    handles=("AppleBankHelp",),
)


def mention(text: str, **kw: Any) -> Mention:
    return Mention(platform="x", external_id="1", text=text, created_at=datetime.now(UTC), **kw)


@pytest.mark.parametrize(
    "text",
    [
        "Follow me for free followers!!! click here",
        "Huge crypto giveaway, DM for promo",
        "#win #free #deal #sale #promo #now #apple",
        "visit http://a.example http://b.example http://c.example",
    ],
)
def test_spam(text: str) -> None:
    result = detect_intent(mention(text), NEU)
    assert result.intent == "spam" and result.reason


def test_irrelevant_exclude_term_names_the_reason() -> None:
    result = detect_intent(mention("my new Apple iPhone is great"), POS, APPLE_BANK)
    assert result.intent == "irrelevant"
    assert "iphone" in result.reason and "Apple Bank" in result.reason


def test_exclude_term_ignored_when_brand_handle_addressed_or_no_brand() -> None:
    text = "@AppleBankHelp I paid for my iPhone and you charged me twice, terrible"
    assert detect_intent(mention(text), NEG, APPLE_BANK).intent == "complaint"
    assert detect_intent(mention("apple pie recipe"), NEU, None).intent == "other"


def test_complaint_from_strong_negative_even_if_question() -> None:
    result = detect_intent(mention("Why is my order late AGAIN? worst service"), NEG)
    assert result.intent == "complaint"


def test_complaint_phrase_with_some_negativity() -> None:
    assert detect_intent(mention("the app is not working since update"), MILD_NEG).intent == (
        "complaint"
    )


@pytest.mark.parametrize(
    "text",
    ["How do I reset my password?", "can you help with my bill", "Is the store open on Sunday"],
)
def test_question(text: str) -> None:
    assert detect_intent(mention(text), NEU).intent == "question"


def test_praise_and_ratings() -> None:
    assert detect_intent(mention("thank you, great service"), POS).intent == "praise"
    assert detect_intent(mention("ok", kind="review", rating=5), NEU).intent == "praise"
    result = detect_intent(mention("meh", kind="review", rating=1), NEU)
    assert result.intent == "complaint" and "1-star" in result.reason


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂", "<p></p>", "x" * 100_000])
def test_bad_input_never_crashes(text: str) -> None:
    assert detect_intent(mention(text), NEU, APPLE_BANK).intent in {
        "complaint",
        "question",
        "praise",
        "spam",
        "irrelevant",
        "other",
    }


def test_brand_context_from_config_dict_and_object() -> None:
    from repbot.brand import BrandConfig

    cfg = BrandConfig(
        name="Apple Bank",
        aliases=["Apple"],
        handles={"x": "AppleBankHelp"},
        exclude_terms=["iphone"],
    )
    ctx = BrandContext.from_config(cfg)
    assert ctx.handles == ("AppleBankHelp",) and ctx.exclude_terms == ("iphone",)
    assert BrandContext.from_config({"name": "B", "handles": ["b"]}).handles == ("b",)


def test_stars_outrank_the_model_for_reviews() -> None:
    from datetime import UTC, datetime

    from repbot.classify import SentimentResult, detect_intent
    from repbot.models import Mention

    review = Mention(
        platform="google_business",
        external_id="r4",
        kind="review",
        rating=4,
        text="Helpful staff, sorted my standing orders quickly. Parking is a nightmare though.",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    gloomy = SentimentResult("negative", {"negative": 0.7, "neutral": 0.2, "positive": 0.1})
    assert detect_intent(review, gloomy).intent == "praise"
    one_star = review.model_copy(update={"rating": 1})
    assert detect_intent(one_star, gloomy).intent == "complaint"
