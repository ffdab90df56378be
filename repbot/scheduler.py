"""A thin wrapper around APScheduler 3's AsyncIOScheduler.

Jobs are built from YAML at start (no persistent job store) with explicit defaults:
``coalesce=True``, ``max_instances=1`` and a misfire grace at least as long as the interval (the
1 s default silently skips runs when the loop is busy). Every running job is tracked so that
shutdown can wait for it, then cancel it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)
JobFunc = Callable[[], Awaitable[object]]


class Scheduler:
    """Runs named async jobs at fixed intervals."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1}
        )
        self._running: set[asyncio.Task[Any]] = set()

    def every(self, name: str, seconds: float, func: JobFunc, *, start_now: bool = True) -> None:
        """Run ``func`` every ``seconds`` (first run immediately unless ``start_now`` is False:
        then after one interval)."""
        # APScheduler reads next_run_time=None as "paused": leave it out to start after a period.
        first = {"next_run_time": datetime.now(UTC)} if start_now else {}
        self._scheduler.add_job(
            self._tracked(name, func),
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=name,
            name=name,
            misfire_grace_time=max(1, int(seconds) + 1),
            replace_existing=True,
            **first,
        )

    def remove(self, name: str) -> None:
        """Stop scheduling ``name`` (a run in progress finishes); no-op if there is none."""
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def next_runs(self) -> dict[str, datetime | None]:
        """When each job runs next."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    def start(self) -> None:
        """Start firing jobs on the running event loop."""
        self._scheduler.start()

    async def shutdown(self, timeout: float) -> None:
        """Stop firing, give running jobs ``timeout`` seconds, then cancel them."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)

    def _tracked(self, name: str, func: JobFunc) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await func()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job failed job=%s", name)
            finally:
                if task is not None:
                    self._running.discard(task)

        return run
