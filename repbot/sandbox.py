"""A local stand-in for a platform's reply API, so the demo can post (demo only: every screen
that shows a sandbox post says so; ``file`` and ``webhook`` items go to "post manually").

Replies land in a SQLite table under ``sandbox_dir``, keyed by idempotency key: posting the
same key twice returns the first reply, like a platform that honours idempotency keys, which
lets the exactly-once machinery be shown and tested end to end.

``posts.db`` is the record; ``posts.jsonl`` is derived from it, one line per row in id order.
Every open and every post first appends the rows the file does not have yet (found from its
last line's id, so the whole file is never read), so a kill between the row and its line
cannot leave them apart: the next open or post writes the missing line, and a line cut off
by a kill is dropped and written again whole.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from repbot.connector import Connector, ConnectorConfig
from repbot.models import Mention, PostedReply, utcnow

_COLUMNS = ("idempotency_key", "platform", "in_reply_to", "text", "posted_at")
_TAIL_CHUNK = 65_536


def _tail(path: Path) -> tuple[int, bytes]:
    """The size of ``path`` up to its last newline, and its last complete line (b"" if none)."""
    if not path.exists():
        return 0, b""
    with path.open("rb") as f:
        pos = f.seek(0, os.SEEK_END)
        data = b""
        while pos > 0 and data.count(b"\n") < 2:
            step = min(_TAIL_CHUNK, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    cut = data.rfind(b"\n")
    if cut < 0:
        return 0, b""
    return pos + cut + 1, data[data.rfind(b"\n", 0, cut) + 1 : cut]


def _row_id(line: bytes, path: Path) -> int:
    """The row id of a ``posts.jsonl`` line (0 for no line)."""
    if not line:
        return 0
    try:
        return int(str(json.loads(line)["id"]).removeprefix("sandbox-"))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: the last line is not a sandbox post; move the file") from exc


class Sandbox:
    """Replies posted by sources that have no real platform behind them."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.jsonl = directory / "posts.jsonl"
        self.conn = sqlite3.connect(str(directory / "posts.db"), isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, idempotency_key TEXT UNIQUE,"
            " platform TEXT, in_reply_to TEXT, text TEXT, posted_at TEXT)"
        )
        self.conn.execute("CREATE INDEX IF NOT EXISTS posts_reply_to ON posts (in_reply_to)")
        self.export()

    def post(self, mention: Mention, text: str, key: str) -> PostedReply:
        """Record a reply once per ``key``; a repeated key returns the first reply."""
        existing = self.find(key)
        if existing is None:
            self.conn.execute(
                "INSERT OR IGNORE INTO posts (idempotency_key, platform, in_reply_to, text,"
                " posted_at) VALUES (?, ?, ?, ?, ?)",
                (key, mention.platform, mention.external_id, text, utcnow().isoformat()),
            )
            existing = self.find(key)
            assert existing is not None
        self.export()
        return existing

    def export(self) -> int:
        """Append to ``posts.jsonl`` the rows it lacks (fsync'd); return how many.

        Runs under the database's write lock, so two sandboxes on one folder (two sources,
        two processes) never write the same line twice.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            good, last = _tail(self.jsonl)
            rows = self.conn.execute(
                "SELECT id, idempotency_key, platform, in_reply_to, text, posted_at FROM posts"
                " WHERE id > ? ORDER BY id",
                (_row_id(last, self.jsonl),),
            ).fetchall()
            torn = self.jsonl.exists() and self.jsonl.stat().st_size != good
            if rows or torn:
                self._append(good, rows)
        finally:
            self.conn.execute("COMMIT")
        return len(rows)

    def _append(self, good: int, rows: list[tuple[int, str, str, str, str, str]]) -> None:
        """Cut ``posts.jsonl`` to ``good`` bytes (a line a kill cut off), then add ``rows``."""
        with self.jsonl.open("r+b" if self.jsonl.exists() else "wb") as out:
            out.truncate(good)
            out.seek(good)
            for row_id, key, platform, in_reply_to, text, posted_at in rows:
                record = {
                    "id": f"sandbox-{row_id}",
                    "key": key,
                    "platform": platform,
                    "in_reply_to": in_reply_to,
                    "text": text,
                    "posted_at": posted_at,
                }
                out.write((json.dumps(record) + "\n").encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())

    def find(self, key: str) -> PostedReply | None:
        """The reply posted under ``key``, if any."""
        row = self.conn.execute(
            "SELECT id, platform FROM posts WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        reply_id = f"sandbox-{row[0]}"
        return PostedReply(external_id=reply_id, url=f"sandbox://{row[1]}/{reply_id}")

    def reply_to(self, external_id: str) -> PostedReply | None:
        """The first reply posted to the mention ``external_id``, if any."""
        row = self.conn.execute(
            "SELECT idempotency_key FROM posts WHERE in_reply_to = ? ORDER BY id LIMIT 1",
            (external_id,),
        ).fetchone()
        return self.find(row[0]) if row else None

    def all(self) -> list[dict[str, str]]:
        """Every sandbox post, oldest first."""
        rows = self.conn.execute(
            "SELECT idempotency_key, platform, in_reply_to, text, posted_at FROM posts ORDER BY id"
        ).fetchall()
        return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]

    def close(self) -> None:
        """Close the sandbox database."""
        self.conn.close()


class SandboxConfig(ConnectorConfig):
    """Options shared by sources that post into the sandbox."""

    sandbox_dir: Path = Field(Path("./sandbox"), description="Where replies are recorded.")


class SandboxConnector(Connector):
    """A connector whose replies go to the local :class:`Sandbox`."""

    can_reply: ClassVar[bool] = True
    _sandbox: Sandbox | None = None

    def sandbox(self) -> Sandbox:
        """The sandbox, opened on first use (relative paths follow the config file)."""
        if self._sandbox is None:
            directory = getattr(self.config, "sandbox_dir", Path("./sandbox"))
            self._sandbox = Sandbox(self.base_dir / directory)
        return self._sandbox

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        return self.sandbox().post(mention, text, idempotency_key)

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        return self.sandbox().find(idempotency_key)

    async def aclose(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
