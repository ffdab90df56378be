"""``repbot backup``: a consistent copy through the online backup API while a writer runs."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from repbot.backup import BackupError, backup, verify
from repbot.cli import main
from repbot.store import SqliteStore
from repbot.testing.fakes import make_mention

WRITES = 400


def test_backup_while_a_writer_commits_has_every_row_committed_before_it(tmp_path: Path) -> None:
    db = tmp_path / "repbot.db"
    SqliteStore(db).close()
    committed: list[int] = []  # the writer appends only after its commit returned
    started, stop = threading.Event(), threading.Event()

    def writer() -> None:
        store = SqliteStore(db)
        try:
            for n in range(1, WRITES + 1):
                store.ingest("demo", [make_mention(n)], f"c{n}")
                committed.append(n)
                if n == 20:
                    started.set()
                if stop.is_set():
                    break
        finally:
            store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(60)  # hang guard
        before = len(committed)
        counts = backup(db, tmp_path / "copy.db")
        after = len(committed)
    finally:
        stop.set()
        thread.join(60)
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {r[0] for r in copy.execute("SELECT external_id FROM mentions")}
    finally:
        copy.close()
    assert {make_mention(n).external_id for n in committed[:before]} <= ids
    assert before <= len(ids) <= after  # a snapshot: nothing half written, nothing invented
    assert counts["mentions"] == len(ids)
    reopened = SqliteStore(tmp_path / "copy.db")  # the copy is a usable store
    try:
        assert sum(reopened.counts().values()) == len(ids)
    finally:
        reopened.close()


def test_verify_refuses_a_file_that_is_not_a_store_and_backup_never_leaves_a_partial(
    tmp_path: Path,
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not a readable SQLite store"):
        verify(junk)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(BackupError, match="not a repbot store"):
        verify(empty)
    with pytest.raises(BackupError, match="no store at"):
        backup(tmp_path / "missing.db", tmp_path / "out.db")
    store = tmp_path / "s.db"
    SqliteStore(store).close()
    with pytest.raises(BackupError, match="itself"):
        backup(store, store)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "junk.db", "s.db"]


def test_backup_command_writes_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "repbot.yaml").write_text("store: {path: ./repbot.db}\n")
    store = SqliteStore(tmp_path / "repbot.db")
    store.ingest("demo", [make_mention(1), make_mention(2)], None)
    store.close()
    config = str(tmp_path / "repbot.yaml")
    assert main(["backup", "-c", config, "--out", str(tmp_path / "b.db")]) == 0
    assert "2 mentions" in capsys.readouterr().out
    assert main(["backup", "-c", config, "--verify", str(tmp_path / "b.db")]) == 0
    assert ": ok (2 mentions" in capsys.readouterr().out
    (tmp_path / "bad.db").write_bytes(b"x" * 4096)
    assert main(["backup", "--verify", str(tmp_path / "bad.db")]) == 1
    assert "not a readable SQLite store" in capsys.readouterr().err
