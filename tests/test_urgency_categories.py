"""Urgency by escalation category (issue 15): weights per category, terms per language in
prompts/escalation.yaml, legal and press flagged senior, and non-English mentions never
buried below their English twin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from repbot.classify import SentimentResult
from repbot.classify.analyze import Analysis, analyze
from repbot.classify.config import DEFAULT_ESCALATION_WEIGHTS, ClassifierConfig, UrgencyConfig
from repbot.classify.escalation import TERM_LANGUAGES, find, load_terms, packaged_file
from repbot.classify.urgency import largest_amount
from repbot.models import Author, Mention

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NEG = SentimentResult("negative", {"negative": 0.85, "neutral": 0.1, "positive": 0.05})
NEU = SentimentResult("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1})


class Fixed:
    """A classifier that answers the same sentiment for every text."""

    def __init__(self, result: SentimentResult) -> None:
        self.result = result

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        return [self.result for _ in texts]


def mention(text: str, **kw: Any) -> Mention:
    kw.setdefault("created_at", NOW - timedelta(minutes=5))
    return Mention(platform=kw.pop("platform", "x"), external_id=text[:40], text=text, **kw)


def one(m: Mention, sentiment: SentimentResult = NEG, cfg: UrgencyConfig | None = None) -> Analysis:
    [result] = analyze([m], Fixed(sentiment), cfg or UrgencyConfig(), None, None, NOW)
    return result


HACKED = mention(
    "@OrbitHelp I think my account was hacked. Someone moved £900 out overnight and I didn't "
    "authorise it. Please call me, I can't get through on the phone!",
    author=Author(handle="lucy_h", followers=2300),
)
CANCEL = mention(
    "Tried to cancel my premium plan for a month, still being charged £14.99. Want my money back "
    "and I want to close the account.",
    platform="trustpilot",
    kind="review",
    rating=1,
)


def test_hacked_with_money_moved_outranks_a_small_cancellation() -> None:
    hacked, cancel = one(HACKED), one(CANCEL)
    assert hacked.urgency > cancel.urgency
    assert hacked.explanation[0][0].startswith("escalation (security:")
    assert any(name.startswith("escalation (money:") for name, _ in cancel.explanation)
    money = dict(hacked.explanation)["money at stake"]
    assert money > dict(cancel.explanation)["money at stake"] > 0


def test_category_weights_order_security_safety_money_legal_press_service() -> None:
    w = DEFAULT_ESCALATION_WEIGHTS
    assert w["security"] == w["safety"] > w["money"] > w["legal"] == w["press"] > w["service"]
    texts = {
        "security": "someone hacked my account",
        "safety": "my son ended up in hospital",
        "money": "I want a refund",
        "legal": "I will talk to my lawyer",
        "service": "the app keeps crashing",
    }
    found = {k: dict(one(mention(t), NEU).explanation) for k, t in texts.items()}
    weight = {
        k: v[next(n for n in v if n.startswith(f"escalation ({k}:"))] for k, v in found.items()
    }
    assert weight["security"] == weight["safety"] > weight["money"] > weight["legal"]
    assert weight["legal"] > weight["service"]


def test_the_heaviest_matched_category_counts_and_all_are_listed() -> None:
    result = one(mention("my account was hacked and I am calling my lawyer"))
    assert [n for n, _ in result.explanation if n.startswith("escalation")] == [
        "escalation (security: hacked)"
    ]
    assert result.escalations[0] == "security" and "legal" in result.escalations
    assert result.senior  # the legal category flags it even though security outweighs it


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("@ShopCo you charged me twice and I'm calling my lawyer", "legal"),
        ("If the refund isn't back by Friday I'm taking you to small claims court", "legal"),
        (
            "Filing a chargeback and my solicitor will be in touch about the cancelled order",
            "legal",
        ),
        (
            "I'm a journalist at the Evening Post writing about failed payments, can your press "
            "office comment?",
            "press",
        ),
    ],
)
def test_legal_and_press_are_their_own_intent_flagged_senior(text: str, intent: str) -> None:
    result = one(mention(text, author=Author(handle="a", followers=900)))
    assert result.intent == intent and result.senior
    assert not result.skip


def test_senior_categories_are_configurable() -> None:
    cfg = UrgencyConfig(senior_categories=["security"])
    assert one(mention("my account was hacked"), cfg=cfg).senior
    assert not one(mention("I am calling my lawyer"), NEG, cfg).senior


def test_a_customer_threatening_the_press_is_not_a_press_request() -> None:
    result = one(mention("Terrible service, I'm going to the press about this"))
    assert result.intent != "press"
    assert "press" in result.escalations and result.senior


SPANISH = (
    "@OrbitHelp llevo una semana esperando la devolución de un cargo duplicado. Nadie me "
    "responde. Muy mal servicio."
)
ENGLISH = (
    "@OrbitHelp I've been waiting a week for the refund of a duplicate charge. Nobody answers "
    "me. Very bad service."
)


@pytest.fixture(scope="module")
def embedded() -> Any:
    from repbot.classify.sentiment import load_classifier

    return load_classifier(ClassifierConfig())


def test_spanish_complaint_is_not_buried_below_its_english_twin(embedded: Any) -> None:
    author = Author(handle="carlos_mx", followers=640)
    es, en = (mention(t, author=author) for t in (SPANISH, ENGLISH))
    cfg = UrgencyConfig()
    spanish, english = analyze([es, en], embedded, cfg, None, None, NOW)
    assert spanish.language == "es" and spanish.intent == "complaint"
    assert spanish.urgency >= english.urgency - 0.05
    assert any(n.startswith("escalation (money: devolucion") for n, _ in spanish.explanation)
    calm = analyze(
        [mention("Gracias, todo perfecto", author=author)], embedded, cfg, None, None, NOW
    )
    assert spanish.urgency > calm[0].urgency


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        ("Mein Konto wurde gehackt, jemand hat Geld überwiesen", "de", "security"),
        ("Je veux un remboursement immédiat", "fr", "money"),
        ("Vou processar a empresa, já falei com meu advogado", "pt", "legal"),
        ("Soy periodista y preparo un reportaje", "es", "press"),
        ("Vous m'avez débité deux fois", "fr", "money"),
    ],
)
def test_escalation_terms_per_language_ignore_accents(
    text: str, language: str, category: str
) -> None:
    found = find(text, UrgencyConfig().terms, language)
    assert found and found[0].category == category


def test_terms_of_another_language_do_not_apply_to_a_known_language() -> None:
    terms = UrgencyConfig().terms
    assert find("the presse machine", terms, "en") == []  # French "presse" only for fr
    assert [m.category for m in find("la presse", terms, "fr")] == ["press"]
    assert [m.category for m in find("la presse", terms, None)] == ["press"]  # unknown: all


def test_packaged_file_has_every_category_in_every_language() -> None:
    terms = load_terms(None, packaged_file())
    assert set(terms) >= {"security", "safety", "money", "legal", "press", "service"}
    for by_language in terms.values():
        assert set(by_language) == set(TERM_LANGUAGES)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"legal": {"xx": ["abogado"]}}, "unknown language 'xx'"),
        ({"legal": {"es": []}}, "non-empty list"),
        ({"Bad Name": ["x"]}, "bad category name"),
        ({"legal": ["", "lawyer"]}, "non-empty strings"),
    ],
)
def test_malformed_terms_are_rejected_with_where(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        UrgencyConfig(escalation_terms=value)


def test_escalation_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "esc.yaml"
    path.write_text("legal:\n  en: [lawyer]\n  klingon: [qaghwI']\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="klingon"):
        UrgencyConfig(escalation_file=path)
    path.write_text("regulator:\n  en: [ombudsman]\n", encoding="utf-8")
    cfg = UrgencyConfig(escalation_file=path)
    assert [m.category for m in find("the Ombudsman", cfg.terms, "en")] == ["regulator"]


def test_a_language_without_terms_gets_a_human_look_floor() -> None:
    cfg = UrgencyConfig()
    italian = one(
        mention("Servizio pessimo, nessuno risponde da una settimana", language="it"), NEU
    )
    assert italian.urgency >= cfg.foreign_floor
    assert any(n.startswith("needs a human look (language it)") for n, _ in italian.explanation)
    amharic = one(mention("ይህ አገልግሎት በጣም መጥፎ ነው ማንም አይመልስም ሳምንት ሙሉ ጠብቄያለሁ"), NEU)
    assert amharic.language not in TERM_LANGUAGES and amharic.urgency >= cfg.foreign_floor
    assert any(n.startswith("needs a human look") for n, _ in amharic.explanation)
    assert one(mention("ok"), NEU).urgency < cfg.foreign_floor  # too short to be a language


def test_spam_in_another_language_gets_no_floor() -> None:
    spam = one(mention("Compra follower economici, click here", language="it"), NEU)
    assert spam.skip and spam.urgency < UrgencyConfig().foreign_floor


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("moved £900 out", 900.0),
        ("charged £14.99", 14.99),
        ("1.000,50 € gone", 1000.5),
        ("$1,250.00 missing", 1250.0),
        ("600 reais", 600.0),
        ("£5k", 5000.0),
        ("3 kids and 2 dogs", 0.0),
    ],
)
def test_largest_amount(text: str, amount: float) -> None:
    assert largest_amount(text) == pytest.approx(amount)
