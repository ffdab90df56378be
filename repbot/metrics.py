"""Prometheus metrics of one running repbot, exposed at ``/metrics`` by prometheus-client.

Each :class:`Metrics` owns its own ``CollectorRegistry`` (never the process-global one), so two
daemons or many tests in one process do not collide. Two kinds of figure:

* events counted where they happen in this process (mentions ingested, malformed records and
  poll errors by source, classify and draft latency);
* figures read from the store at scrape time, each from a counter table the store's triggers
  keep (queue depth by state, decisions by kind, posts, alerts and SLA breaches, source health,
  response-time KPIs): a scrape costs the same at any history size, it never scans.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from repbot.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
SLA_BREACH_KIND = "sla_breach"
"""The alert kind :mod:`repbot.sla` records at a breach (``repbot_sla_breaches_total``)."""
disable_created_metrics()  # type: ignore[no-untyped-call] # no ``*_created`` series: they would double the families


class Metrics:
    """The counters and histograms of one daemon, and the store figures read at scrape time."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.ingested = Counter(
            "repbot_mentions_ingested",
            "Mentions stored as new, by source.",
            ["source"],
            registry=reg,
        )
        self.malformed = Counter(
            "repbot_malformed_records",
            "Records a source returned that could not be stored, by source.",
            ["source"],
            registry=reg,
        )
        self.errors = Counter(
            "repbot_source_errors",
            "Failed polls by source and kind (auth, rate_limited, transient, other).",
            ["source", "kind"],
            registry=reg,
        )
        self.latency = Histogram(
            "repbot_stage_seconds",
            "Seconds one classify batch or one draft took, by stage.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        for stage in ("classify", "draft"):
            self.latency.labels(stage=stage)
        reg.register(StoreCollector(store))

    def poll(self, source: str, new: int, malformed: int, error_kind: str | None) -> None:
        """Count one poll cycle's (or one webhook delivery's) outcome."""
        self.ingested.labels(source=source).inc(new)
        self.malformed.labels(source=source).inc(malformed)
        if error_kind is not None:
            self.errors.labels(source=source, kind=error_kind).inc()

    def timing(self, stage: str, seconds: float, items: int = 1) -> None:
        """Record how long one ``stage`` step took (``items``: how many it handled)."""
        del items  # one observation per call: a batch is one model call
        self.latency.labels(stage=stage).observe(max(0.0, seconds))

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every family."""
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Reads the store's incremental counters at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        """The families without reading the store (the registry calls this at register)."""
        return list(self._families(empty=True))

    def collect(self) -> Iterator[Metric]:
        """The families with their current figures."""
        yield from self._families(empty=False)

    def _families(self, *, empty: bool) -> Iterator[Metric]:
        queue = GaugeMetricFamily("repbot_mentions", "Mentions by state.", labels=["state"])
        failures = GaugeMetricFamily(
            "repbot_source_failures", "Consecutive failed polls by source.", labels=["source"]
        )
        disabled = GaugeMetricFamily(
            "repbot_source_disabled", "1 while a source is disabled.", labels=["source"]
        )
        decisions = CounterMetricFamily(
            "repbot_decisions", "Decisions recorded, by kind.", labels=["kind"]
        )
        posts = CounterMetricFamily("repbot_posts", "Replies posted, by source.", labels=["source"])
        alerts = CounterMetricFamily("repbot_alerts", "Alerts raised, by kind.", labels=["kind"])
        breaches = CounterMetricFamily("repbot_sla_breaches", "SLA breaches alerted.")
        response = GaugeMetricFamily(
            "repbot_response_seconds",
            "Response-time KPI quantiles by stage (seconds from the mention).",
            labels=["stage", "quantile"],
        )
        response_n = GaugeMetricFamily(
            "repbot_response_count", "Mentions measured per response stage.", labels=["stage"]
        )
        if not empty:
            self._fill(queue, failures, disabled, decisions, posts, alerts, breaches)
            self._fill_kpis(response, response_n)
        yield from (queue, failures, disabled, decisions, posts, alerts, breaches)
        yield from (response, response_n)

    def _fill(
        self,
        queue: GaugeMetricFamily,
        failures: GaugeMetricFamily,
        disabled: GaugeMetricFamily,
        decisions: CounterMetricFamily,
        posts: CounterMetricFamily,
        alerts: CounterMetricFamily,
        breaches: CounterMetricFamily,
    ) -> None:
        store = self.store
        for state, n in sorted(store.counts().items()):
            queue.add_metric([state], n)
        for s in store.source_status():
            failures.add_metric([s.source], s.failures)
            disabled.add_metric([s.source], int(s.disabled))
        events = store.event_counts()
        for kind, n in sorted(events.get("decision", {}).items()):
            decisions.add_metric([kind], n)
        for kind, n in sorted(events.get("alert", {}).items()):
            alerts.add_metric([kind], n)
        breaches.add_metric([], events.get("alert", {}).get(SLA_BREACH_KIND, 0))
        for source, n in sorted(store.post_totals().items()):
            posts.add_metric([source], n)

    def _fill_kpis(self, response: GaugeMetricFamily, response_n: GaugeMetricFamily) -> None:
        for stage, summary in self.store.response_times().items():
            for key, quantile in (("p50", "0.5"), ("p90", "0.9"), ("p95", "0.95")):
                if key in summary:
                    response.add_metric([stage, quantile], summary[key])
            response_n.add_metric([stage], summary.get("count", 0))
