"""``repbot report --period 7d --out report.html``: one self-contained page with the charts
inline, the KPI table, top issues and SLA breaches; ``repbot report --json`` has the KPIs."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from ops_history import add

from repbot.cli import main
from repbot.models import utcnow
from repbot.store import SqliteStore


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "repbot.yaml"
    path.write_text("store: {path: r.db}\nsources: [{name: demo, type: demo}]\n")
    store = SqliteStore(tmp_path / "r.db")
    now = utcnow()
    with store.batch():
        for i in range(4):
            add(store, now - timedelta(days=2, hours=i), "charged twice <b>refund</b>",
                sentiment="negative", intent="complaint", urgency=0.9,
                decided_at=now - timedelta(days=2, hours=i) + timedelta(minutes=20),
                decided_by="web:alice", state="rejected")  # fmt: skip
        add(store, now - timedelta(days=30), "too old for the period", sentiment="negative")
    store.add_alert("demo", "sla_breach", "SLA breached (1 h target): item 1")
    store.close()
    return path


def test_report_html_is_self_contained_with_charts(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    code = main(
        ["report", "-c", str(config_file), "--period", "7d", "--out", str(out), "--lexical"]
    )
    assert code == 0 and "wrote" in capsys.readouterr().out
    html = out.read_text()
    images = re.findall(
        r'<img class="chart" id="chart-(\w+)"[^>]*src="data:image/png;base64,([^"]+)"', html
    )
    assert {name for name, _ in images} == {"sentiment", "volume"}
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere
    assert '<b id="total">4</b>' in html
    assert "charged twice" in html and "<b>refund</b>" not in html  # escaped
    assert "web:alice" in html and "SLA breached (1 h target)" in html


def test_report_json_has_period_kpis(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "-c", str(config_file), "--period", "7d", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    decision = data["kpis"]["overall"]["decision"]
    assert decision["count"] == 4 and decision["within"] == 1.0
    assert decision["p50"] == pytest.approx(1200, rel=0.01)
    assert main(["report", "-c", str(config_file), "--period", "fortnight"]) == 2
