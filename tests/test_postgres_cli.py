"""``repbot migrate`` on both backends and ``repbot store copy`` from SQLite into PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from repbot import workflow
from repbot.cli import main
from repbot.models import State
from repbot.store import SqliteStore
from repbot.store.pg_migrations import PG_MIGRATIONS
from repbot.store.postgres import open_postgres
from repbot.testing.fakes import make_mention
from repbot.testing.postgres import pg_schema


@pytest.fixture
def pg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A config whose store is a fresh PostgreSQL schema, its DSN from the environment."""
    with pg_schema() as dsn:
        monkeypatch.setenv("REPBOT_TEST_DSN", dsn)
        path = tmp_path / "pg.yaml"
        path.write_text("store:\n  backend: postgres\n  dsn: ${REPBOT_TEST_DSN}\n")
        yield path, dsn


def test_migrate_sqlite_prints_what_it_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("store:\n  path: ./s.db\n")
    assert main(["migrate", "-c", str(config)]) == 0
    assert "applied 1: initial schema" in capsys.readouterr().out
    assert main(["migrate", "-c", str(config)]) == 0
    assert "applied" not in capsys.readouterr().out.replace("store at", "")


def test_postgres_without_a_dsn_is_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("store:\n  backend: postgres\n")
    assert main(["migrate", "-c", str(config)]) == 2


def test_migrate_postgres_once_and_never_prints_the_dsn(
    pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, dsn = pg_config
    assert main(["migrate", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"applied 1: {PG_MIGRATIONS[0][1]}" in out and dsn not in out
    assert main(["migrate", "-c", str(config)]) == 0
    assert "applied" not in capsys.readouterr().out.replace("store at", "")


def test_store_copy_moves_everything_once(
    tmp_path: Path, pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, dsn = pg_config
    old = SqliteStore(tmp_path / "old.db")
    ids = old.ingest("src", [make_mention(i) for i in range(7)], "cur-7").new_ids
    old.set_classified(ids[0], {"label": "negative", "urgency": 0.9})
    old.set_draft(ids[0], "Sorry", {"k": 1})
    workflow.decide(old, ids[0], "approve", "U1", text="Sorry!")
    old.begin_post(ids[0])
    old.complete_post(ids[0], "r1", "https://x/r1")
    old.kv_set("k", "v")
    admin = old.user_add("alice", "admin", "hash")
    old.user_update(admin.id, disabled=True)
    expected = (old.counts(), [e["event"] for e in old.audit_log(ids[0])], old.get(ids[0]))
    old.close()
    argv = ["store", "copy", "--from", f"sqlite:{tmp_path / 'old.db'}", "--to", "postgres"]
    assert main([*argv, "-c", str(config), "--batch", "3"]) == 0
    assert "mentions: 7 new rows" in capsys.readouterr().out
    assert main([*argv, "-c", str(config)]) == 0  # a re-run copies nothing twice
    assert "mentions: 0 new rows" in capsys.readouterr().out
    new = open_postgres(dsn)
    try:
        counts, events, item = expected
        assert new.counts() == counts and new.get_cursor("src") == "cur-7"
        assert [e["event"] for e in new.audit_log(ids[0])] == events
        copied = new.get(ids[0])
        assert (copied.final_text, copied.draft, copied.posted_url) == (
            item.final_text,
            item.draft,
            item.posted_url,
        )
        assert new.kv_get("k") == "v" and new.posts_this_month("src", item.ingested_at) == 1
        assert new.user_get("alice") == replace(admin, disabled=True)
        [fresh] = new.ingest("src", [make_mention(99)], None).new_ids
        assert fresh > max(ids)  # the id sequences continue after the copied rows
    finally:
        new.close()


def test_store_copy_refuses_a_sqlite_target(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("store:\n  path: ./s.db\n")
    argv = ["store", "copy", "--from", "sqlite:x.db", "--to", "postgres", "-c", str(config)]
    assert main(argv) == 2


def _stored(dsn: str, count: int) -> list[int]:
    store = open_postgres(dsn)
    try:
        ids = store.ingest("src", [make_mention(i) for i in range(count)], "c1").new_ids
        store.set_classified(ids[0], {"label": "negative", "urgency": 0.9})
        store.skip(ids[1], "not about the brand")
        return ids
    finally:
        store.close()


def test_queue_and_requeue_read_and_write_postgres(
    pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, dsn = pg_config
    ids = _stored(dsn, 3)
    assert main(["queue", "-c", str(config), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(i["id"] for i in listed) == sorted(ids) and listed[0]["id"] == ids[0]
    assert main(["queue", "-c", str(config), "--json", "--state", "skipped"]) == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [ids[1]]
    assert main(["requeue", "-c", str(config), "--state", "skipped"]) == 0
    assert f"requeued 1 item(s): {ids[1]}" in capsys.readouterr().out
    store = open_postgres(dsn)
    try:
        assert store.get(ids[1]).state is State.NEW
    finally:
        store.close()


def test_users_add_and_list_on_postgres(
    pg_config: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, dsn = pg_config
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    argv = ["users", "add", "alice", "--role", "admin", "--password-stdin", "-c", str(config)]
    assert main(argv) == 0
    assert "added alice (admin)" in capsys.readouterr().out
    assert main(["users", "list", "--json", "-c", str(config)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["name"], row["role"]) == ("alice", "admin")
    store = open_postgres(dsn)
    try:
        user = store.user_get("alice")
        assert user is not None and user.role == "admin"
        assert "a long passphrase" not in user.password_hash
    finally:
        store.close()


def test_check_names_the_postgres_store_and_counts_its_accounts(
    pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, dsn = pg_config
    store = open_postgres(dsn)
    try:
        store.user_add("bob", "approver", "hash")
    finally:
        store.close()
    assert main(["check", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "store: postgres" in out and "1 account(s)" in out and dsn not in out


def test_report_on_postgres(
    pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, dsn = pg_config
    ids = _stored(dsn, 4)
    assert main(["report", "-c", str(config), "--json", "--period", "7d"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["queue"] == {"new": 2, "classified": 1, "skipped": 1} and ids


def test_prune_on_postgres(pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, dsn = pg_config
    _stored(dsn, 2)
    assert main(["prune", "-c", str(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file_bytes"] is None and data["raw_payloads_deleted"] == 0


def test_prune_vacuum_and_backup_are_sqlite_only(
    tmp_path: Path, pg_config: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = pg_config
    assert main(["backup", "--out", str(tmp_path / "copy.db"), "-c", str(config)]) == 2
    assert "PostgreSQL" in capsys.readouterr().err and not (tmp_path / "copy.db").exists()
    assert main(["prune", "--vacuum", "-c", str(config)]) == 2
    assert "autovacuum" in capsys.readouterr().err
