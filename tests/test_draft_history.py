"""Drafting cost does not grow with the approved-reply history (issue 11, "drafting slows").

Behaviour, not time: the texts the encoder embeds per draft are counted with a counting
embedder, and the store queries' plans are checked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from test_respond_helpers import brand, mention

from repbot import workflow
from repbot.config import parse_config
from repbot.models import State
from repbot.pipeline import Pipeline
from repbot.respond import DraftContext, Responder, ResponderConfig
from repbot.respond.draft import rank_examples
from repbot.respond.history import MAX_POSTINGS, MAX_QUERY_TERMS, ExampleHistory, LexicalIndex
from repbot.respond.textsim import terms
from repbot.store import SqliteStore
from repbot.store.sqlite import APPROVED_SINCE_SQL
from repbot.testing.fakes import KeywordClassifier, make_mention

TOPICS = ["refund", "parcel", "password", "invoice", "login", "battery", "screen", "courier"]
WORDS = ["late", "broken", "missing", "charged", "locked", "cracked", "lost", "twice", "slow"]
ANALYSIS = {"label": "negative", "intent": "complaint", "urgency": 0.7, "explanation": []}


class CountingEmbedder:
    """A deterministic bag-of-terms embedder that counts every text it embeds."""

    model_id = "counting-hash:128"

    def __init__(self, dim: int = 128) -> None:
        self.dim = dim
        self.texts = 0
        self.calls = 0

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                out[row, int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _text(i: int) -> str:
    return f"my {TOPICS[i % len(TOPICS)]} is {WORDS[(i // 8) % len(WORDS)]} case{i}"


def _approve(store: SqliteStore, start: int, count: int, edit_every: int = 0) -> list[int]:
    """``count`` approved (every ``edit_every``-th edited) replies, through the store API."""
    mentions = [make_mention(i, text=_text(i)) for i in range(start, start + count)]
    ids = store.ingest("src", mentions, None).new_ids
    for n, mention_id in enumerate(ids, start):
        store.set_classified(mention_id, ANALYSIS)
        store.set_draft(mention_id, f"Sorry about that ({n})", {"limit": 280})
        edited = bool(edit_every) and n % edit_every == 0
        workflow.decide(
            store, mention_id, "edit" if edited else "approve", "ann", text=f"Reply {n}"
        )
    return ids


def _context(i: int, text: str) -> DraftContext:
    return DraftContext(mention(text, external_id=f"q{i}"), intent="complaint", language="en")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "history.db")


async def _texts_per_draft(store: SqliteStore, drafts: int = 6) -> list[int]:
    embedder = CountingEmbedder()
    responder = Responder(ResponderConfig(), brand(), embedder=embedder)
    await responder.sync_history(store)
    await responder.draft(_context(0, "warm up the knowledge rows"))
    per_draft = []
    for i in range(drafts):
        before = embedder.texts
        await responder.sync_history(store)
        await responder.draft(_context(i, f"my parcel is late again {i}"))
        per_draft.append(embedder.texts - before)
    return per_draft


async def test_texts_embedded_per_draft_are_constant_with_history(store: SqliteStore) -> None:
    empty = await _texts_per_draft(store)
    _approve(store, 0, 500)
    full = await _texts_per_draft(store)
    assert empty == full == [1] * 6


async def test_knowledge_and_query_are_embedded_once(store: SqliteStore) -> None:
    _approve(store, 0, 20)
    embedder = CountingEmbedder()
    responder = Responder(ResponderConfig(), brand(), embedder=embedder)
    assert await responder.sync_history(store) == 20
    backfill = embedder.texts
    rows = sum(len(s.search_rows) for s in responder.knowledge.snippets)
    for i in range(10):
        await responder.draft(_context(i, f"I was charged twice for my invoice {i}"))
    assert (backfill, embedder.texts - backfill) == (20, rows + 10)


async def test_a_new_approval_is_retrievable_at_the_next_draft(store: SqliteStore) -> None:
    _approve(store, 0, 50)
    embedder = CountingEmbedder()
    responder = Responder(ResponderConfig(), brand(), embedder=embedder)
    await responder.sync_history(store)
    query = "the quokka sticker fell off my zeppelin"
    top = [r.example.mention_text for r in responder.history.rank(query, k=1)]
    assert query not in top
    [new] = store.ingest("src", [make_mention(900, text=query)], None).new_ids
    store.set_classified(new, ANALYSIS)
    store.set_draft(new, "Sorry!", {})
    workflow.decide(store, new, "edit", "ann", text="So sorry about the zeppelin sticker!")
    before = embedder.texts
    assert await responder.sync_history(store) == 1
    assert embedder.texts - before == 1
    [best] = responder.history.rank(query, k=1)
    assert (best.example.mention_text, best.example.edited) == (query, True)
    assert best.example.reply_text == "So sorry about the zeppelin sticker!"


async def test_restart_reloads_vectors_without_embedding_again(store: SqliteStore) -> None:
    _approve(store, 0, 300, edit_every=7)
    first = ExampleHistory(CountingEmbedder())
    await first.sync(store)
    assert first.embedded == 300
    again = CountingEmbedder()
    restarted = ExampleHistory(again)
    assert await restarted.sync(store) == 300
    assert (restarted.embedded, again.texts, len(restarted)) == (0, 0, 300)
    query = "my refund is late"
    vector = again.embed([query])[0]
    assert [(r.example, r.score) for r in restarted.rank(query, vector, 5)] == [
        (r.example, r.score) for r in first.rank(query, vector, 5)
    ]


async def test_vectors_of_another_model_are_computed_again(store: SqliteStore) -> None:
    _approve(store, 0, 40)
    await ExampleHistory(CountingEmbedder()).sync(store)
    other = CountingEmbedder(dim=64)
    other.model_id = "another-model:64"  # type: ignore[misc]
    history = ExampleHistory(other)
    await history.sync(store)
    assert history.embedded == 40
    stored = store.conn.execute(
        "SELECT model, dim, count(*) FROM example_embeddings GROUP BY model ORDER BY model"
    ).fetchall()
    assert [tuple(r) for r in stored] == [
        ("another-model:64", 64, 40),
        ("counting-hash:128", 128, 40),
    ]


async def test_ranking_matches_ranking_the_same_examples_directly(store: SqliteStore) -> None:
    _approve(store, 0, 60, edit_every=5)
    examples = [s.example for s in store.approved_since(0, None, 1000)][::-1]
    queries = ("my refund is late", "my login is locked case13", "battery cracked case44")
    embedder = CountingEmbedder()
    semantic = ExampleHistory(embedder)
    await semantic.sync(store)
    for query in queries:
        direct = rank_examples(query, examples, embedder, k=4)
        mine = semantic.rank(query, k=4)
        assert [r.example for r in mine] == [r.example for r in direct], query
        assert np.allclose([r.score for r in mine], [r.score for r in direct], atol=1e-5)
    lexical = ExampleHistory(None)
    await lexical.sync(store)
    for query in queries[1:]:
        [best] = rank_examples(query, examples, None, k=1)
        assert [r.example for r in lexical.rank(query, k=1)] == [best.example], query
    assert all(0 < r.score <= 1.5 for r in lexical.rank(queries[0], k=10))


async def test_pipeline_drafts_with_the_history_and_picks_up_approvals(tmp_path: Path) -> None:
    config = parse_config(f"brand: {{name: Acme}}\nstore: {{path: {tmp_path / 'p.db'}}}\n")
    store = SqliteStore(tmp_path / "p.db")
    _approve(store, 0, 200)
    embedder = CountingEmbedder()
    responder = Responder(config.responder, config.brand, embedder=embedder)
    pipeline = Pipeline(store, config, KeywordClassifier(), responder)
    store.ingest("src", [make_mention(1000 + i) for i in range(5)], None)
    await pipeline.drain()
    drafted = store.queue(states=[State.AWAITING_APPROVAL])
    assert len(drafted) == 5 and len(responder.history) == 200
    assert responder.history.embedded == 200
    assert embedder.texts <= 200 + sum(len(s.search_rows) for s in responder.knowledge.snippets) + 5
    workflow.decide(store, drafted[0].id, "approve", "ann", text="Thanks, sorted!")
    store.ingest("src", [make_mention(2000)], None)
    await pipeline.drain()
    assert (len(responder.history), responder.history.embedded) == (201, 201)
    store.close()


async def test_history_keeps_the_newest_cap_and_starts_from_them(store: SqliteStore) -> None:
    _approve(store, 0, 150)
    history = ExampleHistory(CountingEmbedder(), cap=100)
    await history.sync(store)
    assert (len(history), history.embedded) == (100, 100)
    _approve(store, 150, 40)
    await history.sync(store)
    assert 100 <= len(history) <= 100 + 100 // 8
    newest = {r.example.mention_text for r in history.rank("case189 case188", k=2)}
    assert newest == {_text(189), _text(188)}
    lexical = ExampleHistory(None, cap=100)
    await lexical.sync(store)
    assert 100 <= len(lexical) <= 112
    assert lexical.rank("case0", k=1) == []
    assert [r.example.mention_text for r in lexical.rank("case189", k=1)] == [_text(189)]


def test_lexical_candidates_are_bounded_whatever_the_history() -> None:
    index = LexicalIndex()
    for i in range(3000):
        index.add(f"{' '.join(TOPICS)} {' '.join(WORDS)} order{i}")
    query = " ".join(TOPICS + WORDS + [f"word{i}" for i in range(40)])
    found = index.scores(query)
    assert 0 < len(found) <= MAX_POSTINGS
    assert len({t for t in terms(query)}) > MAX_QUERY_TERMS
    assert min(found) >= 3000 - MAX_POSTINGS


async def test_a_failing_encoder_during_sync_does_not_stop_drafting(store: SqliteStore) -> None:
    _approve(store, 0, 10)

    class Broken(CountingEmbedder):
        def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
            if any("case" in t for t in texts):
                raise RuntimeError("encoder out of memory")
            return super().embed(texts)

    responder = Responder(ResponderConfig(), brand(), embedder=Broken())
    assert await responder.sync_history(store) == 0
    draft = await responder.draft(_context(0, "my parcel is late"))
    assert draft.text and len(responder.history) == 0


def test_history_queries_use_the_decisions_primary_key(store: SqliteStore) -> None:
    rows = store.conn.execute(f"EXPLAIN QUERY PLAN {APPROVED_SINCE_SQL}", ("m", 0, 10))
    plan = " | ".join(str(r[3]) for r in rows)
    assert "SEARCH d USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan


def test_approved_examples_are_unchanged(store: SqliteStore) -> None:
    _approve(store, 0, 3, edit_every=2)
    assert [e.reply_text for e in store.approved_examples()] == ["Reply 2", "Reply 1", "Reply 0"]
    assert [s.example.edited for s in store.approved_since(0)] == [True, False, True]
    assert store.approved_floor(2) == store.approved_since(0)[0].decision_id
    assert store.approved_floor(3) == 0
