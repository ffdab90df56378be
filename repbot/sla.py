"""Response-time targets (``alerts.sla``): which target an item has, how much of it is used,
and :class:`SlaMonitor`, which raises one alert per item at ``warn_at`` of the target and one
at the breach, each naming the item with a link to it.

An item's clock runs from its arrival to a human decision, in wall-clock time or, with
``business_hours``, only inside office hours in ``brand.timezone``. A pass reads only the
items whose clock can have crossed a threshold since the previous pass (one index range per
target), so its cost follows arrivals, not history or the number of open items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from repbot.alerts_config import BusinessHours, SlaConfig
from repbot.models import utcnow
from repbot.store import Store
from repbot.store.ops import OpsRow

log = logging.getLogger(__name__)
OPEN_STATES = ("new", "classified", "drafted", "awaiting_approval")
"""States whose SLA clock is running (a snoozed item was deliberately put off)."""
BANDS = ("urgent", "normal", "low")
NORMAL_FROM = 0.4
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_CATCH_UP = timedelta(days=1)
_PAGE = 500
_UTC = ZoneInfo("UTC")


def band(urgency: float | None, cfg: SlaConfig) -> str:
    """The urgency band: ``urgent`` (at or above the threshold), ``normal`` or ``low``."""
    if urgency is not None and urgency >= cfg.urgent_threshold:
        return "urgent"
    if urgency is not None and urgency >= NORMAL_FROM:
        return "normal"
    return "low"


def target(kind: str, urgency: float | None, cfg: SlaConfig) -> float:
    """The item's target in seconds: urgent items first, then reviews, then the default."""
    if band(urgency, cfg) == "urgent":
        return cfg.urgent
    return cfg.reviews if kind == "review" else cfg.default


@dataclass(frozen=True)
class Clock:
    """Measures SLA time: wall-clock, or only inside business hours in a time zone."""

    hours: BusinessHours | None = None
    zone: ZoneInfo = _UTC

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Seconds of SLA time between ``start`` and ``end`` (0 when end is earlier)."""
        if end <= start:
            return 0.0
        if self.hours is None:
            return (end - start).total_seconds()
        total, day = 0.0, start.astimezone(self.zone).date()
        while True:
            opens, closes = self._window(day)
            if opens >= end:
                return total
            if opens is not closes:
                total += max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
            day += timedelta(days=1)

    def running(self, at: datetime) -> bool:
        """Whether SLA time passes at ``at`` (always, without business hours)."""
        if self.hours is None:
            return True
        opens, closes = self._window(at.astimezone(self.zone).date())
        return opens <= at < closes

    def deadline(self, start: datetime, seconds: float) -> datetime:
        """When ``seconds`` of SLA time will have passed since ``start``."""
        if self.hours is None:
            return start + timedelta(seconds=seconds)
        left, day = seconds, start.astimezone(self.zone).date()
        while True:
            opens, closes = self._window(day)
            begin = max(opens, start)
            span = (closes - begin).total_seconds()
            if span > 0 and span >= left:
                return begin + timedelta(seconds=left)
            left -= max(0.0, span)
            day += timedelta(days=1)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        assert self.hours is not None
        base = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        opens = base + timedelta(hours=self.hours.start)
        if _DAY_NAMES[day.weekday()] not in self.hours.days:
            return opens, opens
        return opens, base + timedelta(hours=self.hours.end)

    def describe(self) -> str:
        """How this clock counts, for reports: ``wall clock`` or the office hours it keeps."""
        if self.hours is None:
            return "wall clock"
        days = ", ".join(self.hours.days)
        return (
            f"business hours ({days} {self.hours.start:02d}-{self.hours.end:02d} {self.zone.key})"
        )

    def longest_wall(self, seconds: float) -> timedelta:
        """An upper bound on the wall-clock time ``seconds`` of SLA time can take."""
        if self.hours is None:
            return timedelta(seconds=seconds)
        per_week = (self.hours.end - self.hours.start) * 3600.0 * len(self.hours.days)
        return timedelta(seconds=seconds * 7 * 86400 / per_week) + timedelta(days=4)


@dataclass(frozen=True)
class Countdown:
    """An open item's SLA position, for cards: ``remaining`` is negative once breached."""

    band: str
    target: float
    due: datetime
    remaining: float
    running: bool = True
    """Whether the clock runs now (False outside business hours): the card ticks only then."""

    @property
    def breached(self) -> bool:
        """True once the target is used up."""
        return self.remaining < 0


def countdown(
    ingested_at: datetime, kind: str, urgency: float | None, cfg: SlaConfig, clock: Clock,
    now: datetime,
) -> Countdown:  # fmt: skip
    """Where an open item stands against its target at ``now``."""
    goal = target(kind, urgency, cfg)
    due = clock.deadline(ingested_at, goal)
    left = goal - clock.elapsed(ingested_at, now)
    if left <= 0:
        left = -max(1.0, (now - due).total_seconds())
    return Countdown(band(urgency, cfg), goal, due, left, left < 0 or clock.running(now))


def clock_for(cfg: SlaConfig, timezone: str) -> Clock:
    """The clock ``cfg`` asks for in ``timezone``."""
    return Clock(cfg.business_hours, ZoneInfo(timezone))


class SlaMonitor:
    """Raises the warning and breach alerts (kinds ``sla_warning`` and ``sla_breach``)."""

    def __init__(
        self,
        store: Store,
        cfg: SlaConfig,
        clock: Clock,
        link: Callable[[int], str],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store, self.cfg, self.clock, self.link, self.now = store, cfg, clock, link, now
        self._last: datetime | None = None

    def run_once(self) -> int:
        """Alert every open item that crossed a threshold since the last pass; returns how many."""
        if not self.cfg.enabled:
            return 0
        now = self.now()
        catch_up = min(now - self._last, _MAX_CATCH_UP) if self._last else _MAX_CATCH_UP
        sent = 0
        for goal in sorted({self.cfg.urgent, self.cfg.reviews, self.cfg.default}):
            for level, share in (("sla_warning", self.cfg.warn_at), ("sla_breach", 1.0)):
                sent += self._pass(now, goal, level, share, catch_up)
        self._last = now
        return sent

    def _pass(
        self, now: datetime, goal: float, level: str, share: float, catch_up: timedelta
    ) -> int:
        used = goal * share
        until = now - timedelta(seconds=used) + timedelta(microseconds=1)
        since = now - self.clock.longest_wall(used) - catch_up
        sent, after = 0, None
        while True:
            rows = self.store.ops_rows(since, until, after=after, limit=_PAGE, states=OPEN_STATES)
            for row in rows:
                if target(row.kind, row.urgency, self.cfg) != goal:
                    continue
                if self.clock.elapsed(row.ingested_at, now) >= used:
                    sent += self._alert(row, level, goal, now)
            if len(rows) < _PAGE:
                return sent
            after = (rows[-1].ingested_at, rows[-1].id)

    def _alert(self, row: OpsRow, level: str, goal: float, now: datetime) -> int:
        due = self.clock.deadline(row.ingested_at, goal)
        what = "breached" if level == "sla_breach" else f"{int(self.cfg.warn_at * 100)} % used"
        when = f"due {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        message = (
            f"SLA {what} ({_human(goal)} target, {band(row.urgency, self.cfg)}, {when}):"
            f" item {row.id} from @{row.author} on {row.platform}: {_snippet(row.text)}"
            f" {self.link(row.id)}"
        )
        return int(self.store.add_sla_alert(row.id, level, row.source, message))


def _human(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 60)} min"


def _snippet(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
