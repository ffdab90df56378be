"""Approved replies as drafting retrieves them: loaded once, embedded once, kept in memory.

Drafting must cost the same with ten thousand approved replies as with none. So the history is
read from the store incrementally (only decisions newer than the last one seen), the mention
text each approved reply answered is embedded once and persisted as a float32 blob (restarts
reuse it), and retrieval is one matrix-vector product plus ``argpartition`` over an in-memory
matrix. Without an embedder an incremental TF-IDF inverted index stands in, its query cost
bounded by scanning only the newest postings of a query's most informative terms.

An exact product was chosen over an approximate vector index: at ``HISTORY_CAP`` rows of 384
float32 (30 MB) it costs well under a millisecond per draft (``bench/bench_history.py`` measures
it against the draft itself), and it is exact and trivially incremental.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from repbot.respond.draft import EDIT_WEIGHT, ApprovedExample, RankedExample
from repbot.respond.textsim import Embedder, model_id, terms

HISTORY_CAP = 20_000
"""Newest approved replies kept for retrieval (older ones leave memory, not the store)."""
PAGE = 1_000
"""Decisions read from the store per query while syncing."""
EMBED_BATCH = 256
"""Texts per encoder call (one worker-thread hop each) when embedding new approvals."""
MAX_POSTINGS = 200
"""Lexical retrieval: newest documents examined per query term."""
MAX_QUERY_TERMS = 16
"""Lexical retrieval: most informative (highest IDF) query terms used."""

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StoredExample:
    """An approved reply as the store holds it, with its stored embedding (if any)."""

    decision_id: int
    example: ApprovedExample
    vector: bytes | None = None
    dim: int = 0


class HistorySource(Protocol):
    """What the history reads from and writes to (the :class:`~repbot.store.Store` methods)."""

    def approved_since(
        self, after_id: int, model: str | None = None, limit: int = PAGE
    ) -> list[StoredExample]:
        """Approved and edited replies with decision id above ``after_id``, oldest first."""
        ...

    def approved_floor(self, keep: int) -> int:
        """The decision id after which the newest ``keep`` approved replies lie (0: all)."""
        ...

    def save_example_embeddings(self, model: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        """Persist ``(decision_id, float32 blob)`` pairs computed with ``model``."""
        ...


class LexicalIndex:
    """Incremental TF-IDF cosine over a growing corpus (documents keyed by position).

    Document norms are recomputed whenever the corpus has doubled since they were last computed
    (amortised constant per document), so scores track the current IDF closely.
    """

    def __init__(self) -> None:
        self._postings: dict[str, list[tuple[int, float]]] = {}
        self._df: Counter[str] = Counter()
        self._docs: list[dict[str, float]] = []
        self._norms: list[float] = []
        self._base = 0
        self._normed_at = 0

    def __len__(self) -> int:
        return len(self._docs)

    def _idf(self, term: str) -> float:
        return math.log((1 + len(self._docs)) / (1 + self._df.get(term, 0))) + 1.0

    def _norm(self, doc: dict[str, float]) -> float:
        return math.sqrt(sum((tf * self._idf(t)) ** 2 for t, tf in doc.items())) or 1.0

    def add(self, text: str) -> None:
        """Index one more document (position ``len(self)`` before the call)."""
        doc = {t: 1 + math.log(c) for t, c in Counter(terms(text)).items()}
        key = self._base + len(self._docs)
        self._docs.append(doc)
        self._df.update(doc.keys())
        for term, tf in doc.items():
            self._postings.setdefault(term, []).append((key, tf))
        if len(self._docs) >= 2 * max(self._normed_at, 8):
            self._normed_at = len(self._docs)
            self._norms = [self._norm(d) for d in self._docs]
        else:
            self._norms.append(self._norm(doc))

    def drop_oldest(self, count: int) -> None:
        """Forget the ``count`` oldest documents; positions shift down by ``count``."""
        for doc in self._docs[:count]:
            self._df.subtract(doc.keys())
        self._docs = self._docs[count:]
        self._norms = self._norms[count:]
        self._base += count
        self._df = +self._df
        self._normed_at = len(self._docs)
        self._norms = [self._norm(d) for d in self._docs]
        self._postings = {
            t: kept
            for t, p in self._postings.items()
            if (kept := [x for x in p if x[0] >= self._base])
        }

    def scores(self, query: str) -> dict[int, float]:
        """Cosine similarity with ``query`` of the candidate documents, by position."""
        weights = {t: (1 + math.log(c)) * self._idf(t) for t, c in Counter(terms(query)).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        known = [t for t in weights if t in self._postings]
        top = sorted(known, key=lambda t: -weights[t])[:MAX_QUERY_TERMS]
        found: dict[int, float] = {}
        base, get = self._base, found.get
        for term in top:
            q = weights[term] * self._idf(term) / norm
            for key, tf in self._postings[term][-MAX_POSTINGS:]:
                found[key - base] = get(key - base, 0.0) + q * tf
        norms = self._norms
        return {pos: score / norms[pos] for pos, score in found.items()}


class ExampleHistory:
    """The approved replies drafting ranks, synced from the store and searched in memory.

    Rows live in a capacity-doubling buffer: an append writes past the visible size and then
    publishes it, so a ranking running in a worker thread keeps a consistent snapshot. Between
    ``cap`` and ``cap + cap // 8`` rows are kept (trimming copies, so it is done in steps).
    """

    def __init__(self, embedder: Embedder | None = None, cap: int = HISTORY_CAP) -> None:
        self.embedder = embedder
        self.model = model_id(embedder) if embedder is not None else None
        self.cap = cap
        self.last_id = 0
        self.embedded = 0
        """Texts this history has embedded (new approvals without a stored vector)."""
        self._examples: list[ApprovedExample] = []
        self._weights: npt.NDArray[np.float32] = np.zeros(0, np.float32)
        self._matrix: Vector | None = None
        self._dim = 0
        self._size = 0
        self._lexical = LexicalIndex() if embedder is None else None
        self._started = False
        self._lock = threading.Lock()
        self._sync_lock = asyncio.Lock()

    def __len__(self) -> int:
        return self._size

    async def sync(self, source: HistorySource) -> int:
        """Load approvals newer than the last seen (embedding those without a stored vector).

        The store is read on the caller's (event-loop) thread a page at a time; encoder calls
        run in a worker thread. Returns the number of approvals added.
        """
        async with self._sync_lock:
            if not self._started:
                self.last_id = max(self.last_id, source.approved_floor(self.cap))
                self._started = True
            added = 0
            while rows := source.approved_since(self.last_id, self.model, PAGE):
                vectors = await self._vectors(source, rows)
                self._append([r.example for r in rows], vectors)
                self.last_id = rows[-1].decision_id
                added += len(rows)
                if len(rows) < PAGE:
                    break
                await asyncio.sleep(0)
            return added

    async def _vectors(self, source: HistorySource, rows: list[StoredExample]) -> Vector | None:
        """One unit row per approval: the stored vector, else one embedded now and saved."""
        if self.embedder is None or self.model is None:
            return None
        known = [_decode(r) for r in rows]
        self._dim = self._dim or next((len(v) for v in known if v is not None), 0)
        missing = [i for i, v in enumerate(known) if v is None or len(v) != self._dim]
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start : start + EMBED_BATCH]
            texts = [rows[i].example.mention_text for i in batch]
            fresh = np.asarray(await asyncio.to_thread(self.embedder.embed, texts), np.float32)
            self.embedded += len(texts)
            self._dim = self._dim or fresh.shape[1]
            source.save_example_embeddings(
                self.model, [(rows[i].decision_id, fresh[j].tobytes()) for j, i in enumerate(batch)]
            )
            for j, i in enumerate(batch):
                known[i] = fresh[j]
        blank = np.zeros(self._dim, np.float32)
        return np.stack([v if v is not None and len(v) == self._dim else blank for v in known])

    def _append(self, examples: list[ApprovedExample], vectors: Vector | None) -> None:
        weights = np.array([EDIT_WEIGHT if e.edited else 1.0 for e in examples], np.float32)
        with self._lock:
            size, more = self._size, len(examples)
            if size + more > len(self._weights):
                grown = max(2 * len(self._weights), size + more, 64)
                self._weights = _grow(self._weights[:size], grown)
                if self._matrix is not None:
                    self._matrix = _grow(self._matrix[:size], grown)
            self._weights[size : size + more] = weights
            if vectors is not None:
                if self._matrix is None:
                    self._matrix = np.zeros((len(self._weights), vectors.shape[1]), np.float32)
                self._matrix[size : size + more] = vectors
            self._examples.extend(examples)
            if self._lexical is not None:
                for example in examples:
                    self._lexical.add(example.mention_text)
            self._size = size + more
            if self._size > self.cap + self.cap // 8:
                self._trim(self._size - self.cap)

    def _trim(self, excess: int) -> None:
        self._examples = self._examples[excess:]
        self._weights = self._weights[excess:].copy()
        if self._matrix is not None:
            self._matrix = self._matrix[excess : self._size].copy()
        if self._lexical is not None:
            self._lexical.drop_oldest(excess)
        self._size -= excess

    def rank(self, query: str, vector: Vector | None = None, k: int = 5) -> list[RankedExample]:
        """The ``k`` approved replies whose mentions best match this one, best first.

        Relevance is cosine similarity of the embeddings (``vector``: the query's embedding,
        computed here when not given) or lexical TF-IDF without an embedder, times
        ``EDIT_WEIGHT`` for edited replies; ties go to the newer reply.
        """
        if k <= 0 or not self._size:
            return []
        if self._lexical is None and vector is None and self.embedder is not None:
            vector = self.embedder.embed([query])[0]
        with self._lock:
            size, examples = self._size, self._examples
            weights, matrix = self._weights[:size], self._matrix
            if self._lexical is not None:
                found = self._lexical.scores(query)
                positions = np.fromiter(found.keys(), dtype=np.int64, count=len(found))
                sims = np.fromiter(found.values(), dtype=np.float32, count=len(found))
        if self._lexical is None:
            if vector is None or matrix is None:
                return []
            sims = matrix[:size] @ np.asarray(vector, dtype=np.float32)
            positions = np.arange(size)
        scores = np.maximum(sims, 0.0) * weights[positions]
        return _top(scores, positions, examples, k)


def _grow(rows: npt.NDArray[np.float32], capacity: int) -> npt.NDArray[np.float32]:
    """A copy of ``rows`` in a buffer of ``capacity`` rows (the tail left zero)."""
    out = np.zeros((capacity, *rows.shape[1:]), np.float32)
    out[: len(rows)] = rows
    return out


def _top(
    scores: npt.NDArray[np.float32],
    positions: npt.NDArray[np.int64],
    examples: list[ApprovedExample],
    k: int,
) -> list[RankedExample]:
    if len(scores) > k:
        kth = -np.partition(-scores, k - 1)[k - 1]
        keep = np.flatnonzero(scores >= kth)  # ties at the k-th score all compete on recency
        scores, positions = scores[keep], positions[keep]
    order = np.lexsort((-positions, -scores))[:k]
    return [
        RankedExample(examples[int(positions[i])], float(scores[i])) for i in order if scores[i] > 0
    ]


def _decode(row: StoredExample) -> Vector | None:
    if row.vector is None or row.dim <= 0 or len(row.vector) != 4 * row.dim:
        return None
    return np.frombuffer(row.vector, dtype=np.float32)
