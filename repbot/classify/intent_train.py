"""``repbot train --intent``: fit the intent model on the project's examples (+ feedback).

The examples are ``repbot/data/intents.tsv`` (written for the project); the train and dev
splits are fitted and the test split stays held out (:attr:`Example.split`). Human relabels
from the approval surfaces (``--feedback``) are added with weight ``FEEDBACK_WEIGHT`` each, in
the store's order. Fitting has no random step: the same examples, labels and encoder give the
same weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from repbot.classify.intent_model import (
    MODEL_LABELS,
    Embedder,
    Example,
    IntentModel,
    fit,
    load_examples,
)

FEEDBACK_WEIGHT = 2.0
"""A human's relabel counts as this many written examples (it is about real traffic)."""


def training_set(
    examples: Sequence[Example], feedback: Sequence[tuple[str, str]] = ()
) -> list[Example]:
    """The non-test examples plus ``(text, label)`` feedback that names a model label."""
    kept = [e for e in examples if e.split != "test"]
    extra = [
        Example(label, "", text, FEEDBACK_WEIGHT)
        for text, label in feedback
        if label in MODEL_LABELS and text.strip()
    ]
    return kept + extra


def train_intent(
    examples: Sequence[Example], embedder: Embedder | None, *, steps: int = 300
) -> IntentModel:
    """Fit both heads (the embedding head only with an ``embedder``)."""
    texts = [e.text for e in examples]
    embeddings = embedder.embed(list(texts)) if embedder is not None else None
    return fit(
        texts,
        [e.label for e in examples],
        sample_weights=[e.weight for e in examples],
        embeddings=embeddings,
        steps=steps,
    )


def run(
    out: Path,
    feedback: Sequence[tuple[str, str]] = (),
    *,
    data: Path | None = None,
    embeddings: bool = True,
) -> dict[str, object]:
    """Train on the packaged examples (+ feedback), write the weights to ``out``, summarise."""
    embedder = None
    if embeddings:
        from repbot.classify.embed import SentenceEmbedder

        embedder = SentenceEmbedder.default()
    examples = training_set(load_examples(data), feedback)
    model = train_intent(examples, embedder)
    path = model.save(out)
    return {
        "weights": str(path),
        "n": len(examples),
        "feedback": sum(1 for e in examples if e.weight != 1.0),
        "data_sha256": model.meta["data_sha256"],
        "embedding_head": model.uses_embeddings,
    }
