"""The daemon with every issue-14 source at once, each against its simulator over loopback,
through the connector's real client library: mentions of every platform flow, ranked and
drafted; an approved reply is posted where the platform can reply and waits for "post
manually" where it cannot (Yelp, Hacker News, RSS)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from repbot import workflow
from repbot.config import parse_config
from repbot.daemon import Daemon
from repbot.models import State
from repbot.poster import MANUAL
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, wait_until

pytestmark = pytest.mark.slow
PER_SOURCE = 4
NO_REPLY = {"yelp", "hackernews", "rss"}
UNIT, BIZ, APP = "5f0000000000000000000u01", "orbit-bank-soho", "1234567890"

Setup = Callable[[Any, Path], dict[str, Any]]


def _google_business(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed_reviews(PER_SOURCE, [sim.add_location("King St")], spread_seconds=600)
    return sim.credentials()  # type: ignore[no-any-return]


def _google_play(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed_reviews(PER_SOURCE, spread_seconds=600)
    return sim.credentials(tmp / "play-key.json")  # type: ignore[no-any-return]


def _trustpilot(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed(UNIT, PER_SOURCE)
    return {"api_base_url": sim.url, "business_unit_ids": [UNIT], **sim.credentials()}


def _yelp(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed(BIZ, PER_SOURCE, spacing=600)
    return {"api_base_url": sim.url, "business_ids": [BIZ], **sim.credentials()}


def _app_store(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed(APP, PER_SOURCE)
    return {"api_base_url": sim.url, "app_ids": [APP], **sim.credentials()}


def _hackernews(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed(PER_SOURCE, "Orbit")
    return {"api_base_url": sim.url, "queries": ["orbit"]}


def _rss(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.add_feed("news")
    sim.seed("news", PER_SOURCE, "Orbit")
    return {"api_base_url": sim.url, "feeds": [sim.feed_path("news")]}


def _mastodon(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed_mentions(PER_SOURCE)
    return sim.options()  # type: ignore[no-any-return]


def _bluesky(sim: Any, tmp: Path) -> dict[str, Any]:
    sim.seed_mentions(PER_SOURCE)
    return sim.options()  # type: ignore[no-any-return]


SOURCES: dict[str, tuple[str, Setup]] = {
    "google_business": ("GoogleBusinessSimulator", _google_business),
    "google_play": ("GooglePlaySimulator", _google_play),
    "trustpilot": ("TrustpilotSimulator", _trustpilot),
    "yelp": ("YelpSimulator", _yelp),
    "app_store": ("AppStoreSimulator", _app_store),
    "hackernews": ("HackerNewsSimulator", _hackernews),
    "rss": ("RssSimulator", _rss),
    "mastodon": ("MastodonSimulator", _mastodon),
    "bluesky": ("BlueskySimulator", _bluesky),
}


def _simulator_class(platform: str) -> type[Any]:
    module = importlib.import_module(f"repbot.connectors.{platform}.simulator")
    return getattr(module, SOURCES[platform][0])  # type: ignore[no-any-return]


@pytest.fixture
async def sources(tmp_path: Path) -> AsyncIterator[dict[str, tuple[Any, dict[str, Any]]]]:
    async with AsyncExitStack() as stack:
        running = {}
        for platform, (_, setup) in SOURCES.items():
            cls = _simulator_class(platform)
            assert cls is not None
            sim = await stack.enter_async_context(cls())
            running[platform] = (sim, setup(sim, tmp_path))
        yield running


def _config(tmp_path: Path, sources: dict[str, tuple[Any, dict[str, Any]]]) -> str:
    entries = [
        {"name": platform, "type": platform, "interval": 1, **options}
        for platform, (_, options) in sources.items()
    ]
    return yaml.safe_dump(
        {
            "brand": {"name": "Orbit"},
            "store": {"path": str(tmp_path / "repbot.db")},
            "sources": entries,
            "server": {"enabled": False},
            "pipeline": {"tick": 0.05},
            "responder": {"min_urgency": {"other": 0.0}},
        }
    )


def _platforms(store: SqliteStore, state: State | None = None) -> set[str]:
    where, args = ("WHERE state = ?", (state.value,)) if state else ("", ())
    rows = store.conn.execute(f"SELECT DISTINCT platform FROM mentions {where}", args)
    return {r[0] for r in rows}


async def test_every_source_flows_drafts_and_posts_or_waits_for_a_human(
    tmp_path: Path, sources: dict[str, tuple[Any, dict[str, Any]]]
) -> None:
    daemon = Daemon(parse_config(_config(tmp_path, sources)), classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    store = daemon.store
    assert isinstance(store, SqliteStore)
    try:
        await wait_until(lambda: _platforms(store) == set(SOURCES), 120)
        await wait_until(lambda: not {"new", "classified"} & set(store.counts()), 120)
        assert not [s.source for s in store.source_status() if s.disabled or s.last_error]
        chosen = {}
        for platform in SOURCES:
            waiting = store.queue([State.AWAITING_APPROVAL], platform=platform, limit=1)
            if waiting:
                chosen[platform] = waiting[0].id
                text = f"Sorry about that, we are on it (#{waiting[0].id})."
                workflow.decide(store, waiting[0].id, "approve", "tester", text=text)
        assert set(SOURCES) - NO_REPLY <= set(chosen), "a replying platform drafted nothing"
        replying = [mid for p, mid in chosen.items() if p not in NO_REPLY]
        manual = [mid for p, mid in chosen.items() if p in NO_REPLY]
        await wait_until(lambda: all(store.get(m).state is State.POSTED for m in replying), 120)
        await wait_until(lambda: all(store.get(m).last_error == MANUAL for m in manual), 120)
        assert all(not store.get(m).sandbox_post for m in replying)  # the platforms' own APIs
        assert all(store.get(m).state is State.APPROVED for m in manual)
        assert await daemon.poster.run_once() == 0  # nothing posts twice
    finally:
        await daemon.stop()
