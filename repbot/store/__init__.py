"""Durable state behind the :class:`Store` interface; SQLite is the embedded default."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from repbot.config import Config
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
    "store_for",
]


def __getattr__(name: str) -> object:
    """``SqliteStore`` on first use: ``repbot.config`` imports this package for its retention
    settings, and the SQLite store pulls sqlite-utils and numpy."""
    if name == "SqliteStore":
        from repbot.store.sqlite import SqliteStore

        return SqliteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(path: str) -> Store:
    """Open (and migrate) the SQLite store at ``path``."""
    from repbot.store.sqlite import SqliteStore

    return SqliteStore(path)


def store_for(config: Config) -> Store:
    """Open (and migrate) the store ``store.backend`` names: SQLite or PostgreSQL."""
    if config.store.backend == "postgres" and config.store.dsn is not None:
        from repbot.store.postgres import open_postgres

        return open_postgres(config.store.dsn.get_secret_value())
    from repbot.store.sqlite import SqliteStore

    return SqliteStore(config.store_file())
