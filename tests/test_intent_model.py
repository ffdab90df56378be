"""The learned intent model (issue 15): shipped weights in sync with their examples,
deterministic training, and the issue's examples (spam skipped and never drafted, legal,
press, security, praise that tells the story of a problem)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from repbot.classify import SentimentResult
from repbot.classify.analyze import analyze
from repbot.classify.config import UrgencyConfig
from repbot.classify.escalation import Match
from repbot.classify.intent import INTENTS, REPLY_INTENTS, SKIP_INTENTS, detect_intent
from repbot.classify.intent_model import (
    MODEL_LABELS,
    IntentPredictor,
    data_hash,
    features,
    fit,
    load_examples,
    load_intent_model,
)
from repbot.classify.intent_train import training_set
from repbot.classify.urgency import escalations
from repbot.errors import ModelError
from repbot.models import Mention

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NEU = SentimentResult("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1})
NEG = SentimentResult("negative", {"negative": 0.85, "neutral": 0.1, "positive": 0.05})
POS = SentimentResult("positive", {"negative": 0.03, "neutral": 0.1, "positive": 0.87})


class Fixed:
    def __init__(self, result: SentimentResult) -> None:
        self.result = result

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        return [self.result for _ in texts]


def mention(text: str) -> Mention:
    return Mention(platform="x", external_id=text[:30], text=text, created_at=NOW)


def test_registry_has_the_nine_intents_and_skips_spam_and_irrelevant() -> None:
    assert set(INTENTS) == set(MODEL_LABELS)
    assert {"spam", "irrelevant"} == SKIP_INTENTS
    assert {"press", "legal", "security"} <= set(REPLY_INTENTS)


def test_shipped_weights_were_fitted_on_the_packaged_examples() -> None:
    """Reproducibility: the committed weights' data hash is the current training set's."""
    model = load_intent_model()
    kept = training_set(load_examples())
    expected = data_hash([e.text for e in kept], [e.label for e in kept], [1.0] * len(kept))
    assert model.meta["data_sha256"] == expected
    assert model.labels == MODEL_LABELS and model.uses_embeddings


def test_examples_cover_every_intent_in_five_languages_with_a_test_split() -> None:
    examples = load_examples()
    assert len(examples) >= 300
    for label in MODEL_LABELS:
        languages = {e.language for e in examples if e.label == label}
        assert languages == {"en", "es", "fr", "de", "pt"}, label
    splits = {e.split for e in examples}
    assert splits == {"train", "dev", "test"}


def test_fit_is_deterministic_and_features_are_stable() -> None:
    examples = [e for e in load_examples() if e.split == "train"][:60]
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    a, b = fit(texts, labels, steps=30), fit(texts, labels, steps=30)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    assert features("Café crème") == features("cafe CREME")  # accents and case folded
    assert features("call @Dana at http://x.example/1") == features("call @Sam at https://y.io/2")


def test_corrupt_weights_raise_model_error(tmp_path: Path) -> None:
    (tmp_path / "intent.json").write_text('{"labels": ["spam"]}')
    (tmp_path / "intent.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match=str(tmp_path)):
        load_intent_model(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "Buy 10k followers cheap!!! DM now",
        "Get 10,000 real followers for $9!!! limited offer",
        "Compra seguidores reales baratos, entrega inmediata",
    ],
)
def test_spam_and_bot_promotion_is_skipped(text: str) -> None:
    [result] = analyze([mention(text)], Fixed(POS), UrgencyConfig(), None, None, NOW)
    assert result.intent == "spam" and result.skip


async def test_spam_is_never_drafted(tmp_path: Path) -> None:
    from repbot.app import build_pipeline, load_models
    from repbot.config import parse_config
    from repbot.models import State
    from repbot.store.sqlite import SqliteStore

    config = parse_config(f"store: {{path: {tmp_path / 'r.db'}}}\n")
    store = SqliteStore(tmp_path / "r.db")
    models = await load_models(config, classifier=Fixed(POS), embedder=None)
    pipeline = build_pipeline(config, store, models)
    spam = mention("Buy 10k followers cheap!!! DM now")
    praise = mention("Shout-out to the support team, sorted my card in two days. Thank you!")
    spam_id, praise_id = store.ingest("demo", [spam, praise], None).new_ids
    try:
        await pipeline.drain()
        skipped, drafted = store.get(spam_id), store.get(praise_id)
    finally:
        await pipeline.responder.aclose()
        store.close()
    assert skipped.state == State.SKIPPED and skipped.draft is None
    assert skipped.intent == "spam" and skipped.skip_reason
    assert drafted.state == State.AWAITING_APPROVAL and drafted.intent == "praise"


@pytest.mark.parametrize(
    ("text", "sentiment", "intent"),
    [
        ("@ShopCo charged me twice and I'm calling my lawyer", NEG, "legal"),
        ("See you in small claims court, I'm done being polite", NEG, "legal"),
        (
            "Hi, reporter at the Evening Post here. Readers say parcels go missing. Any comment "
            "from your press office?",
            NEU,
            "press",
        ),
        (
            "Soy periodista y preparo un reportaje sobre retrasos, ¿tienen un contacto?",
            NEU,
            "press",
        ),
        ("Someone hacked my account and moved £900 out", NEG, "security"),
        (
            "Shout-out to Orbit support: lost my card on holiday, they froze it in seconds and a "
            "replacement arrived at my hotel in two days.",
            POS,
            "praise",
        ),
    ],
)
def test_issue_examples(text: str, sentiment: SentimentResult, intent: str) -> None:
    [result] = analyze([mention(text)], Fixed(sentiment), UrgencyConfig(), None, None, NOW)
    assert result.intent == intent, result.intent_reason


def test_model_decides_only_where_rules_are_weak() -> None:
    spammy = {label: 0.01 for label in MODEL_LABELS} | {"spam": 0.9}
    off_topic = {label: 0.01 for label in MODEL_LABELS} | {"irrelevant": 0.9}
    chatty = {label: 0.01 for label in MODEL_LABELS} | {"praise": 0.9}
    m = mention("I will be speaking to my lawyer")
    legal = detect_intent(m, NEG, found=_found(m), model=spammy)
    assert legal.intent == "legal"  # precise legal terms are never overridden
    plain = mention("Is the premium plan worth it")
    assert detect_intent(plain, NEU, model=spammy).intent == "spam"
    assert detect_intent(plain, NEU, model=chatty).intent == "question"  # rules decide praise
    review = Mention(
        platform="trustpilot", external_id="r", kind="review", rating=1, text="x", created_at=NOW
    )
    assert detect_intent(review, NEG, model=off_topic).intent == "complaint"


def _found(m: Mention) -> list[Match]:
    return escalations(m, UrgencyConfig(), "en")


def test_the_full_model_with_its_encoder_scores_the_held_out_split() -> None:
    from repbot.classify.embed import SentenceEmbedder

    test = [e for e in load_examples() if e.split == "test"]
    predictor = IntentPredictor(load_intent_model(), SentenceEmbedder.default())
    probs = predictor.predict([e.text for e in test])
    assert len(probs) == len(test) and all(abs(sum(p.values()) - 1) < 1e-6 for p in probs)
    spam = [e for e in test if e.label == "spam"]
    caught = sum(
        max(p, key=lambda k: p[k]) == "spam"
        for p, e in zip(probs, test, strict=True)
        if e.label == "spam"
    )
    assert caught >= len(spam) * 0.75
