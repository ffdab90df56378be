"""The file source: JSONL and CSV, field mapping, growing files, malformed records."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from repbot.connectors.file import FileConfig, FileConnector
from repbot.errors import TransientError


def _connector(tmp_path: Path, name: str, **options: Any) -> FileConnector:
    connector = FileConnector("f", FileConfig.model_validate({"path": name, **options}))
    connector.base_dir = tmp_path
    return connector


def _record(n: int, **extra: Any) -> str:
    data = {
        "external_id": f"r{n}",
        "platform": "trustpilot",
        "text": f"review {n}",
        "author": {"handle": f"u{n}", "followers": 5},
        "created_at": "2026-11-01T10:00:00Z",
        "rating": 2,
        **extra,
    }
    return json.dumps(data) + "\n"


async def test_jsonl_import_and_resume_from_cursor(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text("".join(_record(i) for i in range(3)))
    connector = _connector(tmp_path, "m.jsonl")
    page = await connector.fetch(None)
    assert [m.external_id for m in page.mentions] == ["r0", "r1", "r2"]
    assert page.mentions[0].kind == "review" and page.mentions[0].rating == 2
    assert (await connector.fetch(page.cursor)).mentions == []


async def test_follows_a_growing_file_and_waits_for_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(_record(1) + _record(2)[:20])
    connector = _connector(tmp_path, "m.jsonl")
    first = await connector.fetch(None)
    assert [m.external_id for m in first.mentions] == ["r1"] and not first.has_more
    with path.open("a") as out:
        out.write(_record(2)[20:] + _record(3))
    second = await connector.fetch(first.cursor)
    assert [m.external_id for m in second.mentions] == ["r2", "r3"]


async def test_batches_set_has_more(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text("".join(_record(i) for i in range(5)))
    connector = _connector(tmp_path, "m.jsonl", batch_size=2)
    page = await connector.fetch(None)
    assert len(page.mentions) == 2 and page.has_more


async def test_malformed_records_are_logged_counted_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [
        _record(1),
        "{not json\n",
        json.dumps({"text": "no id", "created_at": "2026-01-01T00:00:00Z"}) + "\n",
        _record(2, created_at="1066-10-14T00:00:00Z"),
        _record(3, created_at="yesterday-ish"),
        _record(4, rating=9),
        "[1, 2, 3]\n",
        _record(5, text="x" * 1_000_000),
        _record(6),
    ]
    (tmp_path / "m.jsonl").write_text("".join(lines))
    with caplog.at_level(logging.WARNING):
        page = await _connector(tmp_path, "m.jsonl").fetch(None)
    assert [m.external_id for m in page.mentions] == ["r1", "r5", "r6"]
    assert page.malformed == 6
    assert len(page.mentions[1].text) == 20_000
    assert "byte=" in caplog.text and "m.jsonl" in caplog.text


async def test_csv_with_mapping(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text(
        "review_id,body,user,stars,when\n"
        'a1,"Great, fast delivery",jo,5,2026-11-01T09:00:00+01:00\n'
        "a2,Awful,sam,1,2026-11-02T09:00:00Z\n"
    )
    connector = _connector(
        tmp_path,
        "r.csv",
        platform="google_play",
        mapping={
            "external_id": "review_id",
            "text": "body",
            "author.handle": "user",
            "rating": "stars",
            "created_at": "when",
        },
    )
    page = await connector.fetch(None)
    first = page.mentions[0]
    assert (first.external_id, first.text, first.author.handle, first.rating) == (
        "a1",
        "Great, fast delivery",
        "jo",
        5,
    )
    assert first.platform == "google_play" and first.created_at.hour == 8
    assert page.malformed == 0 and len(page.mentions) == 2


async def test_missing_file_is_transient(tmp_path: Path) -> None:
    with pytest.raises(TransientError):
        await _connector(tmp_path, "absent.jsonl").fetch(None)


async def test_sandbox_reply_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text(_record(1))
    connector = _connector(tmp_path, "m.jsonl", sandbox_dir="box")
    [mention] = (await connector.fetch(None)).mentions
    first = await connector.reply(mention, "Sorry!", "key-1")
    again = await connector.reply(mention, "Sorry!", "key-1")
    assert first == again == await connector.find_reply(mention, "key-1")
    assert len((tmp_path / "box" / "posts.jsonl").read_text().splitlines()) == 1
    await connector.aclose()
