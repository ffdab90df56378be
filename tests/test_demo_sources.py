"""The bundled demo shows every platform of issue 14, an edit, a reply made on the platform
and conversations."""

from __future__ import annotations

from pathlib import Path

from repbot.config import parse_config
from repbot.connectors.demo import DemoConfig, DemoConnector, load_sample
from repbot.followups import ANSWERED
from repbot.pipeline import Pipeline
from repbot.platforms import family
from repbot.respond import Responder
from repbot.runner import SourceRunner
from repbot.store.sqlite import SqliteStore
from repbot.testing.fakes import KeywordClassifier

PLATFORMS = {
    "google_business",
    "trustpilot",
    "yelp",
    "app_store",
    "google_play",
    "hackernews",
    "rss",
    "mastodon",
    "bluesky",
}


def test_the_sample_has_every_platform_and_stars_on_reviews() -> None:
    sample = load_sample()
    assert {r["platform"] for r in sample} >= PLATFORMS
    reviews = [r for r in sample if family(r["platform"]) == "review"]
    assert reviews and all(1 <= r["rating"] <= 5 for r in reviews)
    assert any("edit_of" in r for r in sample) and any("owner_reply" in r for r in sample)
    assert any("replies_to" in r for r in sample)


async def test_the_demo_shows_an_edit_an_answer_and_conversations(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    config = parse_config(f"brand: {{name: Orbit}}\nstore: {{path: {tmp_path / 'x.db'}}}\n")
    responder = Responder(config.responder, config.brand)
    pipeline = Pipeline(repbot_store, config, KeywordClassifier(), responder)
    connector = DemoConnector("demo", DemoConfig(per_poll=5, sandbox_dir=tmp_path / "box"))
    runner = SourceRunner(repbot_store, connector)
    for _ in range(len(load_sample()) // 5 + 1):
        await runner.poll()
        await pipeline.drain()
    await connector.aclose()

    def item(ident: str) -> int:
        row = repbot_store.conn.execute(
            "SELECT id FROM mentions WHERE external_id = ?", (f"demo-{ident}",)
        ).fetchone()
        assert row is not None, ident
        return int(row[0])

    edited = repbot_store.get(item("009"))
    assert (edited.revisions, edited.original_rating, edited.mention.rating) == (1, 1, 4)
    assert repbot_store.get(item("038")).skip_reason == ANSWERED
    joined = repbot_store.get(item("037"))
    assert joined.skip_reason == f"joined conversation #{item('036')}"
    follow_up = repbot_store.get(item("039"))  # answers Ana's post, still open: joins it
    assert follow_up.conversation_id == item("017")
    assert len(repbot_store.conversation(item("017"))) == 2
