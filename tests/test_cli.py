"""The CLI through its entry points: exit codes, poll, queue, connectors, report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repbot.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lines = [
        {
            "external_id": "a1",
            "platform": "trustpilot",
            "rating": 1,
            "text": "Refund never came",
            "author": {"handle": "ann", "followers": 10},
            "created_at": "2026-11-20T10:00:00Z",
        },
        {
            "external_id": "a2",
            "platform": "trustpilot",
            "rating": 5,
            "text": "Great service",
            "author": {"handle": "bob"},
            "created_at": "2026-11-20T11:00:00Z",
        },
        "not json at all",
    ]
    (tmp_path / "in.jsonl").write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    )
    (tmp_path / "repbot.yaml").write_text(
        "store: {path: ./r.db}\nsources:\n  - {name: inbox, type: file, path: ./in.jsonl}\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_console_script_is_installed() -> None:
    exe = shutil.which("repbot") or str(Path(sys.executable).parent / "repbot")
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "queue" in done.stdout
    bad = subprocess.run([exe, "queue", "--bogus"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2


def test_poll_stores_and_queue_shows_json(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["poll", "--source", "inbox"]) == 0
    out = capsys.readouterr().out
    assert "2 new, 0 duplicates, 1 malformed" in out
    assert main(["poll", "--source", "inbox"]) == 0
    assert "0 new" in capsys.readouterr().out
    assert main(["queue", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {i["external_id"] for i in items} == {"a1", "a2"}
    required = {
        "id",
        "platform",
        "external_id",
        "url",
        "state",
        "created_at",
        "author",
        "text",
        "rating",
        "sentiment",
        "urgency",
        "explanation",
        "intent",
        "draft",
    }
    assert all(required <= set(i) for i in items)
    assert main(["queue", "--state", "posted", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["queue", "--platform", "trustpilot"]) == 0
    assert "Refund never came" in capsys.readouterr().out


def test_config_from_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "repbot.yaml").rename(workdir / "other.yaml")
    assert main(["queue"]) == 2
    monkeypatch.setenv("REPBOT_CONFIG", str(workdir / "other.yaml"))
    assert main(["queue"]) == 0


def test_unknown_source_is_bad_usage(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["poll", "--source", "nope"]) == 2
    assert "no source named 'nope' (known: inbox)" in capsys.readouterr().err


def test_connectors_lists_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "file", "x", "reddit", "webhook"):
        assert name in out


def test_report_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["poll", "--source", "inbox"])
    capsys.readouterr()
    assert main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["queue"] == {"new": 2} and "draft" in report["response_seconds"]


def test_unreadable_store_is_bad_config(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "blocker").write_text("")
    (workdir / "repbot.yaml").write_text("store: {path: ./blocker/sub/r.db}\n")
    assert main(["queue"]) == 2
    assert "cannot open store" in capsys.readouterr().err


def test_check_reports_unusable_store_path(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "blocker").write_text("")
    (workdir / "repbot.yaml").write_text("store: {path: ./blocker/sub/r.db}\n")
    assert main(["check"]) == 2
    assert "store.path: cannot create" in capsys.readouterr().err
    assert not (workdir / "r.db").exists()
