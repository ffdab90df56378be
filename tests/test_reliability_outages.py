"""Outages: the platform answers 429 storms and 5xx for a while, Slack is unreachable for a
while. Each part backs off with jitter (no fixed retry), stays up, recovers by itself and
delivers everything afterwards. Real clients over loopback (tweepy against the X simulator,
slack_sdk against the fake Slack), a real SQLite file, injected clocks: no timing asserts."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from repbot import workflow
from repbot.approval.config import SlackConfig
from repbot.approval.slack import SlackApproval
from repbot.connectors.x.connector import XConnector
from repbot.connectors.x.simulator import XSimulator, error_body
from repbot.models import State, utcnow
from repbot.poster import Poster
from repbot.runner import Backoff, SourceRunner
from repbot.store import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.slack import FakeSlack
from repbot.workflow import RetryPolicy

STORM = 6  # failed answers of each kind in a row


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sim() -> AsyncIterator[XSimulator]:
    async with XSimulator() as server:
        yield server


@pytest.fixture
async def x(sim: XSimulator) -> AsyncIterator[XConnector]:
    options = {
        "api_base_url": sim.url,
        **sim.credentials(),
        "brand_username": "acme",
        "tier": "enterprise",
        "initial_lookback": 7200,
    }
    connector = XConnector("x", XConnector.Config.model_validate(options))
    yield connector
    await connector.aclose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    db = SqliteStore(tmp_path / "repbot.db")
    yield db
    db.close()


def _runner(store: SqliteStore, x: XConnector, seed: int) -> tuple[SourceRunner, Clock]:
    clock = Clock()
    backoff = Backoff(base=2.0, cap=60.0, rng=random.Random(seed))
    return SourceRunner(store, x, clock=clock, backoff=backoff), clock


async def test_a_429_storm_then_5xx_backs_off_with_jitter_and_loses_nothing(
    sim: XSimulator, x: XConnector, store: SqliteStore
) -> None:
    tweets = sim.seed_mentions(30, spread_seconds=600)
    sim.inject("mentions", 429, error_body("too_many_requests"), times=STORM)
    sim.inject("mentions", 503, error_body("server_error"), times=STORM)
    runner, clock = _runner(store, x, seed=5)
    kinds: list[str] = []
    waits: list[float] = []
    for _ in range(4 * STORM):
        result = await runner.poll()
        if result.error_kind is None:
            break
        kinds.append(result.error_kind)
        waits.append(runner.not_before - clock.now)
        early = await runner.poll()  # still inside the wait: the platform is not asked
        assert early.skipped_reason and "backoff" in early.skipped_reason
        clock.now = runner.not_before + 0.001
    assert kinds == ["rate_limited"] * STORM + ["transient"] * STORM
    assert len(sim.calls("mentions")) >= 2 * STORM + 1  # one call per due poll, none while waiting
    for failures, (kind, wait) in enumerate(zip(kinds, waits, strict=True), start=1):
        if kind == "rate_limited":  # the simulator's x-rate-limit-reset, never earlier
            assert wait >= 1.0
        else:
            assert 0 <= wait <= min(60.0, 2.0 * 2 ** (failures - 1))
    assert len(set(waits)) == len(waits), "jittered waits, not a fixed retry"
    rows = store.conn.execute("SELECT external_id FROM mentions").fetchall()
    assert Counter(r[0] for r in rows) == Counter(str(t.id) for t in tweets)
    [status] = store.source_status()
    assert status.failures == 0 and not status.disabled
    assert [a["kind"] for a in store.alerts()][::-1][:2] in (
        ["failing", "recovered"],
        ["recovered", "failing"],
    )


async def test_retry_after_is_honoured_and_spread(
    sim: XSimulator, x: XConnector, store: SqliteStore
) -> None:
    waits = []
    for seed in range(5):
        sim.inject("mentions", 429, error_body("too_many_requests"), {"retry-after": "30"})
        runner, clock = _runner(store, x, seed)
        assert (await runner.poll()).error_kind == "rate_limited"
        waits.append(runner.not_before - clock.now)
    assert all(30.0 <= w <= 31.5 for w in waits), waits  # never early, at most 5 % late
    assert len(set(waits)) == len(waits)


def test_items_failing_together_retry_at_different_times() -> None:
    policy = RetryPolicy(max_attempts=5, base=5.0, rng=random.Random(7))
    now = utcnow()
    for attempts in (1, 2, 3):
        full = timedelta(seconds=5.0 * 2 ** (attempts - 1))
        times = [policy.retry_at(attempts, now) for _ in range(20)]
        assert all(t is not None and now + full / 2 <= t <= now + full for t in times)
        assert len(set(times)) == 20
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


async def test_posting_through_a_5xx_outage_posts_every_reply_exactly_once(
    sim: XSimulator, x: XConnector, store: SqliteStore
) -> None:
    sim.seed_mentions(8, spread_seconds=600)
    runner, _ = _runner(store, x, seed=1)
    assert (await runner.poll()).new == 8
    ids = [i.id for i in store.pending(State.NEW, 100)]
    for item_id in ids:
        workflow.classified(store, item_id, {"label": "negative", "urgency": 0.5})
        workflow.drafted(store, item_id, f"Sorry, we are on it ({item_id})", {"limit": 280})
        workflow.decide(store, item_id, "approve", "U1", text=f"Sorry, we are on it ({item_id})")
    sim.inject("create_tweet", 503, error_body("server_error"), times=3 * len(ids))
    now = [utcnow()]
    policy = RetryPolicy(max_attempts=10, base=5.0, rng=random.Random(3))
    poster = Poster(store, {"x": x}, max_attempts=10, clock=lambda: now[0])
    poster.retry = policy
    for _ in range(40):
        await poster.run_once()
        if all(store.get(i).state is State.POSTED for i in ids):
            break
        pending = [store.get(i).next_attempt_at for i in ids]
        now[0] = max(t for t in pending if t is not None) + timedelta(seconds=1)
    assert {store.get(i).state for i in ids} == {State.POSTED}
    replies = sim.replies_by_brand()
    assert sorted(r.text for r in replies) == sorted(f"Sorry, we are on it ({i})" for i in ids)
    retries = {store.get(i).attempts for i in ids}
    assert retries and max(retries) >= 1


def _slack_cfg(fake: FakeSlack) -> SlackConfig:
    return SlackConfig(
        mode="http",
        bot_token=SecretStr("xoxb-test"),
        signing_secret=SecretStr("8f742231b10e8888abcd99yyyzzz85a5"),
        channel="CAPPROVE",
        approvers=["UALICE"],
        api_base_url=fake.base_url,
    )


async def test_slack_unreachable_backs_off_with_jitter_then_delivers_every_draft(
    store: SqliteStore,
) -> None:
    async with FakeSlack() as fake:
        slack = SlackApproval(_slack_cfg(fake), store)
        clock = Clock()
        slack.clock = clock
        slack.backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(11))
        try:
            await fake.stop()  # Slack unreachable: connection refused
            ids = [seed_item(store) for _ in range(5)]
            assert await slack.sync() == 0  # one failure is retried at once
            retry_at: list[float] = []
            for _ in range(8):
                assert await slack.sync() == 0
                retry_at.append(slack._retry_at - clock.now)
                asked = len(fake.calls)
                assert await slack.sync() == 0  # inside the wait: no call is even tried
                assert len(fake.calls) == asked
                clock.now = slack._retry_at + 0.001
            for failures, wait in enumerate(retry_at, start=1):
                assert 0 <= wait <= min(60.0, 2 ** (failures - 1))
            assert len(set(retry_at)) == len(retry_at), "jittered waits, not a fixed retry"
            await fake.start()  # back on the same port
            assert await slack.sync() == len(ids)
            assert await slack.sync() == 0
            posted = [m for m in fake.channel_messages("CAPPROVE") if "metadata" in m]
            delivered = Counter(int(m["metadata"]["event_payload"]["mention_id"]) for m in posted)
            assert delivered == Counter(ids)
        finally:
            await slack.stop()
