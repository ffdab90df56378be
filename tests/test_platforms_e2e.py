"""The daemon against the X and Reddit simulators, through tweepy and praw over loopback:
a 1,000-mention burst per platform arrives across many pages while it runs, none missed or
duplicated; approved replies are posted exactly once; a rate limit makes the source wait."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from repbot import workflow
from repbot.config import parse_config
from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.connectors.x.simulator import XSimulator
from repbot.daemon import Daemon
from repbot.models import State
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, wait_until

pytestmark = pytest.mark.slow
BURST = 1000


def _config(tmp_path: Path, x: XSimulator, reddit: RedditSimulator) -> str:
    x_source = {
        "name": "x",
        "type": "x",
        "interval": 1,
        "api_base_url": x.url,
        "brand_username": "acme",
        "max_pages_per_poll": 50,
        "tier": "enterprise",
        "overlap": 2,
        **x.credentials(),
    }
    reddit_source = {
        "name": "reddit",
        "type": "reddit",
        "interval": 1,
        "subreddits": ["acme"],
        "max_pages_per_poll": 50,
        **reddit.credentials(),
    }
    return yaml.safe_dump(
        {
            "brand": {"name": "Acme"},
            "store": {"path": str(tmp_path / "repbot.db")},
            "sources": [x_source, reddit_source],
            "server": {"enabled": False},
            "pipeline": {"tick": 0.05, "batch_size": 256},
            "responder": {"min_urgency": {"other": 0.0}},
        }
    )


async def test_burst_ingested_once_replies_once_and_rate_limit_waits(tmp_path: Path) -> None:
    async with XSimulator(reject_duplicates=False) as x, RedditSimulator() as reddit:
        daemon = Daemon(parse_config(_config(tmp_path, x, reddit)), classifier=KeywordClassifier())
        await daemon.initialise()
        await daemon.start()
        store = daemon.store
        assert isinstance(store, SqliteStore)
        try:
            await wait_until(
                lambda: (
                    all(s.last_success for s in store.source_status())
                    and len(store.source_status()) == 2
                )
            )
            tweets = x.seed_mentions(BURST, spread_seconds=2)
            things = reddit.seed_mentions(BURST, spread_seconds=2)

            def stored(platform: str) -> set[str]:
                rows = store.conn.execute(
                    "SELECT external_id FROM mentions WHERE platform = ?", (platform,)
                ).fetchall()
                return {r[0] for r in rows}

            await wait_until(lambda: len(stored("x")) >= BURST and len(stored("reddit")) >= BURST)
            assert stored("x") == {str(t.id) for t in tweets}
            assert stored("reddit") == {t.fullname for t in things}
            assert len(x.calls("mentions")) < 3 * BURST / 100
            listings = [r for r in reddit.requests if r.route in ("new", "comments", "mentions")]
            assert len(listings) < 4 * BURST / 100

            await wait_until(lambda: store.counts().get("awaiting_approval", 0) >= 20, 120)
            chosen = {
                p: store.queue([State.AWAITING_APPROVAL], platform=p, limit=3)
                for p in ("x", "reddit")
            }
            for items in chosen.values():
                for item in items:
                    workflow.decide(
                        store, item.id, "approve", "tester", text=f"Sorry about that #{item.id}"
                    )
            ids = [i.id for items in chosen.values() for i in items]
            await wait_until(lambda: all(store.get(i).state is State.POSTED for i in ids))
            assert await daemon.poster.run_once() == 0  # nothing left that could post again
            assert sorted(t.text for t in x.replies_by_brand()) == sorted(
                f"Sorry about that #{i.id}" for i in chosen["x"]
            )
            assert len(reddit.replies_by_account()) == len(chosen["reddit"])

            x.inject(
                "mentions",
                429,
                {"title": "Too Many Requests"},
                {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "9999999999"},
                times=5,
            )
            runner = daemon.runners["x"]
            await wait_until(lambda: runner.not_before > runner.clock() + 60)
            calls = len(x.calls("mentions"))
            for _ in range(3):
                assert "backoff" in ((await runner.poll()).skipped_reason or "")
            assert len(x.calls("mentions")) == calls
            assert not store.source_status()[1].disabled
        finally:
            await daemon.stop()
