"""``repbot backup``: a consistent copy of the SQLite store while the daemon keeps writing.

The copy goes through SQLite's online backup API (``sqlite3.Connection.backup``) in one step:
it reads one snapshot (in WAL mode writers go on meanwhile), so the copy holds exactly the
transactions committed before it started. It is written next to the target and renamed into
place only once ``PRAGMA integrity_check`` passed, so a failed backup never leaves a partial
file under the target's name. ``--verify FILE`` checks an existing copy.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from repbot.errors import RepbotError


class BackupError(RepbotError):
    """The store cannot be copied, or a copy is not a sound repbot store."""


def backup(source: Path, target: Path) -> dict[str, int]:
    """Copy the store at ``source`` to ``target``; returns the copy's row counts."""
    if not source.is_file():
        raise BackupError(f"no store at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup target is the store itself")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=30)  # read only; WAL needs the -shm writable
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # one step: one consistent snapshot
            finally:
                dst.close()
        finally:
            src.close()
        counts = verify(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return counts


def verify(path: Path) -> dict[str, int]:
    """Check that ``path`` is a sound repbot store; returns the row count of each main table."""
    if not path.is_file():
        raise BackupError(f"no file at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise BackupError(f"{path} fails the integrity check: {'; '.join(result[:5])}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            missing = {"mentions", "schema_migrations"} - tables
            if missing:
                raise BackupError(f"{path} is not a repbot store (no {', '.join(sorted(missing))})")
            main = ("mentions", "decisions", "posts", "audit")
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in main}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a readable SQLite store: {exc}") from None


class _Subcommands(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def add_command(sub: _Subcommands) -> None:
    """Register ``repbot backup --out FILE`` / ``repbot backup --verify FILE``."""
    parser = sub.add_parser("backup", help="copy the store consistently while the daemon runs")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", type=Path, help="write the copy to FILE")
    what.add_argument("--verify", type=Path, metavar="FILE", help="check an existing copy")
    parser.set_defaults(func=_cmd_backup)


def _cmd_backup(args: argparse.Namespace) -> int:
    if args.verify is not None:
        counts = verify(args.verify)
        print(f"{args.verify}: ok ({_describe(counts)})")
        return 0
    from repbot.config import load_config

    source = load_config(args.config).store_file()
    counts = backup(source, args.out)
    print(f"backed up {source} to {args.out} ({_describe(counts)})")
    return 0


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items())
