"""Numbered schema migrations; each applied once and recorded in ``schema_migrations``."""

from __future__ import annotations

# Migration 2 (volume): the expression the ``new`` stage is claimed by. It must be spelled the
# same in the index and in ``SqliteStore.pending`` for SQLite to use the index.
NEW_ORDER = (
    "coalesce(json_extract(mention_json, '$.rating'), 3),"
    " coalesce(json_extract(mention_json, '$.author.followers'), 0) DESC"
)
KPI_STAGES = {"draft": "drafted_at", "decision": "decided_at", "post": "posted_at"}
KPI_GROWTH = 1.02  # histogram buckets 2 % wide: percentiles within 1 %


def _kpi_bucket(stage: str, row: str, column: str) -> str:
    millis = (
        f"max(0, CAST(round((julianday({row}{column}) - julianday({row}ingested_at))"
        " * 86400000.0) AS INTEGER))"
    )
    return f"(SELECT max(h.lo) FROM kpi_hist h WHERE h.stage = '{stage}' AND h.lo <= {millis})"


def _kpi_sql() -> str:
    stages = " UNION ALL ".join(f"SELECT '{s}' AS stage" for s in KPI_STAGES)
    parts = [
        "CREATE TABLE kpi_hist (stage TEXT NOT NULL, lo INTEGER NOT NULL,"
        " n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (stage, lo)) WITHOUT ROWID;",
        f"WITH RECURSIVE b(x) AS (SELECT 1.0 UNION ALL SELECT x * {KPI_GROWTH} FROM b"
        " WHERE x < 1e11)"
        f" INSERT INTO kpi_hist (stage, lo) SELECT s.stage, v.lo FROM ({stages}) AS s,"
        " (SELECT 0 AS lo UNION SELECT CAST(x AS INTEGER) FROM b) AS v;",
    ]
    for stage, column in KPI_STAGES.items():
        parts.append(
            f"UPDATE kpi_hist SET n = n + b.c FROM (SELECT {_kpi_bucket(stage, '', column)}"
            f" AS lo, count(*) AS c FROM mentions WHERE {column} IS NOT NULL GROUP BY 1) AS b"
            f" WHERE kpi_hist.stage = '{stage}' AND kpi_hist.lo = b.lo;"
        )
        parts.append(
            f"CREATE TRIGGER kpi_{stage} AFTER UPDATE OF {column} ON mentions"
            f" WHEN OLD.{column} IS NOT NEW.{column} BEGIN"
            f" UPDATE kpi_hist SET n = n - 1 WHERE OLD.{column} IS NOT NULL"
            f" AND stage = '{stage}' AND lo = {_kpi_bucket(stage, 'OLD.', column)};"
            f" UPDATE kpi_hist SET n = n + 1 WHERE NEW.{column} IS NOT NULL"
            f" AND stage = '{stage}' AND lo = {_kpi_bucket(stage, 'NEW.', column)}; END;"
        )
        parts.append(
            f"CREATE TRIGGER kpi_{stage}_insert AFTER INSERT ON mentions"
            f" WHEN NEW.{column} IS NOT NULL BEGIN"
            f" UPDATE kpi_hist SET n = n + 1 WHERE stage = '{stage}'"
            f" AND lo = {_kpi_bucket(stage, 'NEW.', column)}; END;"
        )
        parts.append(
            f"CREATE TRIGGER kpi_{stage}_delete AFTER DELETE ON mentions"
            f" WHEN OLD.{column} IS NOT NULL BEGIN"
            f" UPDATE kpi_hist SET n = n - 1 WHERE stage = '{stage}'"
            f" AND lo = {_kpi_bucket(stage, 'OLD.', column)}; END;"
        )
    return "\n".join(parts)


_VOLUME_SQL = f"""
CREATE INDEX mentions_urgency ON mentions (urgency);
CREATE INDEX mentions_claim_new ON mentions (state, {NEW_ORDER}, id) WHERE state = 'new';
CREATE INDEX mentions_claim_classified ON mentions (state, urgency DESC, id, next_attempt_at)
    WHERE state = 'classified';
CREATE INDEX mentions_claim_approved ON mentions (state, urgency DESC, id, next_attempt_at)
    WHERE state = 'approved';
CREATE INDEX posts_mention ON posts (mention_id, status);
CREATE INDEX posts_intent ON posts (mention_id) WHERE status = 'intent';
CREATE TABLE post_counts (
    source TEXT NOT NULL, month TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (source, month)
) WITHOUT ROWID;
INSERT INTO post_counts (source, month, n) SELECT source, substr(finished_at, 1, 7), count(*)
    FROM posts WHERE status = 'posted' GROUP BY 1, 2;
CREATE TRIGGER post_counts_update AFTER UPDATE OF status ON posts
    WHEN NEW.status = 'posted' AND OLD.status IS NOT 'posted' BEGIN
    INSERT INTO post_counts (source, month, n) VALUES (NEW.source, substr(NEW.finished_at, 1, 7), 1)
        ON CONFLICT (source, month) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER post_counts_insert AFTER INSERT ON posts WHEN NEW.status = 'posted' BEGIN
    INSERT INTO post_counts (source, month, n) VALUES (NEW.source, substr(NEW.finished_at, 1, 7), 1)
        ON CONFLICT (source, month) DO UPDATE SET n = n + 1;
END;
CREATE INDEX decisions_mention ON decisions (mention_id);
CREATE INDEX audit_mention ON audit (mention_id) WHERE mention_id IS NOT NULL;
CREATE TABLE mention_raw (
    mention_id INTEGER PRIMARY KEY REFERENCES mentions (id),
    raw_json TEXT NOT NULL
);
INSERT INTO mention_raw (mention_id, raw_json)
    SELECT id, json_extract(mention_json, '$.raw') FROM mentions
    WHERE json_type(mention_json, '$.raw') = 'object'
    AND json_extract(mention_json, '$.raw') != '{{}}';
UPDATE mentions SET mention_json = json_remove(mention_json, '$.raw')
    WHERE json_type(mention_json, '$.raw') IS NOT NULL;
CREATE TABLE state_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO state_counts (state, n) SELECT state, count(*) FROM mentions GROUP BY state;
CREATE TRIGGER state_counts_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO state_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER state_counts_update AFTER UPDATE OF state ON mentions
    WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO state_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER state_counts_delete AFTER DELETE ON mentions BEGIN
    UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
END;
CREATE TABLE prune_grant (cutoff TEXT NOT NULL);
DROP TRIGGER audit_no_delete;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    WHEN NOT EXISTS (SELECT 1 FROM prune_grant g WHERE OLD.at < g.cutoff)
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
{_kpi_sql()}
"""


# Migration 8 (issue 13, queue). ``mention_search`` holds each mention's words (title, text,
# author) and its replies (draft, approved text, the owner's reply elsewhere), rowid = mention id,
# kept in step by triggers inside the transaction of every change. ``facet_counts`` lists the
# platforms and intents for the console's filters without reading the history.
def _search_body(row: str) -> str:
    j = f"{row}mention_json"
    return (
        f"coalesce(json_extract({j}, '$.title'), '') || ' ' ||"
        f" coalesce(json_extract({j}, '$.text'), '') || ' ' || {row}author_handle || ' ' ||"
        f" coalesce(json_extract({j}, '$.author.display_name'), '')"
    )


def _search_reply(row: str) -> str:
    return (
        f"coalesce((SELECT text FROM drafts WHERE id = {row}draft_id), '') || ' ' ||"
        f" coalesce({row}final_text, '') || ' ' ||"
        f" coalesce(json_extract({row}mention_json, '$.owner_reply.text'), '')"
    )


def _facet_sql() -> str:
    def bump(facet: str, value: str, delta: str) -> str:
        return (
            f"INSERT INTO facet_counts (facet, value, n) SELECT '{facet}', {value}, {delta}"
            f" WHERE {value} IS NOT NULL ON CONFLICT (facet, value) DO UPDATE SET n = n + {delta};"
        )

    return f"""
CREATE TABLE facet_counts (
    facet TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (facet, value)
) WITHOUT ROWID;
INSERT INTO facet_counts (facet, value, n) SELECT 'platform', platform, count(*) FROM mentions
    GROUP BY platform;
INSERT INTO facet_counts (facet, value, n) SELECT 'intent', intent, count(*) FROM mentions
    WHERE intent IS NOT NULL GROUP BY intent;
CREATE TRIGGER facet_counts_insert AFTER INSERT ON mentions BEGIN
    {bump("platform", "NEW.platform", "1")}
    {bump("intent", "NEW.intent", "1")}
END;
CREATE TRIGGER facet_counts_intent AFTER UPDATE OF intent ON mentions
    WHEN OLD.intent IS NOT NEW.intent BEGIN
    {bump("intent", "OLD.intent", "-1")}
    {bump("intent", "NEW.intent", "1")}
END;
CREATE TRIGGER facet_counts_delete AFTER DELETE ON mentions BEGIN
    {bump("platform", "OLD.platform", "-1")}
    {bump("intent", "OLD.intent", "-1")}
END;
"""


_QUEUE_SQL = f"""
CREATE VIRTUAL TABLE mention_search USING fts5(
    body, reply, tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO mention_search (rowid, body, reply)
    SELECT id, {_search_body("")}, {_search_reply("")} FROM mentions;
CREATE TRIGGER mention_search_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO mention_search (rowid, body, reply)
        VALUES (NEW.id, {_search_body("NEW.")}, {_search_reply("NEW.")});
END;
CREATE TRIGGER mention_search_text AFTER UPDATE OF mention_json, author_handle ON mentions
    WHEN OLD.mention_json IS NOT NEW.mention_json OR OLD.author_handle IS NOT NEW.author_handle
    BEGIN
    UPDATE mention_search SET body = {_search_body("NEW.")}, reply = {_search_reply("NEW.")}
        WHERE rowid = NEW.id;
END;
CREATE TRIGGER mention_search_reply AFTER UPDATE OF draft_id, final_text ON mentions
    WHEN OLD.draft_id IS NOT NEW.draft_id OR OLD.final_text IS NOT NEW.final_text BEGIN
    UPDATE mention_search SET reply = {_search_reply("NEW.")} WHERE rowid = NEW.id;
END;
CREATE TRIGGER mention_search_delete AFTER DELETE ON mentions BEGIN
    DELETE FROM mention_search WHERE rowid = OLD.id;
END;
CREATE INDEX mentions_handle ON mentions (author_handle, created_at);
CREATE INDEX mentions_state_changed ON mentions (state, state_changed_at);
{_facet_sql()}
"""

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
    (
        2,
        "volume: hot-query indexes; state, post and KPI counters kept by triggers; raw apart",
        _VOLUME_SQL,
    ),
    (
        3,
        "slack messages table (delivery intents, change markers)",
        """
        CREATE TABLE slack_messages (
            mention_id INTEGER PRIMARY KEY REFERENCES mentions (id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            ts TEXT,
            state TEXT NOT NULL,
            episode TEXT NOT NULL,
            version TEXT,
            sig TEXT,
            is_open INTEGER NOT NULL DEFAULT 1,
            intent_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX slack_messages_open ON slack_messages (mention_id)
            WHERE is_open = 1 AND ts IS NOT NULL;
        CREATE INDEX slack_messages_intents ON slack_messages (channel) WHERE ts IS NULL;
        INSERT INTO slack_messages
            (mention_id, channel, ts, state, episode, sig, is_open, intent_at, sent_at)
            SELECT m.id, json_extract(kv.value, '$.channel'), json_extract(kv.value, '$.ts'),
                coalesce(json_extract(kv.value, '$.state'), m.state), m.state_changed_at,
                json_extract(kv.value, '$.sig'),
                coalesce(json_extract(kv.value, '$.state'), m.state)
                    NOT IN ('posted', 'rejected', 'snoozed', 'skipped'),
                m.state_changed_at, m.state_changed_at
            FROM kv JOIN mentions m ON m.id = CAST(substr(kv.key, 11) AS INTEGER)
            WHERE kv.key LIKE 'slack:msg:%' AND json_valid(kv.value)
                AND json_extract(kv.value, '$.channel') IS NOT NULL
                AND json_extract(kv.value, '$.ts') IS NOT NULL;
        DELETE FROM kv WHERE key = 'slack:open'
            OR key IN (SELECT 'slack:msg:' || mention_id FROM slack_messages);
        """,
    ),
    (
        5,
        "embeddings of approved examples",
        """
        CREATE TABLE example_embeddings (
            decision_id INTEGER NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (decision_id, model)
        ) WITHOUT ROWID;
        """,
    ),
    # ---- migration 6: issue 13 accounts ----
    (
        6,
        "console accounts",
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            slack_user_id TEXT UNIQUE,
            disabled INTEGER NOT NULL DEFAULT 0,
            session_epoch INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            last_login_at TEXT
        );
        """,
    ),
    # ---- end 6 ----
    # ---- migration 7: issue 13 undo/claims ----
    (
        7,
        "undo window and claims",
        """
        ALTER TABLE mentions ADD COLUMN post_after TEXT;
        UPDATE mentions SET post_after = coalesce(next_attempt_at, decided_at, state_changed_at)
            WHERE final_text IS NOT NULL;
        CREATE INDEX mentions_post_due ON mentions (state, post_after) WHERE state = 'approved';
        CREATE TABLE claims (
            mention_id INTEGER PRIMARY KEY REFERENCES mentions (id),
            identity TEXT NOT NULL,
            actor TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        """,
    ),
    # ---- end 7 ----
    # ---- migration 8: issue 13 FTS5 search ----
    (
        8,
        "queue: full-text search, facet counts, customer history and live-update indexes",
        _QUEUE_SQL,
    ),
    # ---- end 8 ----
    # ---- migration 9: issue 14 revisions/conversations ----
    (
        9,
        "review revisions, conversations",
        """
        CREATE TABLE mention_revisions (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions (id),
            text TEXT NOT NULL,
            title TEXT,
            rating INTEGER,
            updated_at TEXT,
            state TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
        CREATE INDEX mention_revisions_mention ON mention_revisions (mention_id, id);
        ALTER TABLE mentions ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE mentions ADD COLUMN original_rating INTEGER;
        ALTER TABLE mentions ADD COLUMN revised_at TEXT;
        ALTER TABLE mentions ADD COLUMN conversation_id INTEGER;
        CREATE INDEX mentions_conversation ON mentions (conversation_id, id)
            WHERE conversation_id IS NOT NULL;
        CREATE INDEX posts_external ON posts (external_id) WHERE external_id IS NOT NULL;
        """,
    ),
    # ---- end 9 ----
    # ---- migration 10: issue 15 feedback/answer library ----
    (
        10,
        "feedback labels (approvers' relabels)",
        """
        CREATE TABLE feedback_labels (
            id INTEGER PRIMARY KEY,
            mention_id INTEGER NOT NULL REFERENCES mentions (id),
            label TEXT NOT NULL,
            previous TEXT,
            actor TEXT NOT NULL,
            channel TEXT NOT NULL,
            reason TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX feedback_labels_mention ON feedback_labels (mention_id, id);
        """,
    ),
    # ---- end 10 ----
    # ---- migration 11: issue 16 ops ----
    (
        11,
        "operations: first human look, window and per-source arrival indexes, alert times",
        """
        ALTER TABLE mentions ADD COLUMN first_look_at TEXT;
        CREATE INDEX mentions_ingested ON mentions (ingested_at, id);
        CREATE INDEX mentions_source_ingested ON mentions (source, ingested_at);
        CREATE INDEX alerts_at ON alerts (at, id);
        CREATE TABLE sla_alerts (
            mention_id INTEGER NOT NULL REFERENCES mentions (id),
            level TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (mention_id, level)
        ) WITHOUT ROWID;
        """,
    ),
    # ---- end 11 ----
    # ---- migration 12: issue 15 answer library ----
    # ---- end 12 ----
    # ---- migration 13: issue 16 operations (metrics/backup) ----
    (
        13,
        "operations: running totals of decisions and alerts for /metrics",
        """
        CREATE TABLE event_counts (
            family TEXT NOT NULL, label TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (family, label)
        ) WITHOUT ROWID;
        INSERT INTO event_counts (family, label, n)
            SELECT 'decision', action, count(*) FROM decisions GROUP BY action;
        INSERT INTO event_counts (family, label, n)
            SELECT 'alert', kind, count(*) FROM alerts GROUP BY kind;
        CREATE TRIGGER event_counts_decision AFTER INSERT ON decisions BEGIN
            INSERT INTO event_counts (family, label, n) VALUES ('decision', NEW.action, 1)
                ON CONFLICT (family, label) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER event_counts_alert AFTER INSERT ON alerts BEGIN
            INSERT INTO event_counts (family, label, n) VALUES ('alert', NEW.kind, 1)
                ON CONFLICT (family, label) DO UPDATE SET n = n + 1;
        END;
        """,
    ),
    # ---- end 13 ----
]
