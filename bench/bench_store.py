"""The store at a real brand's volume and age: every hot query at 1,000 and 1,000,000 mentions,
the size per million mentions before and after ``repbot prune``.

The stores are built through the store's own API (``ingest`` pages of 1,000, then each mention's
transitions inside ``store.batch()``), under a simulated clock that spreads the history over a
year. Both stores hold the same open work (new, classified, awaiting, approved, snoozed): only
the closed history grows, as it does for a real brand.

Run alone: ``python -m bench store`` (``--quick``: 100,000 instead of 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from repbot import workflow
from repbot.models import Mention, State
from repbot.server import health, metrics_text
from repbot.store import Action, SqliteStore
from repbot.store.retention import RetentionConfig
from repbot.workflow import RetryPolicy

PAGE = 1000
YEAR = timedelta(days=365)
OPEN = {"new": 100, "classified": 100, "awaiting": 150, "approved": 30, "snoozed": 20}
PLATFORMS = ("x", "x", "x", "reddit", "trustpilot", "google_business")
TEXTS = (
    "@Acme my order {i} never arrived and support has not answered in three days",
    "Loving the new Acme app update, checkout is so much faster now! #{i}",
    "Does Acme ship to Canada? Asking before I order the {i} bundle",
    "Worst experience ever with Acme, package {i} was damaged and nobody cares",
    "Acme customer service sorted my refund for order {i} in ten minutes, thank you",
)


class Clock:
    """The simulated time the store reads through ``utcnow``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _raw(i: int, size: int) -> dict[str, Any]:
    """A payload shaped like an X API v2 tweet with its expansions (about ``size`` bytes)."""
    if size <= 0:
        return {}
    body: dict[str, Any] = {
        "data": {
            "id": str(10**17 + i),
            "author_id": str(10**9 + i % 50_000),
            "conversation_id": str(10**17 + i),
            "lang": "en",
            "public_metrics": {"retweet_count": i % 7, "reply_count": i % 3, "like_count": i % 40},
            "entities": {"mentions": [{"start": 0, "end": 5, "username": "Acme"}]},
            "context_annotations": [{"domain": {"id": "46", "name": "Brand Category"}}],
        },
        "includes": {"users": [{"id": str(10**9 + i % 50_000), "username": f"user{i % 50_000}"}]},
    }
    filler = size - len(str(body))
    if filler > 0:
        body["data"]["edit_history_tweet_ids"] = [str(10**17 + i + k) for k in range(filler // 22)]
    return body


def _mention(i: int, at: datetime, raw_size: int) -> Mention:
    plat = PLATFORMS[i % len(PLATFORMS)]
    review = plat in ("trustpilot", "google_business")
    # A long tail of authors plus a few who write very often.
    author = f"fan{i % 97}" if i % 10 == 0 else f"user{(i * 7919) % 200_003}"
    return Mention.model_validate(
        {
            "platform": plat,
            "external_id": f"{plat}-{i}",
            "url": f"https://example.com/{plat}/{i}",
            "kind": "review" if review else "post",
            "author": {"handle": author, "display_name": author.title(), "followers": i % 5000},
            "text": TEXTS[i % len(TEXTS)].format(i=i),
            "rating": 1 + i % 5 if review else None,
            "created_at": at - timedelta(seconds=30 + i % 600),
            "metrics": {"likes": i % 40, "reposts": i % 7},
            "raw": _raw(i, raw_size),
        }
    )


def _analysis(i: int) -> dict[str, Any]:
    urgency = round((i * 37 % 1000) / 1000, 3)
    return {
        "label": ("negative", "neutral", "positive")[i % 3],
        "probs": {"negative": 0.6, "neutral": 0.3, "positive": 0.1},
        "intent": ("complaint", "question", "praise", "other")[i % 4],
        "intent_reason": "keyword",
        "urgency": urgency,
        "explanation": [["negativity", 0.3], ["reach", 0.1], ["freshness", 0.05]],
        "language": "en",
    }


def _close(store: SqliteStore, clock: Clock, mention_id: int, i: int, t0: datetime) -> None:
    """Move one mention along a realistic path to a closed state (or leave it open)."""
    clock.now = t0 + timedelta(seconds=1)
    kind = i % 20
    if kind < 9:  # 45 %: spam, irrelevant or no reply due
        store.set_classified(mention_id, _analysis(i), skip_reason="no reply needed")
        return
    store.set_classified(mention_id, _analysis(i))
    clock.now = t0 + timedelta(seconds=3 + i % 40)
    store.set_draft(mention_id, f"Sorry to hear that (order {i}); we have sent you a DM.", {})
    clock.now += timedelta(seconds=60 + (i * 13) % 7200)
    if kind < 11:  # 10 %: rejected
        workflow.decide(store, mention_id, "reject", "U1", reason="off brand")
        return
    action: Action = "edit" if kind == 11 else "approve"
    workflow.decide(store, mention_id, action, "U1", text=f"Sorry about order {i}; DM sent.")
    clock.now += timedelta(seconds=1)
    store.begin_post(mention_id)
    clock.now += timedelta(milliseconds=300 + i % 900)
    store.complete_post(mention_id, f"reply-{i}", f"https://example.com/r/{i}")


def _open(store: SqliteStore, clock: Clock, mention_id: int, i: int, slot: int) -> None:
    """The fixed open tail: the same amount of live work whatever the history."""
    bounds = list(_cumulative(OPEN.values()))
    if slot < bounds[0]:
        return
    store.set_classified(mention_id, _analysis(i))
    if slot < bounds[1]:
        return
    store.set_draft(mention_id, f"Draft for {i}", {})
    if slot < bounds[2]:
        return
    if slot < bounds[3]:
        workflow.decide(store, mention_id, "approve", "U1", text=f"Reply {i}")
        return
    workflow.decide(store, mention_id, "snooze", "U1", snooze_until=clock.now + timedelta(days=2))


def _cumulative(values: Any) -> Iterator[int]:
    total = 0
    for v in values:
        total += v
        yield total


def _history(
    store: SqliteStore, clock: Clock, first: int, n: int, end: datetime, **kw: Any
) -> None:
    """Mentions ``first`` .. ``n - 1`` through ingest and their transitions, a page at a time;
    the last ``sum(OPEN)`` stay open when ``kw["open_tail"]``."""
    open_from = n - sum(OPEN.values()) if kw.get("open_tail") else n
    span = kw.get("span", n)
    for page in range(first, n, PAGE):
        t0 = end - YEAR + YEAR * (min(page, span - 1) / span)
        clock.now = t0
        ids = range(page, min(n, page + PAGE))
        mentions = [_mention(i, t0, kw.get("raw_size", 200)) for i in ids]
        result = store.ingest("bench", mentions, str(page))
        with store.batch():
            for i, mention_id in zip(ids, result.new_ids, strict=True):
                if i >= open_from:
                    _open(store, clock, mention_id, i, i - open_from)
                else:
                    _close(store, clock, mention_id, i, t0)


def build(
    path: Path, n: int, raw_size: int = 200, now: datetime | None = None, template: int = 0
) -> float:
    """Create a store of ``n`` mentions at ``path``; returns seconds taken.

    Every mention goes through the store API, unless ``template`` is set: then ``template``
    closed mentions go through the API and the closed history is grown to ``n`` by copying
    those rows inside SQLite (new ids, external ids and idempotency keys; the store's triggers
    keep the state counts and response-time histogram), before the open tail is added through
    the API again. The copy is what makes a million mentions take minutes on two cores.
    """
    end = now or datetime.now(UTC)
    clock = Clock(end - YEAR)
    open_total = sum(OPEN.values())
    started = time.perf_counter()
    with mock.patch("repbot.store.sqlite.utcnow", clock):
        store = SqliteStore(path)
        closed = n - open_total
        if template and template < closed:
            _history(store, clock, 0, template, end, raw_size=raw_size)
            copies = closed // template
            for k in range(1, copies):
                _replicate(store, k)
            _history(store, clock, copies * template, n, end, raw_size=raw_size, open_tail=True)
        else:
            _history(store, clock, 0, n, end, raw_size=raw_size, open_tail=True)
        store.record_source_result("bench")
        store.close()
    return time.perf_counter() - started


# Per table: the id column and how each copied column changes (offsets are per table).
_COPY = {
    "mentions": {
        "id": "id + :m",
        "external_id": "external_id || '~' || :k",
        "draft_id": "draft_id + :d",
    },
    "drafts": {"id": "id + :d", "mention_id": "mention_id + :m"},
    "decisions": {"id": "id + :c", "mention_id": "mention_id + :m", "dedupe_key": "NULL"},
    "posts": {
        "id": "id + :p",
        "mention_id": "mention_id + :m",
        "idempotency_key": "'repbot-' || (mention_id + :m)",
    },
    "mention_raw": {"mention_id": "mention_id + :m"},
    "audit": {"id": "id + :a", "mention_id": "mention_id + :m"},
}
_TEMPLATE_TOP: dict[str, int] = {}


def _replicate(store: SqliteStore, k: int) -> None:
    """Append copy ``k`` of the template's closed history."""
    conn = store.conn
    if not _TEMPLATE_TOP or k == 1:
        for key, table in (
            ("m", "mentions"),
            ("d", "drafts"),
            ("c", "decisions"),
            ("p", "posts"),
            ("a", "audit"),
        ):
            _TEMPLATE_TOP[key] = int(
                conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            )
    params = {key: top * k for key, top in _TEMPLATE_TOP.items()} | {"k": k}
    tops = {"mentions": "m", "drafts": "d", "decisions": "c", "posts": "p", "audit": "a"}
    with store.batch():
        for table, changes in _COPY.items():
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            select = ", ".join(changes.get(c, c) for c in columns)
            key_column = "id" if table != "mention_raw" else "mention_id"
            limit = _TEMPLATE_TOP[tops.get(table, "m")]
            conn.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table}"
                f" WHERE {key_column} <= {limit}",
                params,
            )


@dataclass
class Query:
    """One call a surface makes, and who makes it."""

    who: str
    name: str
    call: Callable[[SqliteStore], object]
    repeat: int = 15


def _queries() -> list[Query]:
    since = datetime.now(UTC) - timedelta(hours=24)
    started = time.monotonic()

    def console_first_page(s: SqliteStore) -> object:
        items = s.queue([State.AWAITING_APPROVAL], limit=200)
        everything = s.queue(None, limit=1000)
        history = {i.id: s.decisions(i.id, limit=10) for i in items}
        return items, everything, history, s.counts()

    def item_page(s: SqliteStore) -> object:
        [item] = s.queue([State.AWAITING_APPROVAL], limit=1)
        return s.get(item.id), s.decisions(item.id), s.audit_log(item.id)

    def report(s: SqliteStore) -> object:
        return s.counts(), s.response_times(), s.alerts(10)

    def post_path(s: SqliteStore) -> object:
        [item] = s.pending(State.APPROVED, 1)
        s.posts_this_month(item.source, datetime.now(UTC))
        s.begin_post(item.id)
        soon = datetime.now(UTC) - timedelta(seconds=1)
        workflow.post_failed(s, item, "bench: put back", RetryPolicy(base=0.0), soon)
        return item

    queries = [
        Query("daemon", "pending(new, 32)", lambda s: s.pending(State.NEW, 32)),
        Query("daemon", "pending(classified, 32)", lambda s: s.pending(State.CLASSIFIED, 32)),
        Query("daemon", "pending(approved, 20)", lambda s: s.pending(State.APPROVED, 20)),
        Query(
            "daemon",
            "queue(awaiting+snoozed, 500) (rescore)",
            lambda s: s.queue([State.AWAITING_APPROVAL, State.SNOOZED], limit=500),
            5,
        ),
        Query(
            "daemon",
            "queue(awaiting, 50) (Slack)",
            lambda s: s.queue([State.AWAITING_APPROVAL], limit=50),
        ),
        Query(
            "daemon",
            "repeat_contacts (frequent author)",
            lambda s: s.repeat_contacts("x", "fan7", since, 10**9),
        ),
        Query("daemon", "approved_examples(200)", lambda s: s.approved_examples(200), 5),
        Query(
            "daemon",
            "wake_snoozed",
            lambda s: s.wake_snoozed(datetime.now(UTC) - timedelta(days=400)),
        ),
        Query("daemon", "source_status", lambda s: s.source_status()),
        Query("daemon", "in_flight_posts", lambda s: s.in_flight_posts()),
        Query(
            "daemon", "posts_this_month", lambda s: s.posts_this_month("bench", datetime.now(UTC))
        ),
        Query("daemon", "post path (claim, cap, intent, result)", post_path),
        Query("daemon", "find(platform, external_id)", lambda s: s.find("x", "x-6")),
        Query(
            "console",
            "first page (queue 200 + facets 1000 + history + counts)",
            console_first_page,
            5,
        ),
        Query("console", "item page (get + decisions + audit)", item_page),
        Query("metrics", "/metrics text", lambda s: metrics_text(s)),
        Query("metrics", "/healthz body", lambda s: health(s, started)),
        Query("report", "repbot report (counts, response times, alerts)", report),
        Query("report", "response_times()", lambda s: s.response_times()),
        Query("report", "counts()", lambda s: s.counts()),
    ]
    if hasattr(SqliteStore, "slack_undelivered"):
        queries.append(
            Query("daemon", "slack_undelivered(50)", lambda s: s.slack_undelivered(50))  # type: ignore[attr-defined]
        )
    return queries


def measure(small: Path, big: Path) -> dict[str, tuple[float, float, float]]:
    """(median ms small, median ms big, max ms big) of every query. The two stores are called
    alternately, so a change in the machine's load hits both sides of a ratio alike."""
    stores = SqliteStore(small), SqliteStore(big)
    out: dict[str, tuple[float, float, float]] = {}
    try:
        for q in _queries():
            samples: tuple[list[float], list[float]] = ([], [])
            for store in stores:
                q.call(store)  # warm the statement cache and the pages, as a running daemon has
            for _ in range(q.repeat):
                for store, taken in zip(stores, samples, strict=True):
                    t = time.perf_counter()
                    q.call(store)
                    taken.append((time.perf_counter() - t) * 1000)
            out[f"{q.who}|{q.name}"] = (
                statistics.median(samples[0]),
                statistics.median(samples[1]),
                max(samples[1]),
            )
    finally:
        for store in stores:
            store.close()
    return out


def sizes(path: Path) -> dict[str, int]:
    """Bytes per table and index (dbstat)."""
    store = SqliteStore(path)
    try:
        rows = store.conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}
    finally:
        store.close()


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def size_section(directory: Path, n: int, raw_size: int) -> list[str]:
    """Size per million mentions with realistic raw payloads, before and after prune."""
    path = directory / "size.db"
    now = datetime.now(UTC)
    seconds = build(path, n, raw_size=raw_size, now=now, template=min(n // 5, 10_000))
    before = sizes(path)
    store = SqliteStore(path)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    file_before = _file_bytes(path)
    kpis_before = store.response_times()
    raw_cut, audit_cut = RetentionConfig().cutoffs(now)
    t = time.perf_counter()
    result = store.prune(raw_cut, audit_cut)
    prune_s = time.perf_counter() - t
    kpis_after = store.response_times()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    after = sizes(path)
    file_after = _file_bytes(path)
    per_m = 1e6 / n
    lines = [
        f"Built {n:,} mentions with ~{raw_size:,}-byte raw payloads (X API v2 shape) in "
        f"{seconds:.0f} s, history spread over a year; then `prune` with the default retention "
        f"(raw payloads 30 days, audit 365 days) took {prune_s:.1f} s and removed "
        f"{result.raw_payloads:,} raw payloads and {result.audit_rows:,} audit rows. "
        f"KPIs unchanged by the prune: {kpis_before == kpis_after}.",
        "",
        "| part | MB per million, as built | MB per million, after prune |",
        "|---|---|---|",
    ]
    for name in sorted(set(before) | set(after), key=lambda k: -before.get(k, 0))[:14]:
        b, a = before.get(name, 0) * per_m / 1e6, after.get(name, 0) * per_m / 1e6
        if max(a, b) >= 1:
            lines.append(f"| {name} | {b:,.0f} | {a:,.0f} |")
    gb_before, gb_after = file_before * per_m / 1e9, file_after * per_m / 1e9
    lines.append(f"| **file** | **{gb_before:.2f} GB** | **{gb_after:.2f} GB** |")
    return lines


def run(quick: bool = False) -> str:
    """Build both stores, time every query, and return the RESULTS.md section."""
    big = int(os.environ.get("REPBOT_BENCH_STORE_N", 100_000 if quick else 1_000_000))
    size_n = 10_000 if quick else 50_000
    with tempfile.TemporaryDirectory(prefix="repbot-bench-store-") as tmp:
        directory = Path(tmp)
        small_s = build(directory / "small.db", 1000)
        big_s = build(directory / "big.db", big, template=min(big // 10, 10_000))
        timings = measure(directory / "small.db", directory / "big.db")
        big_file = _file_bytes(directory / "big.db")
        size_lines = size_section(directory, size_n, raw_size=2800)
    rows = []
    heavy = []
    for key, (ms_small, ms_big, max_big) in timings.items():
        who, name = key.split("|", 1)
        ratio = ms_big / ms_small if ms_small > 0 else float("inf")
        rows.append(
            f"| {who} | {name} | {ms_small:.2f} | {ms_big:.2f} | {max_big:.2f} | {ratio:.2f}× |"
        )
        if max_big > 50:
            heavy.append(f"{name} ({max_big:.0f} ms)")
    load = os.getloadavg()
    return "\n".join(
        [
            f"### Store at volume: 1,000 vs {big:,} stored mentions (`bench/bench_store.py`)",
            "",
            f"Both stores built through the store API under a simulated clock (a year of history; "
            f"{', '.join(f'{v} {k}' for k, v in OPEN.items())} open in both). Build: 1,000 in "
            f"{small_s:.1f} s, {big:,} in {big_s:.0f} s ({big / big_s:,.0f} mentions/s); the "
            f"{big:,} file is {big_file / 1e9:.2f} GB with ~200-byte raw payloads. Median of "
            "5–15 calls after one warm-up; max is the worst call at the large size (the "
            "daemon's loop budget is 50 ms).",
            "",
            f"| surface | query | ms at 1,000 | ms at {big:,} | max ms at {big:,} | ratio |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "Calls over 50 ms at the large size: " + (", ".join(heavy) or "none") + ".",
            "",
            "#### Size per million mentions",
            "",
            *size_lines,
            "",
            f"Command: `python -m bench store`. Machine: {platform.machine()}, {os.cpu_count()} "
            f"CPUs, Python {platform.python_version()}, SQLite {_sqlite_version()}, load average "
            f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end of the run.",
        ]
    )


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


@contextmanager
def _timed(label: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    print(f"{label}: {time.perf_counter() - t:.1f}s", file=sys.stderr)


def main() -> int:
    """``python bench/bench_store.py [--quick]``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
