"""Response-time KPIs over a window of arrivals.

For every mention: the time from its arrival to the first human look (opened in the console,
opened or acted on in Slack), to the draft, to the decision and to the post. A reply in a
conversation is a mention of its own, so conversations are measured per reply. Figures are
p50/p90 and the share within the item's SLA target, overall and per platform, intent, urgency
band and approver, all in SLA time: only office hours count when ``alerts.sla.business_hours``
is set (a Friday-evening mention answered first thing Monday waited minutes, not days).
The cost follows the window's arrivals (keyset pages over an index), never the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from repbot.alerts_config import SlaConfig
from repbot.sla import Clock, band, target
from repbot.store import Store
from repbot.store.ops import OpsRow

STAGES = ("look", "draft", "decision", "post")
DIMENSIONS = ("platform", "intent", "band", "approver")
_PAGE = 1000


@dataclass(frozen=True)
class StageStats:
    """One stage's figures: seconds since arrival, and the share within target (0–1)."""

    count: int
    p50: float | None
    p90: float | None
    within: float | None


@dataclass
class KpiReport:
    """KPIs of the mentions that arrived in ``[since, until)``."""

    since: datetime
    until: datetime
    total: int = 0
    overall: dict[str, StageStats] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, StageStats]]] = field(default_factory=dict)
    clock: str = "wall clock"
    """How the seconds were counted (:meth:`repbot.sla.Clock.describe`)."""


def window(store: Store, since: datetime, until: datetime) -> Iterator[OpsRow]:
    """Every mention that arrived in ``[since, until)``, oldest first, page by page."""
    rows = store.ops_rows(since, until, limit=_PAGE)
    while rows:
        yield from rows
        if len(rows) < _PAGE:
            return
        rows = store.ops_rows(since, until, after=(rows[-1].ingested_at, rows[-1].id), limit=_PAGE)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0–1) of ``values``, linearly interpolated; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def stage_time(row: OpsRow, stage: str) -> datetime | None:
    """When ``row`` reached ``stage`` (None: not yet); a decision is a look too."""
    looks = [t for t in (row.first_look_at, row.decided_at) if t is not None]
    return {
        "look": min(looks) if looks else None,
        "draft": row.drafted_at,
        "decision": row.decided_at,
        "post": row.posted_at,
    }[stage]


def compute(
    rows: Iterable[OpsRow], since: datetime, until: datetime, sla: SlaConfig, clock: Clock
) -> KpiReport:
    """The KPI report of ``rows``."""
    samples: dict[tuple[str, str, str], list[tuple[float, bool]]] = defaultdict(list)
    report = KpiReport(since, until, clock=clock.describe())
    for row in rows:
        report.total += 1
        keys = _keys(row, sla)
        goal = target(row.kind, row.urgency, sla)
        for stage in STAGES:
            reached = stage_time(row, stage)
            if reached is None:
                continue
            seconds = clock.elapsed(row.ingested_at, reached)
            sample = (seconds, seconds <= goal)
            samples[("", "", stage)].append(sample)
            for dim, value in keys.items():
                samples[(dim, value, stage)].append(sample)
    for (dim, value, stage), values in sorted(samples.items()):
        stats = _stats(values)
        if not dim:
            report.overall[stage] = stats
        else:
            report.groups.setdefault(dim, {}).setdefault(value, {})[stage] = stats
    for stage in STAGES:
        report.overall.setdefault(stage, StageStats(0, None, None, None))
    return report


def kpis(store: Store, since: datetime, until: datetime, sla: SlaConfig, clock: Clock) -> KpiReport:
    """The KPI report of the mentions that arrived in ``[since, until)``."""
    return compute(window(store, since, until), since, until, sla, clock)


def _keys(row: OpsRow, sla: SlaConfig) -> dict[str, str]:
    keys = {"platform": row.platform, "intent": row.intent or "unclassified"}
    keys["band"] = band(row.urgency, sla)
    if row.decided_by:
        keys["approver"] = row.decided_by
    return keys


def _stats(values: list[tuple[float, bool]]) -> StageStats:
    seconds = [s for s, _ in values]
    within = sum(1 for _, ok in values if ok) / len(values)
    return StageStats(len(values), percentile(seconds, 0.5), percentile(seconds, 0.9), within)
