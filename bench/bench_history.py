"""Drafting throughput against the size of the approved-reply history (issue 11).

Three real SQLite stores hold 0, 1,000 and 10,000 approved replies (quick: 0, 100, 1,000),
written through the store API. Each level is drafted by ``Pipeline.draft_pending`` exactly as the
daemon does it (history synced per batch, drafts written back), lexically and with the packaged
sentence encoder, and the texts the encoder embeds per draft are counted. The encoder's one-time
backfill of the history is timed separately, then a fresh responder (a restart) drafts from the
stored vectors. The exact matrix-vector ranking alone is timed at growing sizes: that is the
"cached matrix versus vector index" choice.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.bench_respond import _contexts, _texts
from repbot import workflow
from repbot.config import parse_config
from repbot.connectors.showcase import BRAND
from repbot.models import Mention
from repbot.pipeline import Pipeline
from repbot.respond import DraftContext, Responder, ResponderConfig
from repbot.respond.history import HISTORY_CAP
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier

ANALYSIS = {"label": "negative", "intent": "complaint", "urgency": 0.9, "explanation": []}


class Counting:
    """Wraps an embedder and counts the texts it embeds."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id = str(inner.model_id)
        self.texts = 0

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.texts += len(texts)
        result: npt.NDArray[np.float32] = self.inner.embed(texts)
        return result


@dataclass
class Level:
    """One history size: its store and what was measured on it."""

    approved: int
    store: SqliteStore
    rates: dict[str, float]
    per_draft: dict[str, float]
    backfill: str = ""


def _history(store: SqliteStore, n: int) -> None:
    """``n`` approved (one in five edited) replies to real customer texts, via the store API."""
    texts, _ = _texts(n)
    for start in range(0, n, 500):
        chunk = [
            Mention.model_validate(
                {
                    "platform": "x",
                    "external_id": f"hist-{i}",
                    "author": {"handle": f"cust{i}"},
                    "text": texts[i],
                    "created_at": "2024-05-01T00:00:00+00:00",
                }
            )
            for i in range(start, min(n, start + 500))
        ]
        for i, mention_id in enumerate(store.ingest("history", chunk, None).new_ids, start):
            store.set_classified(mention_id, ANALYSIS)
            store.set_draft(mention_id, "Sorry to hear that, we'll help.", {"limit": 280})
            text = f"Sorry about that, we're on it ({i})."
            workflow.decide(
                store, mention_id, "edit" if i % 5 == 0 else "approve", "ann", text=text
            )


def _pending(store: SqliteStore, contexts: Sequence[DraftContext], tag: str) -> None:
    mentions = [
        c.mention.model_copy(update={"external_id": f"{tag}-{c.mention.external_id}"})
        for c in contexts
    ]
    for mention_id in store.ingest(tag, mentions, None).new_ids:
        store.set_classified(mention_id, ANALYSIS)


async def _drain(pipeline: Pipeline) -> int:
    drafted = 0
    while moved := await pipeline.draft_pending():
        drafted += moved
    return drafted


def _rate(
    store: SqliteStore,
    responder: Responder,
    contexts: Sequence[DraftContext],
    counting: Counting | None = None,
) -> tuple[float, float]:
    """Drafts/s of ``Pipeline.draft_pending`` over ``contexts`` (after a 20-draft warm-up) and
    the texts ``counting`` embedded per measured draft."""
    config = parse_config(f"brand: {{name: {BRAND.name}}}\nstore: {{path: {store.path}}}\n")
    pipeline = Pipeline(store, config, KeywordClassifier(), responder)
    tag = f"w{time.monotonic_ns()}"
    _pending(store, contexts[:20], tag)
    asyncio.run(_drain(pipeline))
    _pending(store, contexts, f"m{tag}")
    embedded = counting.texts if counting else 0
    start = time.perf_counter()
    drafted = asyncio.run(_drain(pipeline))
    elapsed = time.perf_counter() - start
    per_draft = ((counting.texts if counting else 0) - embedded) / max(drafted, 1)
    return drafted / elapsed, per_draft


def _encoder() -> Any | None:
    try:
        from repbot.classify import SentenceEmbedder

        return SentenceEmbedder.default()
    except Exception:  # noqa: BLE001 - optional measurement
        return None


def _semantic(level: Level, encoder: Any, contexts: Sequence[DraftContext]) -> None:
    """Backfill the level's vectors, then draft with a fresh (restarted) responder."""
    counting = Counting(encoder)
    first = Responder(ResponderConfig(), BRAND, embedder=counting)
    start = time.perf_counter()
    asyncio.run(first.sync_history(level.store))
    took = time.perf_counter() - start
    if level.approved:
        level.backfill = f"{counting.texts:,} texts in {took:.1f} s"
    counting = Counting(encoder)
    restarted = Responder(ResponderConfig(), BRAND, embedder=counting)
    asyncio.run(restarted.sync_history(level.store))
    reloaded = counting.texts
    level.rates["encoder"], level.per_draft["encoder"] = _rate(
        level.store, restarted, contexts, counting
    )
    level.per_draft["reload"] = reloaded


def _direct(
    store: SqliteStore, embedder: Any | None, contexts: Sequence[DraftContext], before: bool
) -> float:
    """Drafts/s of bare ``Responder.draft`` calls: from the synced history (now) or, as drafting
    worked ``before`` this change, with the 200 newest approvals re-ranked on every draft."""
    examples = store.approved_examples() if before else []
    responder = Responder(ResponderConfig(), BRAND, embedder=embedder)
    with_examples = [
        DraftContext(c.mention, intent=c.intent, examples=examples, language="en") for c in contexts
    ]

    async def go() -> float:
        await responder.sync_history(store)
        await responder.draft(with_examples[0])
        start = time.perf_counter()
        for ctx in with_examples:
            await responder.draft(ctx)
        return time.perf_counter() - start

    return len(contexts) / asyncio.run(go())


def _ranking_cost(sizes: Sequence[int], draft_ms: float, dim: int = 384, k: int = 5) -> list[str]:
    """Mean ms of the exact ranking (matrix-vector product + argpartition) per size, and its
    share of ``draft_ms`` (one encoder draft with no history)."""
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        matrix = rng.standard_normal((size, dim), dtype=np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        query = matrix[0].copy()
        reps = 200
        start = time.perf_counter()
        for _ in range(reps):
            scores = matrix @ query
            np.argpartition(-scores, k - 1)[:k]
        ms = 1000 * (time.perf_counter() - start) / reps
        share = f"{ms / draft_ms:.0%}" if draft_ms else "n/a"
        rows.append(f"| {size:,} | {size * dim * 4 / 2**20:.1f} MB | {ms:.3f} ms | {share} |")
    return rows


def run(quick: bool = False) -> str:
    """Measure and return the Markdown section for bench/RESULTS.md."""
    sizes = (0, 100, 1000) if quick else (0, 1000, 10_000)
    drafts = 120 if quick else 400
    contexts, source = _contexts(drafts)
    contexts = [c for c in contexts if c.intent in ("complaint", "question")] or contexts
    encoder = _encoder()
    with tempfile.TemporaryDirectory() as tmp:
        levels = []
        for n in sizes:
            store = SqliteStore(Path(tmp) / f"history-{n}.db")
            _history(store, n)
            levels.append(Level(n, store, {}, {}))
        for level in levels:
            lexical = Responder(ResponderConfig(), BRAND)
            level.rates["lexical"] = _rate(level.store, lexical, contexts)[0]
            if encoder is not None:
                _semantic(level, encoder, contexts)
        top = levels[-1].store
        direct = {
            "lexical": (_direct(top, None, contexts, True), _direct(top, None, contexts, False))
        }
        if encoder is not None:
            few = contexts[:3]
            direct["encoder"] = (
                _direct(top, encoder, few, True),
                _direct(top, encoder, few, False),
            )
        for level in levels:
            level.store.close()
    return _report(levels, direct, quick, source, len(contexts), encoder)


def _report(
    levels: list[Level],
    direct: dict[str, tuple[float, float]],
    quick: bool,
    source: str,
    drafts: int,
    encoder: Any | None,
) -> str:
    base = levels[0].rates
    draft_ms = 1000 / base["encoder"] if base.get("encoder") else 0.0
    lines = [
        "### Responder: drafting cost against the approved-reply history",
        "",
        "| approved replies | drafts/s lexical | vs none | drafts/s encoder | vs none "
        "| texts embedded per draft | texts embedded on restart | one-time backfill |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level in levels:
        lex = level.rates["lexical"]
        enc = level.rates.get("encoder")
        enc_rate = f"{enc:,.1f}" if enc else "n/a"
        enc_ratio = f"{base['encoder'] / enc:.2f}x" if enc else "n/a"
        per_draft = f"{level.per_draft['encoder']:.2f}" if enc else "n/a"
        lines.append(
            f"| {level.approved:,} | {lex:,.1f} | {base['lexical'] / lex:.2f}x | {enc_rate} "
            f"| {enc_ratio} | {per_draft} | {int(level.per_draft.get('reload', 0))} "
            f"| {level.backfill or '-'} |"
        )
    newest = levels[-1].approved
    lines += [
        "",
        f"Bare `Responder.draft` with {newest:,} approvals stored, before this change (the 200"
        " newest re-ranked, and with the encoder re-embedded, on every draft) and now: "
        + "; ".join(
            f"{mode} {old:,.2f} → {new:,.2f} drafts/s ({new / old:,.1f}x)"
            for mode, (old, new) in direct.items()
        )
        + " (encoder: 3 drafts).",
        "",
        "Exact ranking alone (one float32 matrix-vector product + argpartition, 384 dimensions;"
        f" the history keeps the newest {HISTORY_CAP:,}):",
        "",
        "| rows | matrix | per query | share of one encoder draft (no history) |",
        "|---|---|---|---|",
        *_ranking_cost((1_000, 10_000, HISTORY_CAP, 100_000), draft_ms),
        "",
        "Chosen: the exact product over a cached matrix (exact, incremental, no dependency)."
        " An approximate index (HNSW) pays off only where the share above becomes large:"
        " beyond the cap, or on hardware where the query's encoder pass is much cheaper.",
        f"Drafts: {drafts} complaint/question mentions from {source}, drafted by"
        " `Pipeline.draft_pending` (history synced per batch, drafts written to SQLite); "
        f"encoder: {'MiniLM (packaged)' if encoder else 'unavailable'}. "
        f"Command: `python -m bench history{' --quick' if quick else ''}`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick=True))
