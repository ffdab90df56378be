"""Durable state behind the :class:`Store` interface; SQLite is the embedded default."""

from __future__ import annotations

from repbot.store.base import (
    Action,
    ApprovedExample,
    Decision,
    IngestResult,
    Item,
    PostIntent,
    PruneResult,
    SourceStatus,
    Store,
)
from repbot.store.sqlite import SqliteStore

__all__ = [
    "Action",
    "ApprovedExample",
    "Decision",
    "IngestResult",
    "Item",
    "PostIntent",
    "PruneResult",
    "SourceStatus",
    "SqliteStore",
    "Store",
    "open_store",
]


def open_store(path: str) -> Store:
    """Open (and migrate) the store at ``path``."""
    return SqliteStore(path)
