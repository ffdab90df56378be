"""A local stand-in for a platform's reply API, so the demo and file sources can post.

Replies land in a SQLite table and a JSONL file under ``sandbox_dir``, keyed by idempotency
key: posting the same key twice returns the first reply, like a platform that honours
idempotency keys, which lets the exactly-once machinery be shown and tested end to end.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from repbot.connector import Connector, ConnectorConfig
from repbot.models import Mention, PostedReply, utcnow


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

    def post(self, mention: Mention, text: str, key: str) -> PostedReply:
        """Record a reply once per ``key``; a repeated key returns the first reply."""
        existing = self.find(key)
        if existing:
            return existing
        now = utcnow().isoformat()
        cur = self.conn.execute(
            "INSERT INTO posts (idempotency_key, platform, in_reply_to, text, posted_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, mention.platform, mention.external_id, text, now),
        )
        reply_id = f"sandbox-{cur.lastrowid}"
        record = {
            "id": reply_id,
            "key": key,
            "platform": mention.platform,
            "in_reply_to": mention.external_id,
            "text": text,
            "posted_at": now,
        }
        with self.jsonl.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return PostedReply(external_id=reply_id, url=f"sandbox://{mention.platform}/{reply_id}")

    def find(self, key: str) -> PostedReply | None:
        """The reply posted under ``key``, if any."""
        row = self.conn.execute(
            "SELECT id, platform FROM posts WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        reply_id = f"sandbox-{row[0]}"
        return PostedReply(external_id=reply_id, url=f"sandbox://{row[1]}/{reply_id}")

    def all(self) -> list[dict[str, str]]:
        """Every sandbox post, oldest first."""
        rows = self.conn.execute(
            "SELECT idempotency_key, platform, in_reply_to, text, posted_at FROM posts ORDER BY id"
        ).fetchall()
        keys = ("idempotency_key", "platform", "in_reply_to", "text", "posted_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

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
