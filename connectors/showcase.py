"""Write docs/DRAFTS.md: ten mentions from the embedded demo and the drafts they get.

Run ``python -m repbot.connectors.showcase [--out docs/DRAFTS.md]``. The page is generated from the
bundled demo sample (connectors/data/demo_mentions.jsonl), the brand of config.example.yaml and
the real responder in template mode with the sentence encoder, so it always shows what the
current templates and knowledge base produce. Sentiment, intent and language come from the
embedded classifier when it loads; otherwise from ``FALLBACK_LABELS`` (said so on the page).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from repbot.brand import BrandConfig
from repbot.models import Mention
from repbot.respond.config import ResponderConfig
from repbot.respond.draft import DraftContext
from repbot.respond.textsim import Embedder

REPO = Path(__file__).resolve().parents[2]
PICKS: tuple[str, ...] = ("001", "003", "007", "010", "011", "014", "015", "018", "021", "027")
"""Demo record ids shown: social, forum and review platforms; every intent; fraud; Spanish."""
FALLBACK_LABELS: dict[str, tuple[str, str]] = {
    "001": ("complaint", "negative"),
    "003": ("question", "neutral"),
    "007": ("question", "negative"),
    "010": ("praise", "positive"),
    "011": ("complaint", "negative"),
    "014": ("complaint", "negative"),
    "015": ("complaint", "negative"),
    "018": ("complaint", "negative"),
    "021": ("complaint", "negative"),
    "027": ("praise", "positive"),
}
"""What a human labeller says about each pick; used when the classifier weights do not load."""
BRAND = BrandConfig.model_validate(
    {
        "name": "Orbit",
        "aliases": ["Orbit Bank", "OrbitHelp"],
        "handles": {"x": "OrbitHelp", "reddit": "OrbitBank", "mastodon": "orbit"},
        "signoff": "— Sam at Orbit",
        "website": "https://orbit.example",
        "support_url": "https://orbit.example/help",
        "support_email": "help@orbit.example",
        "allowed_domains": ["status.orbit.example"],
    }
)
"""The demo brand (config.example.yaml's, used when that file is not next to the package)."""


@dataclass(frozen=True)
class Labelled:
    """A demo mention with the labels it is drafted with."""

    context: DraftContext
    source: str


def demo_brand() -> BrandConfig:
    """The ``brand`` section of config.example.yaml, else ``BRAND``."""
    path = REPO / "config.example.yaml"
    if not path.exists():
        return BRAND
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return BrandConfig.model_validate(data.get("brand") or {})


def demo_mentions() -> list[Mention]:
    """The picked demo records as the demo source would emit them."""
    from repbot.connectors.demo import load_sample

    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    records = {r["id"]: r for r in load_sample()}
    return [_mention(records[i], now) for i in PICKS]


def _mention(record: dict[str, Any], now: datetime) -> Mention:
    return Mention.model_validate(
        {
            "platform": record["platform"],
            "external_id": f"demo-{record['id']}",
            "kind": record["kind"],
            "author": record["author"],
            "text": record["text"],
            "rating": record.get("rating"),
            "created_at": now - timedelta(minutes=record.get("minutes_ago", 1)),
            "metrics": record.get("metrics") or {},
        }
    )


def label(mentions: list[Mention], brand: BrandConfig) -> list[Labelled]:
    """Draft contexts labelled by the embedded classifier, else by ``FALLBACK_LABELS``."""
    try:
        from repbot.classify.analyze import analyze
        from repbot.classify.config import UrgencyConfig
        from repbot.classify.intent import BrandContext
        from repbot.classify.sentiment import load_classifier

        analyses = analyze(
            mentions,
            load_classifier(),
            UrgencyConfig(),
            BrandContext.from_config(brand),
            None,
            datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        )
    except Exception as exc:  # noqa: BLE001 - the classifier is optional: say why, use the fallback
        return [_fallback(m, f"fallback labels ({type(exc).__name__})") for m in mentions]
    return [
        Labelled(
            DraftContext(
                m,
                sentiment=a.label,  # type: ignore[arg-type]
                intent=a.intent,
                urgency=a.urgency,
                probs=a.probs,
                language=a.language,
            ),
            "embedded classifier",
        )
        for m, a in zip(mentions, analyses, strict=True)
    ]


def _fallback(mention: Mention, source: str) -> Labelled:
    intent, sentiment = FALLBACK_LABELS[mention.external_id.removeprefix("demo-")]
    ctx = DraftContext(mention, sentiment=sentiment, intent=intent, urgency=0.5)  # type: ignore[arg-type]
    return Labelled(ctx, source)


def _embedder() -> Embedder | None:
    from repbot.app import load_embedder

    return load_embedder("embedded")  # the daemon's encoder; None (logged): lexical retrieval


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


async def render(labels: str = "auto") -> str:
    """The Markdown page (``labels``: ``auto`` tries the classifier, ``fallback`` does not)."""
    brand = demo_brand()
    embedder = _embedder()
    from repbot.app import build_responder

    responder = build_responder(ResponderConfig(), brand, embedder)
    mentions = demo_mentions()
    items = (
        label(mentions, brand)
        if labels == "auto"
        else [_fallback(m, "fallback labels") for m in mentions]
    )
    retrieval = "sentence encoder (MiniLM)" if embedder else "lexical TF-IDF (encoder unavailable)"
    out = [
        "# Sample drafts (embedded demo, template mode)",
        "",
        "Ten mentions from the bundled demo sample (connectors/data/demo_mentions.jsonl, the",
        "fictional bank *Orbit*) and the drafts the responder gives them offline, with the brand",
        "of config.example.yaml and the packaged prompts/ folder. Generated by",
        "`python -m repbot.connectors.showcase`; do not edit by hand.",
        "",
        f"Labels: {items[0].source if items else '—'}. Knowledge retrieval: {retrieval}.",
        "",
    ]
    for n, item in enumerate(items, 1):
        ctx = item.context
        m = ctx.mention
        draft = await responder.draft(ctx)
        who = m.author.display_name or m.author.handle
        stars = f", {m.rating}★" if m.rating else ""
        lang = f", language {ctx.language}" if ctx.language and ctx.language != "en" else ""
        out += [
            f"## {n}. {m.platform}: {ctx.intent} ({ctx.sentiment}{lang}) from {who}{stars}",
            "",
            _quote(m.text),
            "",
            "**Draft:**",
            "",
            _quote(draft.text),
            "",
            f"<sub>{len(draft.text)}/{draft.limit} chars · template `{draft.template}` · "
            f"knowledge: {', '.join(draft.knowledge) or '—'}</sub>",
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write the page to ``--out`` (default docs/DRAFTS.md), or stdout with ``--out -``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/DRAFTS.md")
    parser.add_argument("--labels", choices=["auto", "fallback"], default="auto")
    args = parser.parse_args(argv)
    page = asyncio.run(render(args.labels))
    if args.out == "-":
        print(page)
    else:
        Path(args.out).write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
