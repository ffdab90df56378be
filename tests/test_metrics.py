"""/metrics through prometheus-client: every family with HELP and TYPE, figures that match the
store, per-app registries, and a scrape that reads counters instead of scanning history."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from repbot import workflow
from repbot.config import parse_config
from repbot.daemon import Daemon
from repbot.errors import AuthError, RateLimited, TransientError
from repbot.metrics import Metrics
from repbot.models import State
from repbot.runner import error_kind
from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier, make_mention, wait_until

FAMILIES = {
    "repbot_mentions_ingested": "counter",
    "repbot_malformed_records": "counter",
    "repbot_source_errors": "counter",
    "repbot_stage_seconds": "histogram",
    "repbot_mentions": "gauge",
    "repbot_source_failures": "gauge",
    "repbot_source_disabled": "gauge",
    "repbot_decisions": "counter",
    "repbot_posts": "counter",
    "repbot_alerts": "counter",
    "repbot_sla_breaches": "counter",
    "repbot_response_seconds": "gauge",
    "repbot_response_count": "gauge",
}


def _parse(
    text: str,
) -> dict[str, tuple[str, str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]]:
    out = {}
    for family in text_string_to_metric_families(text):
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        out[family.name] = (family.type, family.documentation, samples)
    return out


def _value(parsed: dict, family: str, sample: str, **labels: str) -> float:  # type: ignore[type-arg]
    return parsed[family][2][(sample, tuple(sorted(labels.items())))]


def test_every_family_has_help_and_type_and_two_apps_do_not_collide(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    try:
        first, second = Metrics(store), Metrics(store)  # the global registry would refuse this
        first.poll("x", 3, 1, "transient")
        text = first.exposition().decode()
        for line in ("# HELP repbot_mentions_ingested_total", "# TYPE repbot_posts_total counter"):
            assert line in text
        parsed = _parse(text)
        assert {name: kind for name, (kind, _, _) in parsed.items()} == FAMILIES
        assert all(doc for _, doc, _ in parsed.values())
        assert (
            _value(parsed, "repbot_mentions_ingested", "repbot_mentions_ingested_total", source="x")
            == 3
        )
        assert (
            _value(parsed, "repbot_malformed_records", "repbot_malformed_records_total", source="x")
            == 1
        )
        assert (
            _value(
                parsed,
                "repbot_source_errors",
                "repbot_source_errors_total",
                source="x",
                kind="transient",
            )
            == 1
        )
        other = _parse(second.exposition().decode())
        assert ("repbot_mentions_ingested_total", (("source", "x"),)) not in other[
            "repbot_mentions_ingested"
        ][2]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (AuthError("bad token"), "auth"),
        (RateLimited("slow down", retry_after=3), "rate_limited"),
        (TransientError("503"), "transient"),
        (ValueError("boom"), "other"),
    ],
)
def test_poll_errors_are_labelled_by_kind(exc: Exception, kind: str) -> None:
    assert error_kind(exc) == kind


def test_store_figures_come_from_counters_and_never_scan_history(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        result = store.ingest("demo", [make_mention(n) for n in range(1, 4)], None)
        first = result.new_ids[0]
        store.add_alert("demo", "sla_breach", "item 1 breached")
        store.add_alert("demo", "failing", "down")
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        parsed = _parse(Metrics(store).exposition().decode())
        store.conn.set_trace_callback(None)
        assert _value(parsed, "repbot_mentions", "repbot_mentions", state="new") == 3
        assert _value(parsed, "repbot_sla_breaches", "repbot_sla_breaches_total") == 1
        assert _value(parsed, "repbot_alerts", "repbot_alerts_total", kind="failing") == 1
        history = ("FROM mentions", "FROM decisions", "FROM alerts", "FROM posts", "FROM audit")
        scans = [s for s in statements if any(t.lower() in s.lower() for t in history)]
        assert statements and not scans
        assert first > 0
    finally:
        store.close()


def test_migration_seeds_the_counters_from_existing_rows(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    store.add_alert("demo", "auth", "x")
    store.add_alert("demo", "auth", "y")
    store.conn.execute("DELETE FROM event_counts")
    store.conn.execute("DELETE FROM schema_migrations WHERE version = 13")
    store.conn.execute("DROP TABLE event_counts")
    store.conn.execute("DROP TRIGGER IF EXISTS event_counts_decision")
    store.conn.execute("DROP TRIGGER IF EXISTS event_counts_alert")
    store.close()
    again = SqliteStore(tmp_path / "m.db")
    try:
        assert again.event_counts()["alert"] == {"auth": 2}
    finally:
        again.close()


def _config(tmp_path: Path) -> str:
    return f"""
brand: {{name: Orbit, exclude_terms: [orbit gum, telescope, planet]}}
store: {{path: {tmp_path / "repbot.db"}}}
sources:
  - {{name: demo, type: demo, interval: 1, per_poll: 50, sandbox_dir: {tmp_path / "box"}}}
server: {{port: 0}}
pipeline: {{tick: 0.05, post_retry_base: 0.1}}
"""


async def test_running_daemon_counts_what_happens(tmp_path: Path) -> None:
    daemon = Daemon(parse_config(_config(tmp_path)), classifier=KeywordClassifier())
    await daemon.initialise()
    await daemon.start()
    store = daemon.store
    assert store is not None
    try:
        await wait_until(lambda: store.counts().get("awaiting_approval", 0) >= 5)
        top = store.queue(states=[State.AWAITING_APPROVAL])[0]
        workflow.decide(store, top.id, "approve", "tester", text=top.draft)
        await wait_until(lambda: store.get(top.id).state is State.POSTED)
        store.add_alert("demo", "sla_breach", "breached")
        url = f"http://127.0.0.1:{daemon.server.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            parsed = _parse(await response.text())
        total = sum(store.counts().values())
        ingested = _value(
            parsed, "repbot_mentions_ingested", "repbot_mentions_ingested_total", source="demo"
        )
        assert ingested == total
        assert _value(parsed, "repbot_decisions", "repbot_decisions_total", kind="approve") == 1
        assert _value(parsed, "repbot_posts", "repbot_posts_total", source="demo") == 1
        assert _value(parsed, "repbot_sla_breaches", "repbot_sla_breaches_total") == 1
        for stage in ("classify", "draft"):
            assert (
                _value(parsed, "repbot_stage_seconds", "repbot_stage_seconds_count", stage=stage)
                >= 1
            )
        assert (
            _value(parsed, "repbot_source_failures", "repbot_source_failures", source="demo") == 0
        )
    finally:
        await daemon.stop()
