"""Urgency: pairwise agreement with a support lead's order, before vs after (issue 15).

``python -m bench urgency --update``. Data: ``bench/data/urgency_pairs.jsonl``, pairs written
for the project (``more`` is the mention a support lead would answer first), across escalation
categories, platforms and languages. Both rows use the same embedded sentiment model in the
same run. "Before" is the previous scoring reproduced in the current code: one weight (0.25)
for every escalation category, the English term list, no money amount, no language floor, no
press/legal/security intent weights, and rules-only intent.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from repbot.classify.analyze import analyze
from repbot.classify.config import ClassifierConfig, UrgencyConfig
from repbot.classify.intent_model import IntentPredictor, load_intent_model
from repbot.models import Author, Mention

PAIRS = Path(__file__).resolve().parent / "data" / "urgency_pairs.jsonl"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BEFORE_TERMS: dict[str, Any] = {
    "legal": ["lawyer", "attorney", "sue", "suing", "lawsuit", "legal action", "court"],
    "safety": ["injured", "injury", "hospital", "food poisoning", "sick", "fire", "burned",
               "exploded", "allergic reaction", "unsafe"],
    "security": ["hacked", "breach", "stolen", "fraud", "scam", "phishing", "identity theft"],
    "money": ["chargeback", "refund", "cancel", "cancelling", "canceling", "overcharged"],
    "press": ["journalist", "reporter", "going to the press", "news", "going viral", "bbb"],
}  # fmt: skip
BEFORE = UrgencyConfig(
    escalation_weights={},
    escalation_terms=BEFORE_TERMS,
    senior_categories=[],
    amount=0.0,
    foreign_floor=0.0,
    press=0.0,
    legal=0.0,
    security=0.0,
)


def read_pairs(path: Path = PAIRS) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(more urgent, less urgent)`` records."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(r["more"], r["less"]) for r in rows]


def _mention(record: dict[str, Any], n: int) -> Mention:
    rating = record.get("rating")
    return Mention(
        platform=record["platform"],
        external_id=str(n),
        kind="review" if rating else "post",
        text=record["text"],
        rating=rating,
        author=Author(handle=f"u{n}", followers=record.get("followers")),
        created_at=NOW - timedelta(minutes=10),
    )


def _tag(record: dict[str, Any]) -> str:
    return str(record["tag"]).split("-")[0] if "-" in record["tag"] else "en"


def run(quick: bool = False) -> str:
    """Score every pair before and after; the Markdown section."""
    from repbot.classify.embed import SentenceEmbedder
    from repbot.classify.sentiment import load_classifier

    pairs = read_pairs()
    classifier = load_classifier(ClassifierConfig())
    intents = IntentPredictor(load_intent_model(), SentenceEmbedder.default())
    mentions = [_mention(r, i) for i, pair in enumerate(pairs) for r in pair]
    before = analyze(mentions, classifier, BEFORE, None, None, NOW, intent_model=None)
    after = analyze(mentions, classifier, UrgencyConfig(), None, None, NOW, intent_model=intents)
    rows = []
    for name, results in (("before", before), ("after", after)):
        agree: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for i, (more, _less) in enumerate(pairs):
            group = _tag(more)
            ok = results[2 * i].urgency > results[2 * i + 1].urgency
            for key in ("all", "English" if group == "en" else "other languages"):
                total[key] += 1
                agree[key] += ok
        rows.append((name, agree, total))
    lines = [
        "## Urgency ordering (issue 15)",
        "",
        f"{len(pairs)} pairs written for the project (`bench/data/urgency_pairs.jsonl`): a "
        "support lead's order across security, safety, money, legal, press, service, praise, "
        "spam and off-topic mentions on nine platforms, "
        f"{sum(_tag(m) != 'en' for m, _ in pairs)} of them led by a non-English mention "
        "(es, fr, de, pt, it, nl, ja). Agreement = share of pairs where the first scores "
        "strictly higher.",
        "",
        "| scoring | all pairs | English-led | other languages |",
        "|---|---|---|---|",
    ]
    for name, agree, total in rows:
        cells = [
            f"{agree[k] / total[k]:.3f} ({agree[k]}/{total[k]})"
            for k in ("all", "English", "other languages")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    misses = [
        f"{pairs[i][0]['text'][:60]}… vs {pairs[i][1]['text'][:40]}…"
        for i in range(len(pairs))
        if after[2 * i].urgency <= after[2 * i + 1].urgency
    ]
    if misses:
        lines += ["", "Pairs the new scoring still orders the other way:", ""]
        lines += [f"* {m}" for m in misses[:12]]
    return "\n".join(lines)
