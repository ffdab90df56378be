"""``repbot migrate`` on both backends and ``repbot store copy`` from SQLite into PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from repbot import workflow
from repbot.cli import main
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
