"""Digests: volumes, the sentiment trend chart (PNG), top issues grouped by embeddings and named
by their phrases, KPI table, SLA breaches; posted to the fake Slack with the charts uploaded."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from ops_history import T0, add

from repbot.config import Config, parse_config
from repbot.digest import Digest, DigestPoster, HashingEmbedder, build_digest, summary
from repbot.store import SqliteStore
from repbot.testing.slack import FakeSlack

HOUR = timedelta(hours=1)
BILLING = [
    "I was charged twice for my order",
    "charged twice again, refund me",
    "you charged twice on my card",
    "why was I charged twice this month",
    "refund the double charge, charged twice",
    "charged twice for one coffee",
]
CRASHES = [
    "the app crashes on login",
    "app crashes every time I log in",
    "login screen crashes the app",
    "crashes at login since the update",
]


def _history(store: SqliteStore, start: datetime) -> None:
    with store.batch():
        for i, text in enumerate(BILLING):
            add(store, start + (100 + i * 10) * HOUR, text, sentiment="negative",
                intent="complaint", decided_at=start + (100 + i * 10) * HOUR + HOUR)  # fmt: skip
        for i, text in enumerate(CRASHES):
            add(store, start + (2 + i * 5) * HOUR, text, platform="trustpilot", kind="review",
                sentiment="negative", intent="complaint")  # fmt: skip
        for i in range(5):
            add(store, start + (i * 30 + 1) * HOUR, "love it, great service", sentiment="positive")


def _png_width(png: bytes) -> int:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return int(mpimg.imread(io.BytesIO(png), format="png").shape[1])


def _digest(store: SqliteStore, config: Config) -> Digest:
    return build_digest(
        store, config, T0, T0 + timedelta(days=7), embedder=HashingEmbedder(), title="weekly"
    )


def test_digest_contents(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "d.db")
    _history(store, T0)
    add(store, T0 + timedelta(days=9), "after the period", sentiment="negative")
    store.add_alert("demo", "sla_breach", "SLA breached: item 1")
    config = parse_config("brand: {timezone: UTC}\n")
    digest = _digest(store, config)
    assert digest.total == 15
    assert digest.platforms == {"x": 11, "trustpilot": 4}
    assert len(digest.sentiment) == 8  # a slot per day touched (09:00 to 09:00), quiet ones too
    assert digest.sentiment["2026-11-05"].total() == 0
    assert sum(c["negative"] for c in digest.sentiment.values()) == 10
    [billing, crashes] = digest.issues[:2]
    assert billing.count == 6 and "charged twice" in billing.name
    assert billing.trend == "rising" and billing.later == 6
    assert crashes.count == 4 and "crashes" in crashes.name and crashes.trend == "falling"
    assert digest.kpis is not None and digest.kpis.overall["decision"].count == 6
    assert digest.breaches == []  # recorded now, outside the crafted week
    assert set(digest.charts) == {"sentiment", "volume"}
    assert all(_png_width(png) > 0 for png in digest.charts.values())
    text = summary(digest)
    assert "15 mentions" in text and "charged twice" in text and "SLA breaches: 0" in text
    store.close()


@pytest.mark.slow
def test_issues_grouped_by_the_sentence_encoder(tmp_path: Path) -> None:
    from repbot.classify.embed import SentenceEmbedder

    store = SqliteStore(tmp_path / "d.db")
    with store.batch():
        for i, text in enumerate(["I was billed two times for one order", *BILLING[:3]]):
            add(store, T0 + i * HOUR, text, sentiment="negative")
        for i, text in enumerate(CRASHES):
            add(store, T0 + (10 + i) * HOUR, text, sentiment="negative")
    digest = build_digest(
        store, parse_config(""), T0, T0 + timedelta(days=1), embedder=SentenceEmbedder.default()
    )
    assert sorted(i.count for i in digest.issues) == [4, 4]
    store.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_daily_and_weekly_digests_posted_once_with_charts(
    tmp_path: Path, slack: FakeSlack
) -> None:
    store = SqliteStore(tmp_path / "d.db")
    _history(store, T0 - timedelta(days=7))
    config = parse_config(
        "brand: {timezone: Europe/Berlin}\n"
        "approval:\n  slack:\n    mode: http\n    bot_token: xoxb-test-token\n"
        "    signing_secret: test-signing-secret\n    channel: C_APPROVALS\n"
        f"    api_base_url: '{slack.base_url}'\n"
        "alerts:\n  slack_channel: C_ALERTS\n  digest: {daily: true, weekly: true, hour: 8}\n"
    )
    now = T0 - 3 * HOUR  # Monday 07:00 in Berlin: not yet
    poster = DigestPoster(store, config, HashingEmbedder(), lambda: now)
    assert await poster.run_once() == 0
    now = T0  # Monday 10:00 in Berlin
    assert await poster.run_once() == 2
    assert await poster.run_once() == 0
    posts = [c.args for c in slack.calls_to("chat.postMessage")]
    assert [p["channel"] for p in posts] == ["C_ALERTS", "C_ALERTS"]
    assert "daily digest" in posts[0]["text"] and "weekly digest" in posts[1]["text"]
    assert "15 mentions" in posts[1]["text"] and "Top issues" in posts[1]["text"]
    uploads = list(slack.uploads.values())
    assert len(uploads) == 4 and {u["channel"] for u in uploads} == {"C_ALERTS"}
    assert all(_png_width(u["data"]) > 0 for u in uploads)
    store.close()
