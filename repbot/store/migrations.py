"""Numbered schema migrations; each applied once and recorded in ``schema_migrations``."""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial schema",
        """
        CREATE TABLE mentions (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            platform TEXT NOT NULL,
            external_id TEXT NOT NULL,
            author_handle TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            ingested_at TEXT NOT NULL,
            mention_json TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'new',
            state_changed_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at TEXT,
            sentiment TEXT,
            intent TEXT,
            urgency REAL,
            analysis_json TEXT,
            skip_reason TEXT,
            snooze_until TEXT,
            draft_id INTEGER,
            final_text TEXT,
            classified_at TEXT,
            drafted_at TEXT,
            decided_at TEXT,
            decided_by TEXT,
            posted_at TEXT,
            posted_url TEXT,
            UNIQUE (platform, external_id)
        );
        CREATE INDEX mentions_state ON mentions (state, urgency);
        CREATE INDEX mentions_author ON mentions (platform, author_handle, created_at);
        CREATE TABLE cursors (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            updated_at TEXT,
            last_success TEXT,
            last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            disabled_reason TEXT
        );
        CREATE TABLE drafts (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions (id),
            text TEXT NOT NULL,
            meta_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions (id),
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            channel TEXT NOT NULL,
            text TEXT,
            reason TEXT,
            dedupe_key TEXT UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions (id),
            idempotency_key TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 1,
            external_id TEXT,
            url TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE UNIQUE INDEX posts_one_success ON posts (mention_id) WHERE status = 'posted';
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            mention_id INTEGER,
            event TEXT NOT NULL,
            actor TEXT NOT NULL,
            detail_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
]
