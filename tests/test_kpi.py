"""KPIs on a crafted history: time to look, draft, decision and post, p50/p90, share within
the SLA target, per platform, intent, urgency band and approver; reading only the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ops_history import T0, add

from repbot.alerts_config import BusinessHours, SlaConfig
from repbot.kpi import kpis, percentile
from repbot.report import kpi_json
from repbot.sla import Clock
from repbot.store import SqliteStore

MIN = timedelta(minutes=1)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "k.db")


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([0.0, 10.0, 20.0, 30.0, 40.0], 0.5) == 20.0
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)


def test_kpis_per_stage_and_group(store: SqliteStore) -> None:
    sla = SlaConfig(urgent=3600, default=4 * 3600)
    # three urgent X complaints decided by alice after 10, 30 and 90 minutes
    for minutes in (10, 30, 90):
        add(
            store, T0, "refund please", intent="complaint", urgency=0.9, sentiment="negative",
            drafted_at=T0 + MIN, first_look_at=T0 + 5 * MIN,
            decided_at=T0 + minutes * MIN, decided_by="web:alice",
            posted_at=T0 + (minutes + 1) * MIN, state="posted",
        )  # fmt: skip
    # one low-urgency question on trustpilot, decided by bob after 5 hours, never looked at
    add(
        store, T0, "how do I", platform="trustpilot", kind="review", intent="question",
        urgency=0.1, drafted_at=T0 + 2 * MIN, decided_at=T0 + 300 * MIN,
        decided_by="slack:bob", state="rejected",
    )  # fmt: skip
    add(store, T0, "still open", intent="praise", urgency=0.5)
    add(store, T0 - timedelta(days=30), "outside the window", decided_at=T0)
    report = kpis(store, T0 - MIN, T0 + timedelta(days=1), sla, Clock())
    assert report.total == 5
    decision = report.overall["decision"]
    assert decision.count == 4
    assert decision.p50 == pytest.approx((30 + 90) / 2 * 60)
    # urgent target 1 h: 10 and 30 within, 90 not; the review (target 24 h) within
    assert decision.within == pytest.approx(3 / 4)
    look = report.overall["look"]
    assert look.count == 4  # bob's decision counts as his first look
    assert look.p50 == pytest.approx(5 * 60)
    assert report.overall["post"].count == 3
    assert report.overall["draft"].count == 4
    groups = report.groups
    assert set(groups["platform"]) == {"x", "trustpilot"}
    assert groups["approver"]["web:alice"]["decision"].count == 3
    assert groups["approver"]["web:alice"]["decision"].within == pytest.approx(2 / 3)
    assert groups["approver"]["slack:bob"]["decision"].within == 1.0
    assert groups["band"]["urgent"]["decision"].p90 == pytest.approx((30 + 0.8 * 60) * 60)
    assert set(groups["intent"]) == {"complaint", "question"}  # praise reached no stage yet
    assert kpi_json(report)["overall"]["decision"]["count"] == 4


def test_percentiles_count_only_office_hours_when_business_hours_are_set(
    store: SqliteStore,
) -> None:
    zone = ZoneInfo("Europe/Berlin")
    friday_5pm = datetime(2026, 11, 6, 16, 58, tzinfo=zone).astimezone(UTC)
    monday_9am = datetime(2026, 11, 9, 9, 3, tzinfo=zone).astimezone(UTC)
    add(
        store, friday_5pm, "refund please", intent="complaint", urgency=0.2,
        first_look_at=monday_9am, decided_at=monday_9am, decided_by="web:alice",
    )  # fmt: skip
    sla = SlaConfig(default=3600)
    office = Clock(BusinessHours(start=9, end=17), zone)
    since, until = friday_5pm - MIN, friday_5pm + MIN
    business = kpis(store, since, until, sla, office).overall["look"]
    wall = kpis(store, since, until, sla, Clock()).overall["look"]
    assert business.p50 == pytest.approx(5 * 60) and business.within == 1.0
    assert wall.p50 == pytest.approx((monday_9am - friday_5pm).total_seconds())
    assert wall.within == 0.0
    assert kpis(store, since, until, sla, office).clock.startswith("business hours (mon")


def test_first_look_is_recorded_once(store: SqliteStore) -> None:
    item = add(store, T0, "hi")
    assert store.mark_first_look(item, T0 + MIN)
    assert not store.mark_first_look(item, T0 + 9 * MIN)
    rows = store.ops_rows(T0, T0 + MIN)
    assert [r.first_look_at for r in rows] == [T0 + MIN]


def test_window_reads_use_the_arrival_index(store: SqliteStore) -> None:
    plan = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM mentions INDEXED BY mentions_ingested"
        " WHERE ingested_at >= ? AND ingested_at < ? ORDER BY ingested_at, id",
        ("a", "b"),
    ).fetchall()
    detail = " ".join(str(r[-1]) for r in plan)
    assert "mentions_ingested" in detail and "SCAN" not in detail.replace("SCAN CONSTANT", "")


def test_window_pages_by_keyset(store: SqliteStore) -> None:
    ids = [add(store, T0 + i * MIN, f"m{i}") for i in range(7)]
    add(store, T0 + timedelta(days=2), "later")
    first = store.ops_rows(T0, T0 + timedelta(days=1), limit=3)
    rest = store.ops_rows(
        T0, T0 + timedelta(days=1), after=(first[-1].ingested_at, first[-1].id), limit=10
    )
    assert [r.id for r in first + rest] == ids


async def test_opening_an_item_in_the_console_is_its_first_look(tmp_path: Path) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from repbot.approval.config import WebConfig
    from repbot.approval.web import setup_console
    from repbot.testing.approval import seed_item

    store = SqliteStore(tmp_path / "c.db")
    item = seed_item(store)
    app = web.Application()
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1")
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/")).status == 200  # the list alone is not a look
        assert store.get(item).ingested_at and not _looked(store, item)
        assert (await client.get(f"/items/{item}")).status == 200
        first = _looked(store, item)
        assert first is not None
        assert (await client.get(f"/items/{item}")).status == 200
        assert _looked(store, item) == first
    store.close()


def _looked(store: SqliteStore, item: int) -> str | None:
    row = store.conn.execute("SELECT first_look_at FROM mentions WHERE id = ?", (item,)).fetchone()
    return row[0] if row else None


async def test_a_click_on_the_slack_message_is_its_first_look(tmp_path: Path) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer
    from pydantic import SecretStr

    from repbot.approval import blocks
    from repbot.approval.config import SlackConfig
    from repbot.approval.slack import SlackApproval
    from repbot.testing.approval import seed_item, signed_body
    from repbot.testing.slack import FakeSlack, block_actions_payload

    secret = "kpi-test-signing-secret"
    store = SqliteStore(tmp_path / "s.db")
    item = seed_item(store)
    async with FakeSlack() as fake:
        cfg = SlackConfig(
            mode="http", bot_token=SecretStr("xoxb-test-token"), signing_secret=SecretStr(secret),
            channel="CAPPROVE", approvers=["UALICE"], api_base_url=fake.base_url,
        )  # fmt: skip
        slack = SlackApproval(cfg, store, brand_tz="UTC")
        app = web.Application()
        app.router.add_post("/slack/events", slack.handle_http)
        async with TestClient(TestServer(app)) as client:
            await slack.sync()
            assert _looked(store, item) is None  # delivered, not yet seen
            channel, ts = slack.message_for(item) or ("CAPPROVE", "1.1")
            payload = block_actions_payload(
                user="UALICE", action_id=blocks.ACTION_EDIT, value=str(item),
                channel=channel, message_ts=ts,
            )  # fmt: skip
            body, headers = signed_body(payload, secret)
            await client.post("/slack/events", data=body, headers=headers)
            await slack.drain()
        await slack.stop()
    assert _looked(store, item) is not None  # the modal opened: a look, not a decision
    assert store.decisions(item) == []
    store.close()
