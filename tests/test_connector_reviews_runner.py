"""Trustpilot, Yelp, App Store and Hacker News through the daemon's runner into SQLite.

Review edits reach the store as revisions, replies made on the platform as ``owner_reply``, and
a steady poll stores nothing and costs one request per stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repbot.connectors.app_store import AppStoreConnector
from repbot.connectors.app_store.simulator import AppStoreSimulator
from repbot.connectors.hackernews import HackerNewsConnector
from repbot.connectors.hackernews.simulator import HackerNewsSimulator
from repbot.connectors.trustpilot import TrustpilotConnector
from repbot.connectors.trustpilot.simulator import TrustpilotSimulator
from repbot.runner import SourceRunner
from repbot.store import SqliteStore

UNIT = "5f0000000000000000000u01"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    db = SqliteStore(tmp_path / "repbot.db")
    yield db
    db.close()


async def test_trustpilot_edits_and_replies_reach_the_store(store: SqliteStore) -> None:
    async with TrustpilotSimulator() as sim:
        reviews = sim.seed(UNIT, 12, spacing=600)
        options = {"api_base_url": sim.url, "business_unit_ids": [UNIT], **sim.credentials()}
        connector = TrustpilotConnector("tp", TrustpilotConnector.Config.model_validate(options))
        runner = SourceRunner(store, connector)
        try:
            first = await runner.poll()
            assert first.new == 12 and first.error is None
            sim.edit(reviews[10].id, 5, "Sorted out in an hour, thank you.")
            sim.company_reply(reviews[11].id, "We are sorry, refund on its way.")
            second = await runner.poll()
            assert second.new == 0 and second.revised == 1 and second.error is None
            sim.reset_requests()
            quiet = await runner.poll()
            assert (quiet.new, quiet.revised) == (0, 0) and len(sim.requests) == 1
        finally:
            await connector.aclose()
    edited = store.find("trustpilot", reviews[10].id)
    answered = store.find("trustpilot", reviews[11].id)
    assert edited is not None and answered is not None
    assert edited.mention.rating == 5
    assert [r.rating for r in store.revisions(edited.id)] == [1]  # seeded as 10 % 5 + 1
    assert answered.mention.owner_reply is not None


async def test_app_store_and_hackernews_poll_through_the_runner(store: SqliteStore) -> None:
    async with AppStoreSimulator() as apple, HackerNewsSimulator() as hn:
        apple.seed("42", 250, spacing=60)
        story = hn.add_story("Orbit Bank outage", created_at=datetime.now(UTC) - timedelta(hours=1))
        hn.add_comment(story, "Orbit Bank is down again", created_at=datetime.now(UTC))
        ios = AppStoreConnector(
            "ios",
            AppStoreConnector.Config.model_validate(
                {"api_base_url": apple.url, "app_ids": ["42"], **apple.credentials()}
            ),
        )
        news = HackerNewsConnector(
            "hn",
            HackerNewsConnector.Config.model_validate(
                {"api_base_url": hn.url, "queries": ["orbit bank"]}
            ),
        )
        try:
            assert (await SourceRunner(store, ios).poll()).new == 250
            result = await SourceRunner(store, news).poll()
            assert result.new == 2
        finally:
            await ios.aclose()
            await news.aclose()
    comment = next(
        i
        for i in (store.find("hackernews", str(n.id)) for n in hn.items)
        if i and i.mention.kind == "comment"
    )
    story_item = store.find("hackernews", str(story.id))
    assert story_item is not None and comment.mention.thread.root == str(story.id)
