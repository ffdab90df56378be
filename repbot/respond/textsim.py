"""Cheap lexical similarity used when no sentence embedder is injected."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP_TEXT = (
    "a an and are as at be been but by can could did do does for from had has have i i'm "
    "im in is it it's its me my of on or our so that the their them then there this to too "
    "us was we were what when where which who why will with would you your yours just get "
    "got am work works worked working use used using know want need good only thing things"
)
_STOP = frozenset(_STOP_TEXT.split())


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised row vectors (one row per text)."""

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Return a ``(len(texts), dim)`` array of unit-length rows."""
        ...


def model_id(embedder: Embedder) -> str:
    """What identifies ``embedder``'s vectors when they are stored (its ``model_id`` if it has
    one, else its class): vectors stored under another id are computed again."""
    named = getattr(embedder, "model_id", None)
    if isinstance(named, str) and named:
        return named
    kind = type(embedder)
    return f"{kind.__module__}.{kind.__qualname__}"


def words(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes kept inside words."""
    return _WORD.findall(text.lower().replace("’", "'"))


def stem(word: str) -> str:
    """A deliberately crude suffix stripper: refunds/refunded/refunding -> refund."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content terms: stemmed words without stop words."""
    return [stem(w) for w in words(text) if w not in _STOP]


class TfIdf:
    """A tiny TF-IDF model over a fixed corpus, for cosine similarity against it."""

    def __init__(self, corpus: Sequence[str]) -> None:
        docs = [Counter(terms(text)) for text in corpus]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        n = len(docs)
        self._idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
        self._vectors = [self._weigh(doc) for doc in docs]

    def _weigh(self, counts: Counter[str]) -> dict[str, float]:
        vec = {t: (1 + math.log(c)) * self._idf.get(t, 1.0) for t, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def scores(self, query: str) -> list[float]:
        """Cosine similarity of ``query`` with every corpus document, in corpus order."""
        q = self._weigh(Counter(terms(query)))
        return [sum(w * doc.get(t, 0.0) for t, w in q.items()) for doc in self._vectors]


def overlap(a: str, b: str) -> float:
    """Symmetric term overlap (Dice coefficient on content-term sets), 0..1."""
    return dice(set(terms(a)), set(terms(b)))


def dice(ta: set[str], tb: set[str]) -> float:
    """The Dice coefficient of two term sets (0 when either is empty)."""
    if not ta or not tb:
        return 0.0
    return 2 * len(ta & tb) / (len(ta) + len(tb))


def similarities(query: str, texts: Sequence[str], embedder: Embedder | None) -> list[float]:
    """Similarity of ``query`` with each of ``texts``: cosine of embeddings, else TF-IDF."""
    if not texts:
        return []
    if embedder is None:
        return TfIdf([*texts, query]).scores(query)[: len(texts)]
    rows = embedder.embed([query, *texts])
    return [float(x) for x in rows[1:] @ rows[0]]


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """Every contiguous ``n``-token window of ``tokens``."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def shared_ngram(text: str, others: Iterable[str], n: int) -> str | None:
    """The first ``n``-word sequence of ``text`` that also occurs in one of ``others``."""
    mine = ngrams(words(text), n)
    if not mine:
        return None
    for other in others:
        common = mine & ngrams(words(other), n)
        if common:
            return " ".join(sorted(common)[0])
    return None
