"""Intent: rules only vs the learned heads vs rules + model, on the held-out split.

``python -m bench intent --update``. Data: ``repbot/data/intents.tsv`` (385 examples written
for the project, nine intents, en/es/fr/de/pt), split by ``crc32(text) % 5``. The models
measured here are fitted on the train split only, so dev and test are both unseen; the shipped
weights are fitted on train + dev, so only their test figure is unseen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from repbot.classify.config import ClassifierConfig, UrgencyConfig
from repbot.classify.intent import detect_intent
from repbot.classify.intent_model import (
    MODEL_LABELS,
    Example,
    IntentPredictor,
    load_examples,
    load_intent_model,
)
from repbot.classify.intent_train import train_intent
from repbot.classify.results import Classifier
from repbot.classify.urgency import escalations
from repbot.models import Mention

Predict = Callable[[Sequence[Example]], list[str]]


def _mention(e: Example) -> Mention:
    return Mention(platform="x", external_id="1", text=e.text, created_at=datetime.now(UTC))


def _rules(classifier: Classifier, model: IntentPredictor | None) -> Predict:
    cfg = UrgencyConfig()

    def predict(examples: Sequence[Example]) -> list[str]:
        sentiments = classifier.classify([e.text for e in examples])
        probs = model.predict([e.text for e in examples]) if model else [None] * len(examples)
        out: list[str] = []
        for e, s, p in zip(examples, sentiments, probs, strict=True):
            m = _mention(e)
            found = escalations(m, cfg, e.language)
            out.append(detect_intent(m, s, None, found=found, model=p, language=e.language).intent)
        return out

    return predict


def _argmax(model: IntentPredictor) -> Predict:
    def predict(examples: Sequence[Example]) -> list[str]:
        return [max(p, key=lambda k: p[k]) for p in model.predict([e.text for e in examples])]

    return predict


def _scores(predict: Predict, examples: Sequence[Example]) -> tuple[float, float, dict[str, float]]:
    pred = predict(examples)
    recall = {}
    for label in MODEL_LABELS:
        rows = [p for p, e in zip(pred, examples, strict=True) if e.label == label]
        if rows:
            recall[label] = sum(p == label for p in rows) / len(rows)
    accuracy = sum(p == e.label for p, e in zip(pred, examples, strict=True)) / len(examples)
    return sum(recall.values()) / len(recall), accuracy, recall


def _speed(model: IntentPredictor, texts: list[str]) -> float:
    started = time.perf_counter()
    model.predict(texts)
    return len(texts) / (time.perf_counter() - started)


def run(quick: bool = False) -> str:
    """Measure every variant; the Markdown section."""
    from repbot.classify.embed import SentenceEmbedder
    from repbot.classify.sentiment import load_classifier

    examples = load_examples()
    train = [e for e in examples if e.split == "train"]
    dev = [e for e in examples if e.split == "dev"]
    test = [e for e in examples if e.split == "test"]
    embedder = SentenceEmbedder.default()
    classifier = load_classifier(ClassifierConfig())
    ngram = IntentPredictor(train_intent(train, None))
    both = IntentPredictor(train_intent(train, embedder), embedder)
    shipped = IntentPredictor(load_intent_model(), embedder)
    variants: list[tuple[str, Predict, bool]] = [
        ("rules only (sentiment + phrases + escalation terms)", _rules(classifier, None), True),
        ("n-gram head", _argmax(ngram), True),
        ("n-gram + embedding heads (log-linear)", _argmax(both), True),
        ("rules + n-gram head (the policy; no encoder)", _rules(classifier, ngram), True),
        ("**rules + both heads** (the policy, shipped)", _rules(classifier, both), True),
        ("shipped weights (train + dev), rules + both heads", _rules(classifier, shipped), False),
    ]
    lines = [
        "## Intent (issue 15)",
        "",
        f"{len(examples)} examples written for the project (`repbot/data/intents.tsv`): "
        f"train {len(train)}, dev {len(dev)}, test {len(test)}; nine intents, five languages. "
        "Macro recall over the nine intents / accuracy.",
        "",
        "| variant | dev macro recall | dev accuracy | test macro recall | test accuracy |",
        "|---|---|---|---|---|",
    ]
    per_label: dict[str, float] = {}
    for name, predict, has_dev in variants:
        d = _scores(predict, dev) if has_dev else None
        t_macro, t_acc, recall = _scores(predict, test)
        dev_cells = f"{d[0]:.3f} | {d[1]:.3f}" if d else "(fitted on dev) | —"
        lines.append(f"| {name} | {dev_cells} | {t_macro:.3f} | {t_acc:.3f} |")
        if name.startswith("shipped"):
            per_label = recall
    lines += ["", "Per-intent test recall of the shipped weights:", ""]
    lines.append("| " + " | ".join(per_label) + " |")
    lines.append("|" + "---|" * len(per_label))
    lines.append("| " + " | ".join(f"{v:.2f}" for v in per_label.values()) + " |")
    texts = [e.text for e in examples] * (1 if quick else 3)
    lines += [
        "",
        f"Throughput ({len(texts)} texts, one batch): n-gram head "
        f"{_speed(ngram, texts):,.0f} texts/s; both heads (with the encoder pass) "
        f"{_speed(shipped, texts):,.0f} texts/s.",
    ]
    return "\n".join(lines)
