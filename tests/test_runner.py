"""The runner's error policy, paging and cursor persistence, with a scripted connector."""

from __future__ import annotations

import random

from repbot.errors import AuthError, RateLimited, TransientError
from repbot.models import Page
from repbot.runner import Backoff, SourceRunner
from repbot.store import SqliteStore
from repbot.testing.fakes import ScriptedConnector, make_mention


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _runner(store: SqliteStore, script: list[Page | Exception]) -> tuple[SourceRunner, Clock]:
    clock = Clock()
    runner = SourceRunner(
        store,
        ScriptedConnector("src", script),
        clock=clock,
        backoff=Backoff(base=2.0, cap=60.0, rng=random.Random(1)),
    )
    return runner, clock


async def test_pages_until_no_more_and_persists_cursor(repbot_store: SqliteStore) -> None:
    runner, _ = _runner(
        repbot_store,
        [
            Page(mentions=[make_mention(1), make_mention(2)], cursor="p1", has_more=True),
            Page(mentions=[make_mention(2), make_mention(3)], cursor="p2", malformed=1),
        ],
    )
    result = await runner.poll()
    assert (result.new, result.duplicates, result.malformed, result.pages) == (3, 1, 1, 2)
    assert repbot_store.get_cursor("src") == "p2"
    await runner.poll()
    assert runner.connector.cursors == [None, "p1", "p2"]  # type: ignore[attr-defined]


async def test_transient_error_backs_off_with_jitter(repbot_store: SqliteStore) -> None:
    runner, clock = _runner(repbot_store, [TransientError("503"), Page(mentions=[make_mention()])])
    failed = await runner.poll()
    assert failed.error and "503" in failed.error
    assert 0 <= runner.not_before - clock.now <= 2.0
    clock.now = runner.not_before + 0.01
    assert (await runner.poll()).new == 1
    [status] = repbot_store.source_status()
    assert status.failures == 0 and status.last_success is not None


async def test_rate_limit_waits_for_retry_after(repbot_store: SqliteStore) -> None:
    runner, clock = _runner(repbot_store, [RateLimited("429", retry_after=30), Page()])
    await runner.poll()
    clock.now += 29
    waiting = await runner.poll()
    assert waiting.skipped_reason and "backoff" in waiting.skipped_reason
    assert len(runner.connector.cursors) == 1  # type: ignore[attr-defined]
    clock.now += 2
    assert (await runner.poll()).skipped_reason is None


async def test_auth_error_disables_source_and_alerts(repbot_store: SqliteStore) -> None:
    alerts: list[tuple[str, str, str]] = []
    runner, _ = _runner(
        repbot_store, [AuthError("401 Unauthorized"), Page(mentions=[make_mention()])]
    )
    runner.on_alert = lambda *a: alerts.append(a)
    await runner.poll()
    assert (await runner.poll()).skipped_reason == "disabled"
    [status] = repbot_store.source_status()
    assert status.disabled and "401" in (status.disabled_reason or "")
    assert repbot_store.alerts()[0]["kind"] == "auth" and alerts
    repbot_store.enable_source("src")
    assert (await runner.poll()).new == 1


async def test_unexpected_exception_is_contained(repbot_store: SqliteStore) -> None:
    runner, _ = _runner(repbot_store, [KeyError("bug in connector")])
    result = await runner.poll()
    assert result.error and "KeyError" in result.error
    assert repbot_store.counts() == {}


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(base=1.0, cap=10.0, rng=random.Random(3))
    assert all(0 <= backoff.delay(n) <= min(10.0, 2 ** (n - 1)) for n in range(1, 12))
