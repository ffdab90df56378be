"""Crafted histories for the operations tests (KPIs, SLA, crisis, digests): mentions ingested
through the real store, then given the arrival and stage times a test needs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from repbot.models import Author, Mention
from repbot.store import SqliteStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
_IDS = itertools.count(1)


def add(
    store: SqliteStore,
    at: datetime,
    text: str = "hello",
    *,
    source: str = "demo",
    platform: str = "x",
    kind: str = "post",
    state: str = "awaiting_approval",
    handle: str | None = None,
    followers: int = 10,
    **columns: Any,
) -> int:
    """Ingest one mention that "arrived" at ``at``; ``columns`` set mention columns
    (``sentiment``, ``intent``, ``urgency``, ``drafted_at``, ``decided_at``, ``posted_at``,
    ``first_look_at``, ``decided_by``): datetimes are stored as the store stores them."""
    n = next(_IDS)
    mention = Mention(
        platform=platform,
        external_id=f"e{n}",
        kind=kind,  # type: ignore[arg-type]
        text=text,
        author=Author(handle=handle or f"user{n}", followers=followers),
        created_at=at,
        url=f"https://example.com/{n}",
        rating=2 if kind == "review" else None,
    )
    store.ingest(source, [mention], None)
    found = store.find(platform, f"e{n}")
    assert found is not None
    values = {"ingested_at": at, "state": state, **columns}
    sets = ", ".join(f"{k} = ?" for k in values)
    args = [
        v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v
        for v in values.values()
    ]
    with store.batch():
        store.conn.execute(f"UPDATE mentions SET {sets} WHERE id = ?", (*args, found.id))
    return found.id
