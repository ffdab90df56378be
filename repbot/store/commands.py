"""``repbot migrate`` and ``repbot store copy``: schema upgrades and moving to PostgreSQL.

Exit codes: 0 done, 1 the store failed, 2 bad usage or bad config.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any

from repbot.config import load_config
from repbot.errors import StoreError
from repbot.secrets import redact
from repbot.store.migrations import MIGRATIONS
from repbot.store.sqlite import SqliteStore

OK, FAILURE, BAD_USAGE = 0, 1, 2
# Parents before children (foreign keys); ids are kept, so a re-run skips what is there.
COPY_TABLES = (
    "mentions",
    "mention_raw",
    "mention_revisions",
    "drafts",
    "decisions",
    "feedback_labels",
    "posts",
    "cursors",
    "alerts",
    "audit",
    "kv",
    "users",
    "claims",
)
_KEYS = {"mention_raw": "mention_id", "cursors": "source", "kv": "key", "claims": "mention_id"}


def add_commands(sub: Any) -> None:
    """Register ``migrate`` and ``store copy`` (``sub`` adds the common ``-c`` option)."""
    migrate = sub.add_parser("migrate", help="apply pending schema migrations of the store")
    migrate.set_defaults(func=_cmd_migrate)
    store = sub.add_parser("store", help="store tools")
    verbs = store.add_subparsers(title="actions", metavar="ACTION")
    copy = verbs.add_parser("copy", help="copy a SQLite store into the configured PostgreSQL")
    copy.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH")
    copy.add_argument("--to", dest="target", required=True, choices=["postgres"])
    copy.add_argument("--batch", type=int, default=1000, help="rows per transaction")
    copy.add_argument("-c", "--config", default=argparse.SUPPRESS, help="config file")
    copy.set_defaults(func=_cmd_copy)
    store.set_defaults(func=lambda _args: _usage(store))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    return BAD_USAGE


def _cmd_migrate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        if config.store.backend == "postgres" and config.store.dsn is not None:
            from repbot.store.postgres import open_postgres

            pg = open_postgres(config.store.dsn.get_secret_value(), migrate=False)
            try:
                done = pg.migrate()
                version = pg.schema_version()
            finally:
                pg.close()
        else:
            done, version = _migrate_sqlite(str(config.store_file()))
    except StoreError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return FAILURE
    for number, name in done:
        print(f"applied {number}: {name}")
    print(f"{config.store.backend} store at schema version {version}")
    return OK


def _migrate_sqlite(path: str) -> tuple[list[tuple[int, str]], int]:
    before: set[int] = set()
    try:
        with sqlite3.connect(path) as conn:
            before = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    except sqlite3.Error:
        pass  # a new file or one never migrated
    store = SqliteStore(path)
    try:
        version = store.schema_version()
    finally:
        store.close()
    return [(v, n) for v, n, _ in sorted(MIGRATIONS) if v not in before], version


def _cmd_copy(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not args.source.startswith("sqlite:") or args.batch < 1:
        print("error: --from takes sqlite:PATH and --batch a positive number", file=sys.stderr)
        return BAD_USAGE
    if config.store.backend != "postgres" or config.store.dsn is None:
        print("error: --to postgres needs store.backend postgres and store.dsn", file=sys.stderr)
        return BAD_USAGE
    try:
        copied = copy_store(
            args.source[len("sqlite:") :], config.store.dsn.get_secret_value(), args.batch
        )
    except (StoreError, sqlite3.Error) as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return FAILURE
    for table, n in copied.items():
        print(f"{table}: {n} new rows")
    return OK


def copy_store(sqlite_path: str, dsn: str, batch: int = 1000) -> dict[str, int]:
    """Stream every table of a SQLite store into PostgreSQL in batches, keeping ids; rows
    already there are left alone, so a re-run after an interruption copies only the rest."""
    import psycopg

    from repbot.store.postgres import open_postgres

    source = SqliteStore(sqlite_path)  # migrated first: the columns are the current ones
    target = open_postgres(dsn)
    try:
        return {t: _copy_table(source.conn, target, t, batch) for t in COPY_TABLES}
    except psycopg.Error as exc:
        raise StoreError(f"copy failed: {exc}") from None
    finally:
        source.close()
        target.close()


def _copy_table(src: sqlite3.Connection, target: Any, table: str, batch: int) -> int:
    with target.pool.connection() as conn:
        wanted = {
            r["column_name"]: r["data_type"]
            for r in conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = %s AND table_schema = current_schema()",
                (table,),
            )
        }
    have = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
    columns = [c for c in have if c in wanted]
    key = _KEYS.get(table, "id")
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        " ON CONFLICT DO NOTHING"
    )
    copied, last = 0, None
    while True:
        where, args = (f"WHERE {key} > ?", (last,)) if last is not None else ("", ())
        rows = src.execute(
            f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY {key} LIMIT ?",
            (*args, batch),
        ).fetchall()
        if not rows:
            break
        with target.pool.connection() as conn, conn.transaction():
            for row in rows:
                copied += conn.execute(sql, _values(row, columns, wanted)).rowcount
        last = rows[-1][columns.index(key)]
    if key == "id":
        with target.pool.connection() as conn:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" greatest(coalesce((SELECT max(id) FROM {table}), 0), 1))"
            )
    return copied


def _values(row: sqlite3.Row, columns: list[str], types: dict[str, str]) -> tuple[Any, ...]:
    """SQLite's 0/1 flags as PostgreSQL booleans; everything else as stored (ISO text and
    JSON text are cast by the server to timestamptz and jsonb)."""
    return tuple(
        bool(v) if v is not None and types[c] == "boolean" else v
        for c, v in zip(columns, row, strict=True)
    )
