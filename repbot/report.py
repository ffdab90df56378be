"""``repbot report --period 7d --out report.html``: a digest as one self-contained HTML page.

The charts are inline (base64 PNG ``data:`` URLs), so the file can be mailed or archived as it
is. :func:`render_section` is the page's body alone, which the console dashboard embeds.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from rich.table import Table

from repbot.config import Config
from repbot.digest import Digest, build_digest, duration_text
from repbot.kpi import DIMENSIONS, STAGES, KpiReport, StageStats, kpis
from repbot.models import utcnow
from repbot.respond.textsim import Embedder
from repbot.sla import clock_for
from repbot.store import store_for

log = logging.getLogger(__name__)

_SECTION = """
<section class="digest">
<p class="period">{{ d.since.strftime("%Y-%m-%d %H:%M") }} to
 {{ d.until.strftime("%Y-%m-%d %H:%M") }} UTC: <b id="total">{{ d.total }}</b> mentions</p>
<div class="charts">
{% for name, src in charts.items() %}
<figure><img class="chart" id="chart-{{ name }}" alt="{{ name }} chart" src="{{ src }}"></figure>
{% endfor %}
</div>
<h2>Volumes</h2>
<table class="volumes"><tr><th>platform</th><th>mentions</th></tr>
{% for p, n in d.platforms | dictsort %}<tr><td>{{ p }}</td><td>{{ n }}</td></tr>{% endfor %}
</table>
<h2>Response times</h2>
<table class="kpis"><tr><th>group</th>
{% for s in stages %}<th colspan="3">to {{ s }}</th>{% endfor %}</tr>
<tr><th></th>{% for s in stages %}<th>p50</th><th>p90</th><th>in target</th>{% endfor %}</tr>
{% if d.kpis %}
<tr><td>all</td>{% for s in stages %}{{ cells(d.kpis.overall.get(s)) }}{% endfor %}</tr>
{% for dim in dimensions %}{% for value, per in (d.kpis.groups.get(dim) or {}) | dictsort %}
<tr><td>{{ dim }}: {{ value }}</td>{% for s in stages %}{{ cells(per.get(s)) }}{% endfor %}</tr>
{% endfor %}{% endfor %}
{% endif %}
</table>
<h2>Top issues</h2>
<ol class="issues">
{% for i in d.issues %}<li><b>{{ i.name }}</b>: {{ i.count }} ({{ i.trend }})
<ul>{% for e in i.examples %}<li>{{ e }}</li>{% endfor %}</ul></li>
{% else %}<li class="none">no complaints in this period</li>{% endfor %}
</ol>
<h2>SLA breaches ({{ d.breaches | length }})</h2>
<ul class="breaches">
{% for b in d.breaches %}<li>{{ b.at[:16] }}: {{ b.message }}</li>{% endfor %}
</ul>
</section>
"""
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ d.title }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
td:first-child { text-align: left; }
.charts img { max-width: 100%; }
</style></head>
<body><h1>{{ d.title }}</h1>{{ section }}</body></html>
"""
_ENV = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


def _cells(stats: object) -> str:
    if stats is None or not getattr(stats, "count", 0):
        return "<td>-</td><td>-</td><td>-</td>"
    p50 = duration_text(getattr(stats, "p50", None))
    p90 = duration_text(getattr(stats, "p90", None))
    return f"<td>{p50}</td><td>{p90}</td><td>{getattr(stats, 'within', 0) or 0:.0%}</td>"


def data_url(png: bytes) -> str:
    """A PNG as an inline ``data:`` URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_section(digest: Digest) -> str:
    """The digest's HTML body (charts inline)."""
    charts = {name: data_url(png) for name, png in digest.charts.items()}
    return _ENV.from_string(_SECTION).render(
        d=digest,
        charts=charts,
        stages=STAGES,
        dimensions=DIMENSIONS,
        cells=lambda s: Markup(_cells(s)),
    )


def render_html(digest: Digest) -> str:
    """The digest as one self-contained HTML page."""
    section = Markup(render_section(digest))
    return _ENV.from_string(_PAGE).render(d=digest, section=section)


def write_report(config: Config, period: float, out_path: Path, *, lexical: bool = False) -> Digest:
    """Build the digest of the last ``period`` seconds and write it to ``out_path``."""
    embedder = None if lexical else _encoder()
    store = store_for(config)
    try:
        until = utcnow()
        digest = build_digest(
            store, config, until - timedelta(seconds=period), until, embedder=embedder,
            title=f"repbot report: {config.brand.name}",
        )  # fmt: skip
    finally:
        store.close()
    out_path.write_text(render_html(digest), encoding="utf-8")
    return digest


def period_kpis(config: Config, period: float) -> KpiReport:
    """The KPIs of the last ``period`` seconds' arrivals."""
    store = store_for(config)
    try:
        until = utcnow()
        sla = config.alerts.sla
        return kpis(
            store, until - timedelta(seconds=period), until, sla,
            clock_for(sla, config.brand.timezone),
        )  # fmt: skip
    finally:
        store.close()


def kpi_json(report: KpiReport) -> dict[str, Any]:
    """The KPI report as plain JSON data."""
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "total": report.total,
        "overall": {s: asdict(v) for s, v in report.overall.items()},
        "groups": {
            dim: {value: {s: asdict(v) for s, v in per.items()} for value, per in values.items()}
            for dim, values in report.groups.items()
        },
    }


def _encoder() -> Embedder | None:
    """The packaged sentence encoder, or None (lexical grouping) when it cannot load."""
    try:
        from repbot.classify.embed import SentenceEmbedder

        embedder: Embedder = SentenceEmbedder.default()  # type: ignore[assignment]
        return embedder
    except Exception as exc:  # noqa: BLE001 - the report still works, grouped lexically
        log.warning("sentence encoder unavailable (%s); grouping issues by words", exc)
        return None


def kpi_table(report: KpiReport) -> Table:
    """The KPI report as a terminal table (overall, then per platform, intent, band, approver)."""
    table = Table(title=f"response times, mentions since {report.since:%Y-%m-%d %H:%M} UTC")
    table.add_column("group")
    for stage in STAGES:
        table.add_column(f"{stage} p50/p90 (in target)")
    rows = [("all", report.overall)]
    rows += [
        (f"{dim}: {value}", per)
        for dim in DIMENSIONS
        for value, per in sorted(report.groups.get(dim, {}).items())
    ]
    for name, per in rows:
        table.add_row(name, *(_cell_text(per.get(s)) for s in STAGES))
    return table


def _cell_text(stats: StageStats | None) -> str:
    if stats is None or not stats.count:
        return "-"
    p50, p90 = duration_text(stats.p50), duration_text(stats.p90)
    return f"{p50} / {p90} ({stats.within or 0:.0%}, n={stats.count})"
