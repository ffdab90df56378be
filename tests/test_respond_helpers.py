"""Shared builders for the responder tests (mentions, brand, a fake embedder)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from repbot.brand import BrandConfig
from repbot.models import Author, Mention
from repbot.respond.textsim import terms

REVIEW_PLATFORMS = ("google_business", "trustpilot", "yelp", "app_store", "google_play")


def brand(**overrides: object) -> BrandConfig:
    """A brand with every contact field set, like a configured deployment."""
    values: dict[str, object] = {
        "name": "Acme",
        "handles": {"x": "AcmeHelp", "reddit": "acme_support"},
        "signoff": "^JS",
        "website": "https://acme.example",
        "support_url": "https://help.acme.example",
        "support_email": "help@acme.example",
        "support_phone": "+1 800 555 0100",
    }
    values.update(overrides)
    return BrandConfig.model_validate(values)


def mention(
    text: str,
    platform: str = "x",
    external_id: str = "1",
    display_name: str | None = "Maria Lopez",
    handle: str = "maria_l",
    rating: int | None = None,
    title: str | None = None,
) -> Mention:
    """A mention as a connector would produce it."""
    return Mention(
        platform=platform,
        external_id=external_id,
        kind="review" if platform in REVIEW_PLATFORMS else "post",
        author=Author(handle=handle, display_name=display_name),
        text=text,
        title=title,
        rating=rating,
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )


class HashEmbedder:
    """A deterministic bag-of-terms embedder standing in for the sentence encoder."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                out[row, int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)
