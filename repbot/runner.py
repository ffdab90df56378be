"""Polls one source: the same backoff, rate-limit waits, cursor persistence and error policy
for every connector.

Policy: a transient error backs off exponentially with full jitter; a rate limit waits for the
platform's Retry-After/reset (plus up to 5 % jitter); an auth error disables the source and
records an alert. Pages are stored with their cursor in one transaction, so a crash never loses
or repeats a page; a record the store cannot keep is counted as malformed and skipped, never
holding the cursor back.
After ``FAILING_AFTER`` consecutive failed polls (any error) a source shows as failing in
/healthz and raises one alert; its first success after that raises a recovery alert.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from repbot import followups
from repbot.connector import Connector
from repbot.errors import AuthError, RateLimited, TransientError
from repbot.models import Page, storable_text
from repbot.secrets import redact
from repbot.store import IngestResult, Store

log = logging.getLogger(__name__)
FAILING_AFTER = 3


@dataclass
class PollResult:
    """What one poll cycle did."""

    source: str
    new: int = 0
    duplicates: int = 0
    malformed: int = 0
    pages: int = 0
    new_ids: list[int] = field(default_factory=list)
    revised: int = 0
    """Stored mentions the author edited (re-drafted when still open)."""
    skipped_reason: str | None = None
    error: str | None = None
    error_kind: str | None = None
    """``auth``, ``rate_limited``, ``transient`` or ``other`` when the poll failed."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter."""

    base: float = 2.0
    cap: float = 900.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures."""
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** max(0, failures - 1)))

    def after(self, retry_after: float) -> float:
        """A platform's Retry-After plus up to 5 % more: never early, and clients told the same
        reset time do not all come back in the same instant."""
        wait = max(0.0, retry_after)
        return wait + self.rng.uniform(0, 0.05 * wait)


class SourceRunner:
    """Runs poll cycles for one connector against the store."""

    def __init__(
        self,
        store: Store,
        connector: Connector,
        *,
        max_pages: int = 100,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_alert: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.max_pages = max_pages
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.on_alert = on_alert
        self.not_before = 0.0
        self.failures = 0
        self.malformed_total = 0

    @property
    def name(self) -> str:
        """The source name."""
        return self.connector.name

    def _polls_here(self) -> bool:
        """Whether this daemon polls the source now: always on SQLite; on PostgreSQL while it
        holds the source's advisory lock (several daemons, one poller per source)."""
        return self.store.hold_source(self.name)

    def disabled(self) -> bool:
        """True when an auth failure disabled this source."""
        return any(s.disabled for s in self.store.source_status() if s.source == self.name)

    async def poll(self, on_page: Callable[[PollResult], None] | None = None) -> PollResult:
        """One cycle: fetch pages until the connector has no more, storing each atomically."""
        result = PollResult(self.name)
        if self.disabled():
            result.skipped_reason = "disabled"
            return result
        if not self._polls_here():
            result.skipped_reason = "polled by another daemon"
            return result
        wait = self.not_before - self.clock()
        if wait > 0:
            result.skipped_reason = f"waiting {wait:.0f}s (backoff)"
            return result
        cursor = self.store.get_cursor(self.name)
        while result.pages < self.max_pages:
            try:
                page = await self.connector.fetch(cursor)
                stored = followups.ingest(self.store, self.name, page.mentions, page.cursor)
            except Exception as exc:  # noqa: BLE001 - every failure goes through the policy
                self._fail(exc, result)
                return result
            self._count(result, page, stored)
            if on_page:
                on_page(result)
            cursor = page.cursor
            if not page.has_more:
                break
        self._succeeded()
        if result.new or result.malformed:
            log.info(
                "polled source=%s new=%d duplicates=%d malformed=%d pages=%d",
                self.name,
                result.new,
                result.duplicates,
                result.malformed,
                result.pages,
            )
        return result

    def _count(self, result: PollResult, page: Page, stored: IngestResult) -> None:
        result.pages += 1
        result.new += len(stored.new_ids)
        result.new_ids += stored.new_ids
        result.revised += len(stored.revised_ids)
        result.duplicates += stored.duplicates
        malformed = page.malformed + stored.malformed
        result.malformed += malformed
        self.malformed_total += malformed
        for reason in stored.rejected:
            log.warning("skipped unstorable record source=%s error=%s", self.name, reason)

    def _stored_failures(self) -> int:
        return next((s.failures for s in self.store.source_status() if s.source == self.name), 0)

    def _succeeded(self) -> None:
        previous = self._stored_failures()
        self.failures = 0
        self.store.record_source_result(self.name)
        if previous >= FAILING_AFTER:
            self._alert("recovered", f"source {self.name} recovered after {previous} failed polls")
            log.info("source recovered source=%s failed_polls=%d", self.name, previous)

    def _fail(self, exc: Exception, result: PollResult) -> None:
        message = storable_text(redact(f"{type(exc).__name__}: {exc}"))  # may quote a record
        result.error = message
        result.error_kind = error_kind(exc)
        self.failures += 1
        if isinstance(exc, AuthError):
            self.store.record_source_result(self.name, message, disable=True)
            self._alert("auth", f"source {self.name} disabled: {message}")
            log.error("source disabled source=%s error=%s", self.name, message)
            return
        if isinstance(exc, RateLimited):
            delay = (
                self.backoff.after(exc.retry_after)
                if exc.retry_after is not None
                else self.backoff.delay(self.failures)
            )
            log.warning("rate limited source=%s wait_s=%.1f", self.name, delay)
        else:
            delay = self.backoff.delay(self.failures)
            level = logging.WARNING if isinstance(exc, TransientError) else logging.ERROR
            log.log(
                level, "poll failed source=%s retry_in_s=%.1f error=%s", self.name, delay, message
            )
        self.not_before = self.clock() + max(0.0, delay)
        self.store.record_source_result(self.name, message)
        if self._stored_failures() == FAILING_AFTER:
            self._alert(
                "failing", f"source {self.name} failed {FAILING_AFTER} polls in a row: {message}"
            )

    def _alert(self, kind: str, message: str) -> None:
        self.store.add_alert(self.name, kind, message)
        if self.on_alert:
            self.on_alert(self.name, kind, message)


def error_kind(exc: Exception) -> str:
    """The metrics label of a poll failure."""
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, RateLimited):
        return "rate_limited"
    return "transient" if isinstance(exc, TransientError) else "other"
