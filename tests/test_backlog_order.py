"""In a burst, the most urgent mentions are drafted first, not the first ones classified."""

from __future__ import annotations

from pathlib import Path

import pytest

import repbot.pipeline
from repbot.config import parse_config
from repbot.models import State
from repbot.pipeline import Pipeline
from repbot.respond import Responder
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, make_mention

URGENT = "@Acme my account was hacked and £900 was moved out, I am calling my lawyer"
MILD = "@Acme the app is a little slow to open today"


async def test_a_backlog_is_drafted_most_urgent_first(
    tmp_path: Path, repbot_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repbot.pipeline, "CLASSIFY_BUDGET", 3600.0)  # behaviour, not timing
    config = parse_config(
        f"store: {{path: {tmp_path / 'r.db'}}}\npipeline: {{batch_size: 16}}\n"
        "responder: {min_urgency: {other: 0.0, complaint: 0.0}}\n"
    )
    mentions = [make_mention(i, text=f"{MILD} #{i}") for i in range(1, 111)]
    mentions += [make_mention(i, text=f"{URGENT} #{i}") for i in range(111, 121)]
    ids = repbot_store.ingest("src", mentions, None).new_ids
    pipeline = Pipeline(
        repbot_store, config, KeywordClassifier(), Responder(config.responder, config.brand)
    )

    await pipeline.run_once()

    items = [repbot_store.get(i) for i in ids]
    assert not [i for i in items if i.state is State.NEW]  # the whole burst was classified
    drafted = {i.id for i in items if i.state is State.AWAITING_APPROVAL}
    assert len(drafted) <= 16
    by_urgency = sorted(items, key=lambda i: -(i.urgency or 0.0))
    most_urgent = {i.id for i in by_urgency[:10]}
    assert most_urgent == set(ids[110:])  # the ten urgent texts score highest
    assert most_urgent <= drafted
