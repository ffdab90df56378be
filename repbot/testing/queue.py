"""Fast volume seeding of a SQLite store's approval queue, for tests and benchmarks.

Mentions go in through :meth:`SqliteStore.ingest` (so every trigger and index is the real one);
the classification and draft of each are then written in bulk, which is what thousands of
pipeline runs would have left behind, in a second instead of minutes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from repbot.models import Author, Mention, utcnow
from repbot.store.sqlite import SqliteStore

PLATFORMS = ("x", "reddit", "trustpilot", "google_play")
INTENTS = ("complaint", "question", "praise", "bug_report")
WORDS = ("refund", "delivery", "crash", "login", "invoice", "café", "naïve", "support", "price")


def bulk_awaiting(
    store: SqliteStore,
    n: int,
    *,
    start: int = 0,
    authors: int = 500,
    unscored_every: int = 0,
    prefix: str = "bulk",
    direct: bool = False,
) -> list[int]:
    """Store ``n`` mentions awaiting approval (drafted, scored); returns their ids.

    Urgencies repeat (many ties, as real scores do); every ``unscored_every``-th item has no
    urgency. Text and drafts mix a few words so searches have hits, misses and diacritics.
    ``direct`` writes the mention rows with one bulk INSERT of the columns ingest writes (the
    same triggers fire) instead of through :meth:`SqliteStore.ingest`: for benchmarks.
    """
    now = utcnow()
    mentions = [_mention(start + i, authors, prefix, now) for i in range(n)]
    ids: list[int] = []
    for chunk in range(0, n, 5000):
        part = mentions[chunk : chunk + 5000]
        ids += _insert(store, part, now) if direct else store.ingest("bulk", part, None).new_ids
    with store.batch():
        conn = store.conn
        for offset, item_id in enumerate(ids):
            i = start + offset
            urgency = None if unscored_every and i % unscored_every == 0 else (i * 37 % 101) / 100
            analysis = {"label": "negative", "intent": INTENTS[i % 4], "urgency": urgency}
            cur = conn.execute(
                "INSERT INTO drafts (mention_id, text, meta_json, created_at) VALUES (?, ?, ?, ?)",
                (
                    item_id,
                    f"Sorry about the {WORDS[(i + 3) % 9]}, reply {i}",
                    "{}",
                    now.isoformat(),
                ),
            )
            conn.execute(
                "UPDATE mentions SET state = 'awaiting_approval', urgency = ?, intent = ?,"
                " sentiment = 'negative', analysis_json = ?, draft_id = ?, state_changed_at = ?"
                " WHERE id = ?",
                (
                    urgency,
                    INTENTS[i % 4],
                    json.dumps(analysis),
                    cur.lastrowid,
                    now.isoformat(),
                    item_id,
                ),
            )
    return ids


def _insert(store: SqliteStore, mentions: list[Mention], now: datetime) -> list[int]:
    rows = [
        (
            "bulk",
            m.platform,
            m.external_id,
            m.author.handle.lower(),
            m.created_at.isoformat(timespec="microseconds"),
            now.isoformat(timespec="microseconds"),
            m.model_dump_json(exclude={"raw"}, exclude_defaults=True),
            now.isoformat(timespec="microseconds"),
        )
        for m in mentions
    ]
    with store.batch():
        first = store.conn.execute("SELECT coalesce(max(id), 0) FROM mentions").fetchone()[0]
        store.conn.executemany(
            "INSERT INTO mentions (source, platform, external_id, author_handle, created_at,"
            " ingested_at, mention_json, state, state_changed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?)",
            rows,
        )
    return list(range(first + 1, first + 1 + len(rows)))


def _mention(i: int, authors: int, prefix: str, now: datetime) -> Mention:
    created = now - timedelta(seconds=10_000_000 - i)
    return Mention(
        platform=PLATFORMS[i % len(PLATFORMS)],
        external_id=f"{prefix}-{i}",
        url=f"https://example.com/{prefix}/{i}",
        kind="post",
        author=Author(handle=f"user{i % authors}", display_name=f"User {i % authors}"),
        text=f"Mention {i} about {WORDS[i % 9]} and {WORDS[(i * 7) % 9]}",
        created_at=created,
    )
