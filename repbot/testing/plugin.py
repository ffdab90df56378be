"""A pytest plugin (entry point ``pytest11``) with fixtures for repbot and its connectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repbot.store import SqliteStore
from repbot.testing.fakes import KeywordClassifier


@pytest.fixture
def repbot_store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A migrated SQLite store in a temporary folder."""
    store = SqliteStore(tmp_path / "repbot.db")
    yield store
    store.close()


@pytest.fixture
def keyword_classifier() -> KeywordClassifier:
    """The deterministic fake classifier."""
    return KeywordClassifier()
