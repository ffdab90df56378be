"""Drafting throughput in template mode (drafts/s), against a bare Jinja render baseline."""

from __future__ import annotations

import asyncio
import csv
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from repbot import platforms as registry
from repbot.connectors.showcase import BRAND
from repbot.models import Author, Mention
from repbot.respond import DraftContext, Responder, ResponderConfig

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TWCS = SHARED / "data" / "conversations" / "twcs-first-5000.csv"
INTENTS = ("complaint", "question", "praise", "other")


def _texts(n: int) -> tuple[list[str], str]:
    """Customer texts: real inbound tweets when ../shared is present, else the showcase set."""
    if TWCS.exists():
        with TWCS.open(encoding="utf-8") as fh:
            texts = [r["text"] for r in csv.DictReader(fh) if r["inbound"] == "True"]
        source = f"{TWCS.name} (inbound tweets)"
    else:
        from repbot.connectors.demo import load_sample

        texts = [r["text"] for r in load_sample()]
        source = "the embedded demo sample (../shared absent)"
    return [texts[i % len(texts)] for i in range(n)], source


def _contexts(n: int) -> tuple[list[DraftContext], str]:
    texts, source = _texts(n)
    platforms = [p for p in registry.names() if p not in ("demo", "file")]
    contexts = []
    for i, text in enumerate(texts):
        p = platforms[i % len(platforms)]
        review = p in ("google_business", "trustpilot", "yelp", "app_store", "google_play")
        mention = Mention(
            platform=p,
            external_id=f"bench-{i}",
            kind="review" if review else "post",
            author=Author(handle=f"user{i}", display_name="Alex Doe" if i % 2 else None),
            text=text,
            rating=(i % 5) + 1 if review else None,
            created_at=datetime(2024, 5, 1, tzinfo=UTC),
        )
        contexts.append(DraftContext(mention, intent=INTENTS[i % len(INTENTS)]))
    return contexts, source


async def _drafts(responder: Responder, contexts: list[DraftContext]) -> float:
    start = time.perf_counter()
    for ctx in contexts:
        await responder.draft(ctx)
    return time.perf_counter() - start


def _baseline(responder: Responder, contexts: list[DraftContext]) -> float:
    """A bare render of the first phrasing with a fixed context: no personalisation,
    retrieval, fitting or guardrails."""
    template = responder.templates.resolve("x", "complaint")
    block = responder.templates.blocks(template)[0]
    fixed = responder.context(contexts[0])
    start = time.perf_counter()
    for _ in contexts:
        responder.templates.render_block(template, block, fixed)
    return time.perf_counter() - start


def _encoder_rate(contexts: list[DraftContext]) -> str:
    """Drafts/s with the packaged sentence encoder doing retrieval, or why it is unavailable."""
    try:
        from repbot.classify import SentenceEmbedder

        embedder = SentenceEmbedder.default()
    except Exception as exc:  # noqa: BLE001 - optional measurement
        return f"n/a ({type(exc).__name__})"
    responder = Responder(ResponderConfig(), BRAND, embedder=embedder)
    asyncio.run(_drafts(responder, contexts[:10]))
    elapsed = asyncio.run(_drafts(responder, contexts))
    return f"{len(contexts) / elapsed:,.0f}"


def run(quick: bool = False) -> str:
    """Measure and return the Markdown section for bench/RESULTS.md."""
    n = 300 if quick else 3000
    contexts, source = _contexts(n)
    responder = Responder(ResponderConfig(), BRAND)
    asyncio.run(_drafts(responder, contexts[:50]))
    elapsed = asyncio.run(_drafts(responder, contexts))
    base = _baseline(responder, contexts)
    per_s, base_per_s = n / elapsed, n / base
    encoded = _encoder_rate(contexts[: n // 10])
    return "\n".join(
        [
            "### Responder: drafting throughput (template mode)",
            "",
            "| measure | value |",
            "|---|---|",
            f"| drafts | {n} over {len(registry.names()) - 2} platforms x {len(INTENTS)} intents |",
            f"| drafts/s (retrieval, personalisation, fit, guardrails) | {per_s:,.0f} |",
            f"| mean ms/draft | {1000 * elapsed / n:.2f} |",
            f"| baseline renders/s (one bare Jinja block render) | {base_per_s:,.0f} |",
            f"| full draft cost vs bare render | {base_per_s / per_s:.1f}x |",
            f"| drafts/s with the sentence encoder (MiniLM, {len(contexts) // 10} drafts) | "
            f"{encoded} |",
            "",
            f"Input: {source}. Lexical retrieval unless noted; language detection (py3langid) on"
            " every draft; one process, sequential awaits.",
            f"Command: `python -m bench` (quick={quick}). Machine: {platform.processor() or '?'}"
            f", {os.cpu_count()} CPUs, Python {platform.python_version()}.",
            "",
        ]
    )


if __name__ == "__main__":
    print(run(quick=True))
