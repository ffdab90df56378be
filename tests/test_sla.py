"""SLA targets: one warning at 75 % of the target and one breach alert per item, naming it with
a link; business-hours clocks; countdowns; each pass reads only what can have crossed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ops_history import T0, add

from repbot.alerts_config import BusinessHours, SlaConfig
from repbot.config import parse_config
from repbot.sla import Clock, SlaMonitor, band, countdown, target
from repbot.store import SqliteStore

MIN = timedelta(minutes=1)


class FakeNow:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _monitor(store: SqliteStore, now: FakeNow, cfg: SlaConfig | None = None) -> SlaMonitor:
    cfg = cfg or SlaConfig(urgent=3600, reviews=86400, default=4 * 3600)
    return SlaMonitor(store, cfg, Clock(), lambda i: f"http://console/items/{i}", now)


def _kinds(store: SqliteStore) -> list[tuple[str, str]]:
    return [(a["kind"], a["message"]) for a in reversed(store.alerts(100))]


def test_targets_by_band_and_kind() -> None:
    cfg = SlaConfig(urgent=3600, reviews=86400, default=14400, urgent_threshold=0.7)
    assert target("post", 0.9, cfg) == 3600
    assert target("review", 0.2, cfg) == 86400
    assert target("review", 0.95, cfg) == 3600  # urgent first
    assert target("post", None, cfg) == 14400
    assert [band(u, cfg) for u in (0.8, 0.5, 0.1, None)] == ["urgent", "normal", "low", "low"]


def test_config_keys_parse() -> None:
    config = parse_config("alerts:\n  sla: {urgent: 30m, reviews: 2d, default: 4h}\n")
    assert (config.alerts.sla.urgent, config.alerts.sla.reviews) == (1800.0, 172800.0)


def test_warning_then_breach_once_each_with_link(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    urgent = add(store, T0, "my card was charged twice", urgency=0.9, handle="carol")
    decided = add(store, T0, "done already", urgency=0.9, state="posted", decided_at=T0 + MIN)
    normal = add(store, T0, "question about fees", urgency=0.1)
    now = FakeNow(T0 + 40 * MIN)
    monitor = _monitor(store, now)
    assert monitor.run_once() == 0
    now.at = T0 + 46 * MIN  # 75 % of 1 h
    assert monitor.run_once() == 1
    assert monitor.run_once() == 0  # once per level
    now.at = T0 + 61 * MIN
    assert monitor.run_once() == 1
    now.at = T0 + 3 * 60 * MIN + 1 * MIN  # 75 % of the 4 h default for the normal item
    assert monitor.run_once() == 1
    alerts = _kinds(store)
    assert [k for k, _ in alerts] == ["sla_warning", "sla_breach", "sla_warning"]
    assert f"http://console/items/{urgent}" in alerts[0][1] and "@carol" in alerts[0][1]
    assert "breached" in alerts[1][1] and f"items/{normal}" in alerts[2][1]
    assert all(f"items/{decided}" not in m for _, m in alerts)
    # a new monitor (a restart) does not repeat what was sent
    assert _monitor(store, now).run_once() == 0
    store.close()


def test_a_pass_reads_only_the_threshold_ranges(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    for i in range(300):  # old history, long closed
        add(store, T0 - timedelta(days=30) + i * MIN, "old", state="posted")
    add(store, T0, "open", urgency=0.9)
    now = FakeNow(T0 + 50 * MIN)
    monitor = _monitor(store, now)
    seen: list[int] = []
    original = store.ops_rows

    def counting(*args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        rows = original(*args, **kwargs)  # type: ignore[arg-type]
        seen.extend(r.id for r in rows)
        return rows

    store.ops_rows = counting  # type: ignore[method-assign]
    assert monitor.run_once() == 1
    assert len(seen) <= 6  # the one open item, per target and level at most
    store.close()


def test_business_hours_clock() -> None:
    zone = ZoneInfo("Europe/Berlin")
    clock = Clock(BusinessHours(start=9, end=17), zone)
    friday_4pm = datetime(2026, 11, 6, 16, 0, tzinfo=zone)
    # 2 h of office time from Friday 16:00 ends Monday 10:00
    assert clock.deadline(friday_4pm, 7200) == datetime(2026, 11, 9, 10, 0, tzinfo=zone)
    monday_10 = datetime(2026, 11, 9, 10, 0, tzinfo=zone)
    assert clock.elapsed(friday_4pm, monday_10) == pytest.approx(7200)
    assert clock.elapsed(monday_10, friday_4pm) == 0
    assert clock.longest_wall(7200) >= monday_10 - friday_4pm


def test_countdown_stands_still_outside_business_hours() -> None:
    zone = ZoneInfo("Europe/Berlin")
    clock = Clock(BusinessHours(start=9, end=17), zone)
    cfg = SlaConfig(urgent=3600)
    arrived = datetime(2026, 11, 6, 16, 30, tzinfo=zone)  # Friday, 30 min before closing
    evening = countdown(arrived, "post", 0.9, cfg, clock, arrived + timedelta(hours=2))
    assert not evening.running and evening.remaining == pytest.approx(1800)
    monday = countdown(arrived, "post", 0.9, cfg, clock, datetime(2026, 11, 9, 9, 10, tzinfo=zone))
    assert monday.running and monday.remaining == pytest.approx(1200)
    assert countdown(arrived, "post", 0.9, cfg, Clock(), arrived + timedelta(hours=2)).running


def test_countdown_and_breach() -> None:
    cfg = SlaConfig(urgent=3600)
    now = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    open_ = countdown(now - 20 * MIN, "post", 0.9, cfg, Clock(), now)
    assert open_.band == "urgent" and open_.remaining == pytest.approx(40 * 60)
    assert not open_.breached
    late = countdown(now - 90 * MIN, "post", 0.9, cfg, Clock(), now)
    assert late.breached and late.remaining == pytest.approx(-30 * 60)


def test_breached_first_only_within_a_band(tmp_path: Path) -> None:
    from repbot.approval.web_dashboard import SlaView, breached_first, countdowns

    store = SqliteStore(tmp_path / "b.db")
    now = datetime.now(UTC)
    ids = [
        add(store, now - 10 * MIN, "urgent fresh", urgency=0.9),
        add(store, now - 2 * 60 * MIN, "urgent late", urgency=0.8),
        add(store, now - 9 * 60 * MIN, "low, very late", urgency=0.1),
        add(store, now - MIN, "low fresh", urgency=0.1),
        add(store, now - 9 * 60 * MIN, "closed", urgency=0.9, state="posted"),
    ]
    items = store.items(ids)
    view = SlaView(SlaConfig(urgent=3600, default=4 * 3600), Clock())
    marks = countdowns(view, items)
    assert set(marks) == set(ids[:4])  # only open items count down
    order = [i.id for i in breached_first(items, marks, view)]
    # the late low item stays below the urgent band; the late urgent one leads its band
    assert order == [ids[1], ids[0], ids[2], ids[3], ids[4]]
    store.close()
