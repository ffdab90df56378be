"""The crisis detector on synthetic series: no alert on noise, one alert on a spike, updates
and one "over" message on a sustained incident, cool-down; the clock is injected (no sleeps)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ops_history import T0, add

from repbot.alerts_config import CrisisConfig
from repbot.spike import Bucket, CrisisDetector, common_phrases, spike_reason
from repbot.store import SqliteStore

STEP = timedelta(minutes=15)
CFG = CrisisConfig(
    interval=900, baseline_intervals=24, min_volume=10, update_every=900, over_after=1800,
    cooldown=7200,
)  # fmt: skip


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _noise(store: SqliteStore, start: datetime, intervals: int, rng: random.Random) -> None:
    with store.batch():
        _noise_rows(store, start, intervals, rng)


def _noise_rows(store: SqliteStore, start: datetime, intervals: int, rng: random.Random) -> None:
    for i in range(intervals):
        for _ in range(rng.randint(4, 12)):
            at = start + i * STEP + timedelta(seconds=rng.randint(0, 899))
            negative = rng.random() < 0.15
            source = rng.choice(["x", "reddit"])
            add(
                store, at, "nice app" if not negative else "meh", source=source,
                platform=source, sentiment="negative" if negative else "positive",
            )  # fmt: skip


def _burst(store: SqliteStore, start: datetime, n: int, source: str = "x") -> None:
    with store.batch():
        _burst_rows(store, start, n, source)


def _burst_rows(store: SqliteStore, start: datetime, n: int, source: str) -> None:
    for i in range(n):
        add(
            store, start + timedelta(seconds=i * 800 // n), f"app down again, cannot log in {i}",
            source=source, platform=source, sentiment="negative", followers=i,
        )  # fmt: skip


def test_spike_reason_volume_and_negative_share() -> None:
    flat = [Bucket(8, 1)] * 24
    assert spike_reason(Bucket(9, 1), flat, CFG) is None  # one more than usual: noise
    assert "negative share" in (spike_reason(Bucket(12, 12), flat, CFG) or "")
    assert "volume" in (spike_reason(Bucket(40, 4), flat, CFG) or "")
    assert spike_reason(Bucket(6, 6), [Bucket(0, 0)] * 48, CFG) is None  # below min volume


def test_common_phrases_prefers_repeated_pairs() -> None:
    texts = ["the app is down again", "App down since noon!", "app down, cannot log in", "ok"]
    phrases = common_phrases(texts, 3)
    assert phrases[0] == ("app down", 2)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "c.db")


def test_noise_raises_nothing(store: SqliteStore) -> None:
    _noise(store, T0 - 10 * 4 * STEP, 10 * 4, random.Random(7))
    clock = Clock(T0 - 4 * 4 * STEP)
    detector = CrisisDetector(store, CFG, lambda i: f"/items/{i}", clock)
    while clock.at <= T0:
        assert detector.run_once() == []
        clock.at += timedelta(minutes=10)
    assert store.alerts(10) == []


def test_spike_sustained_incident_updates_over_and_cooldown(store: SqliteStore) -> None:
    rng = random.Random(3)
    _noise(store, T0 - 7 * 4 * STEP, 7 * 4, rng)
    for k in range(3):  # 45 minutes of trouble
        _burst(store, T0 + k * STEP, 45)
    _noise(store, T0 + 3 * STEP, 8, rng)
    _burst(store, T0 + 6 * STEP, 45)  # flares up inside the cool-down
    clock = Clock(T0 + timedelta(minutes=5))
    detector = CrisisDetector(store, CFG, lambda i: f"http://c/items/{i}", clock)
    sent: list[str] = []
    while clock.at <= T0 + 10 * STEP:
        sent += detector.run_once()
        clock.at += timedelta(minutes=5)
    # updates 15, 30 and 45 minutes in (the trailing interval still holds the burst's tail),
    # over after 30 quiet minutes; the flare-up on one source inside the cool-down: nothing
    assert sent == ["crisis", "crisis_update", "crisis_update", "crisis_update", "crisis_over"]
    alerts = list(reversed(store.alerts(10)))
    first = alerts[0]
    assert first["kind"] == "crisis"
    assert '"app down"' in first["message"] and "http://c/items/" in first["message"]
    assert first["message"].count("@user") == CFG.examples
    # a restart (a new detector over the same store) keeps the cool-down
    clock.at = T0 + 6 * STEP + timedelta(minutes=14)
    assert CrisisDetector(store, CFG, lambda i: "", clock).run_once() == []


def test_one_crisis_is_one_alert_across_scopes(store: SqliteStore) -> None:
    _noise(store, T0 - 7 * 4 * STEP, 7 * 4, random.Random(5))
    _burst(store, T0, 60, source="x")
    clock = Clock(T0 + STEP)
    sent = CrisisDetector(store, CFG, lambda i: "", clock).run_once()
    assert sent == ["crisis"]
    assert store.alerts(1)[0]["source"] == "all sources"
