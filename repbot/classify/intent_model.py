"""A learned intent model: softmax regression over hashed word and character n-grams.

Features are accent-free, lower-cased words and word pairs plus character 3- to 5-grams
inside words (which carry across languages and spelling variants), hashed with CRC-32, with
``1 + log(count)`` values, L2-normalised. Training is full-batch gradient descent from zero
weights with no random step, so the same data always gives the same weights
(docs/CLASSIFIER.md, "Intent"). Inference is a sparse dot product: microseconds a text.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from repbot.classify.escalation import normalise
from repbot.errors import ModelError

if TYPE_CHECKING:
    from scipy import sparse  # training only: inference never loads scipy

MODEL_LABELS: tuple[str, ...] = (
    "complaint",
    "question",
    "praise",
    "spam",
    "irrelevant",
    "press",
    "legal",
    "security",
    "other",
)
BUCKETS = 1 << 20
WEIGHTS_FILE = "intent.npz"
_URL = re.compile(r"https?://\S+|www\.\S+|\b\w+\.(?:ly|com|io|net|example)/\S*")
_HANDLE = re.compile(r"@\w[\w.]*")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[\w']+|[!?$€£#🔥🚀]")


def intent_weights_dir() -> Path:
    """The committed intent weights (``repbot/classify/weights``)."""
    return Path(__file__).parent / "weights"


def tokens(text: str) -> list[str]:
    """Words of the normalised text (URLs, handles and digits replaced by placeholders)."""
    text = _URL.sub(" url ", text)
    text = _HANDLE.sub(" @user ", text)
    text = _DIGITS.sub("0", normalise(text))
    return _WORD.findall(text)


def features(text: str) -> dict[int, float]:
    """Hashed, L2-normalised n-gram features of ``text``."""
    words = tokens(text)
    counts: Counter[int] = Counter()
    for word in words:
        counts.update(_word_grams(word))
    counts.update(_hash(f"b:{a} {b}") for a, b in itertools.pairwise(words))
    values = {key: 1.0 + math.log(count) for key, count in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    return {k: v / norm for k, v in values.items()}


@lru_cache(maxsize=1 << 16)
def _word_grams(word: str) -> tuple[int, ...]:
    """The word's own feature and its character 3- to 5-grams, hashed (cached: words repeat)."""
    padded = f" {word} "
    grams = [f"w:{word}"]
    for n in (3, 4, 5):
        grams.extend(f"c:{padded[i : i + n]}" for i in range(max(1, len(padded) - n + 1)))
    return tuple(_hash(g) for g in grams)


def _hash(gram: str) -> int:
    return zlib.crc32(gram.encode()) % BUCKETS


class Embedder(Protocol):
    """Sentence embeddings (``repbot.classify.embed.SentenceEmbedder``)."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """A ``(len(texts), dimension)`` float32 array."""
        ...


@dataclass
class IntentModel:
    """Two softmax-regression heads: hashed n-grams and (optional) sentence embeddings.

    With both, the prediction is their log-linear mix (the normalised product of the two
    distributions), which beat either head alone (docs/CLASSIFIER.md, "Intent").
    """

    labels: tuple[str, ...]
    keys: np.ndarray  # int64 (V,), sorted feature hashes
    weights: np.ndarray  # float32 (V, K)
    bias: np.ndarray  # float32 (K,)
    meta: dict[str, object]
    emb_weights: np.ndarray | None = None  # float32 (D, K)
    emb_bias: np.ndarray | None = None  # float32 (K,)

    def __post_init__(self) -> None:
        self._index = {int(k): i for i, k in enumerate(self.keys)}

    @property
    def uses_embeddings(self) -> bool:
        """Whether the model has a sentence-embedding head."""
        return self.emb_weights is not None

    def predict(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None
    ) -> list[dict[str, float]]:
        """Each text's probability per label (the n-gram head alone without ``embeddings``)."""
        logits = np.stack([self._ngram_logits(t) for t in texts]) if texts else np.zeros((0, 0))
        logits = _log_softmax(logits)
        if embeddings is not None and self.emb_weights is not None and len(texts):
            emb = embeddings.astype(np.float64) @ self.emb_weights + self.emb_bias
            logits = logits + _log_softmax(emb)
        probs = np.exp(_log_softmax(logits))
        return [
            {label: float(p) for label, p in zip(self.labels, row, strict=True)} for row in probs
        ]

    def _ngram_logits(self, text: str) -> np.ndarray:
        pairs = [(self._index.get(k), v) for k, v in features(text).items()]
        rows = [r for r, _ in pairs if r is not None]
        values = np.array([v for r, v in pairs if r is not None])
        logits: np.ndarray = self.bias.astype(np.float64) + values @ self.weights[rows]
        return logits

    def save(self, out_dir: Path) -> Path:
        """Write ``intent.npz`` (weights) and ``intent.json`` (labels, data hash, recipe)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / WEIGHTS_FILE
        heads = {"keys": self.keys, "weights": self.weights, "bias": self.bias}
        if self.emb_weights is not None and self.emb_bias is not None:
            heads |= {"emb_weights": self.emb_weights, "emb_bias": self.emb_bias}
        with path.open("wb") as fh:
            np.savez_compressed(fh, **heads)  # type: ignore[arg-type]
        meta = {"labels": list(self.labels), **self.meta}
        (out_dir / "intent.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return path


def load_intent_model(directory: Path | None = None) -> IntentModel:
    """Load ``intent.npz`` + ``intent.json`` from ``directory`` (default: the shipped ones)."""
    return _load(directory or intent_weights_dir())


@lru_cache(maxsize=4)
def _load(directory: Path) -> IntentModel:
    try:
        meta = json.loads((directory / "intent.json").read_text(encoding="utf-8"))
        with np.load(directory / WEIGHTS_FILE) as data:
            heads = {name: data[name] for name in data.files}
        keys, weights, bias = heads["keys"], heads["weights"], heads["bias"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load intent weights from {directory}: {exc}") from exc
    labels = tuple(meta.pop("labels", ()))
    emb_w, emb_b = heads.get("emb_weights"), heads.get("emb_bias")
    shapes_ok = weights.shape == (len(keys), len(labels)) and bias.shape == (len(labels),)
    if not shapes_ok or (emb_w is not None and emb_w.shape[1:] != (len(labels),)):
        raise ModelError(f"intent weights in {directory} do not match their labels")
    return IntentModel(labels, keys, weights, bias, meta, emb_w, emb_b)


class IntentPredictor:
    """An :class:`IntentModel` with the encoder its embedding head needs (None: n-grams)."""

    def __init__(self, model: IntentModel, embedder: Embedder | None = None) -> None:
        self.model = model
        self.embedder = embedder if model.uses_embeddings else None

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Each text's probability per label."""
        embeddings = self.embedder.embed(list(texts)) if self.embedder and texts else None
        return self.model.predict(texts, embeddings)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    if logits.size == 0:
        return logits
    shifted = logits - logits.max(axis=-1, keepdims=True)
    result: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return result


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    sample_weights: Sequence[float] | None = None,
    embeddings: np.ndarray | None = None,
    l2: float = 1e-3,
    steps: int = 300,
    lr: float = 10.0,
) -> IntentModel:
    """Train on ``texts``/``labels`` (and their ``embeddings`` for the second head):
    deterministic (zero start, full batch, no shuffling, no random step)."""
    if not texts:
        raise ValueError("no training examples")
    names = tuple(label for label in MODEL_LABELS if label in set(labels))
    rows = [features(t) for t in texts]
    keys = np.array(sorted({k for r in rows for k in r}), dtype=np.int64)
    column = {int(k): i for i, k in enumerate(keys)}
    x = _matrix(rows, column)
    y = np.zeros((len(rows), len(names)))
    y[np.arange(len(rows)), [names.index(label) for label in labels]] = 1.0
    sw = np.asarray(sample_weights if sample_weights is not None else [1.0] * len(rows))
    sw = sw / sw.sum()
    w, b = _descend(x, y, sw, l2=l2, steps=steps, lr=lr)
    emb_w = emb_b = None
    if embeddings is not None:
        ew, eb = _descend(embeddings.astype(np.float64), y, sw, l2=l2, steps=steps, lr=lr)
        emb_w, emb_b = ew.astype(np.float32), eb.astype(np.float32)
    meta: dict[str, object] = {
        "n": len(texts),
        "per_label": dict(sorted(Counter(labels).items())),
        "data_sha256": data_hash(texts, labels, sample_weights),
        "recipe": {"l2": l2, "steps": steps, "lr": lr, "buckets": BUCKETS},
        "embedding_head": embeddings is not None,
    }
    return IntentModel(names, keys, w.astype(np.float32), b.astype(np.float32), meta, emb_w, emb_b)


def _matrix(rows: Sequence[dict[int, float]], column: dict[int, int]) -> sparse.csr_matrix:
    from scipy import sparse

    indptr: list[int] = [0]
    indices: list[int] = []
    values: list[float] = []
    for row in rows:
        indices.extend(column[k] for k in row)
        values.extend(row.values())
        indptr.append(len(indices))
    return sparse.csr_matrix((values, indices, indptr), shape=(len(rows), len(column)))


def _descend(
    x: np.ndarray | sparse.csr_matrix,
    y: np.ndarray,
    sw: np.ndarray,
    *,
    l2: float,
    steps: int,
    lr: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch gradient descent with Nesterov momentum on weighted cross-entropy + L2."""
    w = np.zeros((x.shape[1], y.shape[1]))
    b = np.zeros(y.shape[1])
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        lw, lb = w + 0.9 * vw, b + 0.9 * vb
        logits = x @ lw + lb
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        err = (p - y) * sw[:, None]
        vw = 0.9 * vw - lr * (x.T @ err + l2 * lw)
        vb = 0.9 * vb - lr * err.sum(axis=0)
        w, b = w + vw, b + vb
    return w, b


@dataclass(frozen=True)
class Example:
    """One labelled intent example."""

    label: str
    language: str
    text: str
    weight: float = 1.0

    @property
    def split(self) -> str:
        """``test`` (crc32 % 5 == 0), ``dev`` (1) or ``train``: fixed by the text alone."""
        bucket = zlib.crc32(self.text.encode()) % 5
        return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def packaged_examples_file() -> Path:
    """The intent examples written for the project (``repbot/data/intents.tsv``)."""
    return Path(__file__).resolve().parents[1] / "data" / "intents.tsv"


def load_examples(path: Path | None = None) -> list[Example]:
    """``label<TAB>language<TAB>text`` lines (``#`` comments); bad lines raise ValueError."""
    path = path or packaged_examples_file()
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in MODEL_LABELS or not parts[2].strip():
            raise ValueError(f"{path}:{number}: expected label<TAB>language<TAB>text")
        examples.append(Example(parts[0], parts[1], parts[2]))
    return examples


def data_hash(
    texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None = None
) -> str:
    """SHA-256 of the training data (texts, labels and weights, in order)."""
    digest = hashlib.sha256()
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        weight = 1.0 if weights is None else weights[i]
        digest.update(f"{label}\t{weight:.6g}\t{text}\n".encode())
    return digest.hexdigest()
