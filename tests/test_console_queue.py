"""The console queue at volume: keyset pages, FTS5 search, query plans, the live endpoint."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.approval.web_queue import card_version
from repbot.models import State, utcnow
from repbot.store.queueing import QueueCursor, QueueFilter, SearchError, fts_query
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.queue import bulk_awaiting

N = 10_000
_SCAN = re.compile(r"SCAN (m|mentions)\b")
Client = TestClient[Any, Any]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """10,000 items awaiting approval (every 13th unscored), shared by the read-only tests."""
    store = SqliteStore(tmp_path_factory.mktemp("queue") / "repbot.db")
    bulk_awaiting(store, N, unscored_every=13, direct=True)
    yield store
    store.close()


def _key(urgency: float | None, item_id: int) -> tuple[bool, float, int]:
    return (urgency is None, -(urgency or 0.0), -item_id)


def walk(store: SqliteStore, where: QueueFilter, size: int) -> list[int]:
    seen: list[int] = []
    cursor: QueueCursor | None = None
    while True:
        page = store.queue_page(where, cursor, size)
        seen += [i.id for i in page.items]
        if page.next is None:
            return seen
        cursor = page.next


def test_every_item_is_seen_once_in_queue_order(big: SqliteStore) -> None:
    cursor: QueueCursor | None = None
    keys: list[tuple[bool, float, int]] = []
    while True:
        page = big.queue_page(QueueFilter(), cursor, 173)
        keys += [_key(i.urgency, i.id) for i in page.items]
        if page.next is None:
            break
        cursor = QueueCursor.decode(page.next.encode())  # as the "Load more" link carries it
    assert len(keys) == N and len({k[2] for k in keys}) == N
    assert keys == sorted(keys)
    assert sum(1 for k in keys if k[0]) == len(range(0, N, 13))


def test_walk_is_stable_while_items_arrive_mid_walk(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "repbot.db")
    before = set(bulk_awaiting(store, 2_000, unscored_every=7))
    seen: list[int] = []
    cursor: QueueCursor | None = None
    arrivals = 0
    while True:
        page = store.queue_page(QueueFilter(), cursor, 150)
        seen += [i.id for i in page.items]
        if arrivals < 5:  # scores above, below and tied with the cursor; some unscored
            bulk_awaiting(store, 40, start=10_000 + 40 * arrivals, prefix="mid", unscored_every=3)
            arrivals += 1
        if page.next is None:
            break
        cursor = page.next
    assert len(seen) == len(set(seen)), "an item was shown twice"
    assert before <= set(seen), "an item that was there all along was skipped"
    store.close()


@pytest.mark.parametrize(
    "where",
    [
        QueueFilter(platform="reddit"),
        QueueFilter(intent="question", platform="x"),
        QueueFilter(states=None),
        QueueFilter(states=(State.AWAITING_APPROVAL, State.APPROVED)),
    ],
)
def test_filters_carry_through_pages(big: SqliteStore, where: QueueFilter) -> None:
    ids = walk(big, where, 500)
    items = big.items(ids) if where.platform or where.intent else []
    assert len(ids) == len(set(ids))
    assert all(
        (not where.platform or i.mention.platform == where.platform)
        and (not where.intent or i.intent == where.intent)
        for i in items
    )
    expected = big.conn.execute(
        "SELECT count(*) FROM mentions WHERE (? IS NULL OR platform = ?)"
        " AND (? IS NULL OR intent = ?)",
        (where.platform, where.platform, where.intent, where.intent),
    ).fetchone()[0]
    assert len(ids) == expected


def _words_of(store: SqliteStore) -> dict[int, str]:
    rows = store.conn.execute(
        "SELECT m.id, json_extract(m.mention_json, '$.text') || ' ' || d.text FROM mentions m"
        " JOIN drafts d ON d.id = m.draft_id"
    )
    return {r[0]: r[1].casefold() for r in rows}


@pytest.mark.parametrize("term", ["refund", "REFUND", "cafe", "café", "naive", "Sorry"])
def test_search_finds_every_hit_in_mentions_and_drafts(big: SqliteStore, term: str) -> None:
    plain = {"cafe": "café", "naive": "naïve"}.get(term.casefold(), term.casefold())
    expected = {i for i, text in _words_of(big).items() if plain in text}
    found = walk(big, QueueFilter(search=term), 500)
    assert expected and len(found) == len(set(found))
    assert set(found) == expected
    assert found == sorted(found, reverse=True), "search results are newest first"


def test_search_combines_with_filters_and_misses(big: SqliteStore) -> None:
    found = big.items(walk(big, QueueFilter(search="delivery support", platform="x"), 300))
    assert found and all(i.mention.platform == "x" for i in found)
    words = _words_of(big)
    assert all("delivery" in words[i.id] and "support" in words[i.id] for i in found)
    assert len(found) == sum(
        1
        for i, text in words.items()
        if "delivery" in text and "support" in text and big.get(i).mention.platform == "x"
    )
    assert walk(big, QueueFilter(search="zzyzx"), 50) == []
    assert walk(big, QueueFilter(search="refund", states=(State.POSTED,)), 50) == []


@pytest.mark.parametrize(
    "hostile",
    [
        *['"', "AND", "refund OR", "NEAR(refund", "body:refund", "*", "^refund", "(", "a'b\"c"],
        *["-x", "refund\x00 OR", "\u202erefund", "ÿ" * 150],
    ],
)
def test_hostile_search_syntax_never_errors_in_sqlite(big: SqliteStore, hostile: str) -> None:
    try:
        big.queue_page(QueueFilter(search=hostile), None, 10)
    except SearchError as exc:
        assert "search" in str(exc)


def test_search_words_are_quoted() -> None:
    assert fts_query('refund "now" OR') == '"refund" """now""" "OR"*'
    with pytest.raises(SearchError):
        fts_query("!!! ...")
    with pytest.raises(SearchError):
        fts_query("x" * 201)


def test_edited_mention_and_new_draft_are_reindexed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "repbot.db")
    item_id = seed_item(store, text="Parcel late again", draft="We will check the courier")
    item = store.get(item_id)
    assert walk(store, QueueFilter(search="courier"), 10) == [item_id]
    edited = item.mention.model_copy(
        update={"text": "Parcel stolen from my porch", "updated_at": utcnow()}
    )
    store.ingest("demo", [edited], None)
    assert walk(store, QueueFilter(search="stolen"), 10) == [item_id]
    assert walk(store, QueueFilter(search="late"), 10) == []
    store.set_draft(item_id, "Refund on its way", {}, expected={State.AWAITING_APPROVAL})
    assert walk(store, QueueFilter(search="courier"), 10) == []
    assert walk(store, QueueFilter(search="refund"), 10) == [item_id]
    store.close()


def _plan(store: SqliteStore, sql: str, args: list[Any]) -> list[str]:
    return [r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]


class Recorder:
    def __init__(self, store: SqliteStore) -> None:
        self.conn, self.statements = store.conn, []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.statements.append((sql, list(params)))
        return self.conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.mark.parametrize(
    ("where", "after"),
    [
        (QueueFilter(), None),
        (QueueFilter(), QueueCursor(0.42, 5_000)),
        (QueueFilter(), QueueCursor(None, 5_000)),
        (QueueFilter(states=None, platform="x"), QueueCursor(0.42, 5_000)),
        (QueueFilter(search="refund", intent="question"), QueueCursor(None, 5_000)),
    ],
)
def test_pages_use_indexes_and_never_scan_or_sort(
    big: SqliteStore, where: QueueFilter, after: QueueCursor | None
) -> None:
    recorder = Recorder(big)
    big.conn = recorder  # type: ignore[assignment]
    try:
        big.queue_page(where, after, 50)
        big.facets()
    finally:
        big.conn = recorder.conn
    assert recorder.statements
    for sql, args in recorder.statements:
        plan = " | ".join(_plan(big, sql, args))
        assert not _SCAN.search(plan), plan
        assert "TEMP B-TREE" not in plan, plan
        if "mention_search" in sql:
            assert "VIRTUAL TABLE" in plan, plan


@pytest.mark.parametrize(
    "where", [QueueFilter(), QueueFilter(states=None, platform="x"), QueueFilter(search="refund")]
)
def test_live_poll_reads_only_recent_changes(big: SqliteStore, where: QueueFilter) -> None:
    recorder = Recorder(big)
    big.conn = recorder  # type: ignore[assignment]
    try:
        assert big.queue_entered(where, utcnow() + timedelta(hours=1)) == []
        big.items(list(range(1, 51)))
    finally:
        big.conn = recorder.conn
    for sql, args in recorder.statements:
        plan = " | ".join(_plan(big, sql, args))
        assert not _SCAN.search(plan), plan
        if "state_changed_at" in sql:
            assert "mentions_state_changed" in plan, plan


def test_facets_are_counted_not_read_from_history(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "repbot.db")
    first = seed_item(store, platform="x", intent="complaint")
    seed_item(store, platform="reddit", intent="question")
    assert store.facets() == {"platform": ["reddit", "x"], "intent": ["complaint", "question"]}
    store.conn.execute("UPDATE mentions SET intent = 'praise' WHERE id = ?", (first,))
    assert store.facets()["intent"] == ["praise", "question"]
    plan = " ".join(_plan(store, "SELECT facet, value FROM facet_counts WHERE n > 0", []))
    assert "mentions" not in plan  # a table of a few rows per platform and intent
    store.close()


# --- the live endpoint, over loopback HTTP -----------------------------------------------------


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, Client]]:
    store = SqliteStore(tmp_path / "repbot.db")
    app = web.Application()
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1")
    http: Client = TestClient(TestServer(app))
    await http.start_server()
    yield store, http
    await http.close()
    store.close()


def _slot_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="slot[^"]*" data-id="(\d+)"', html)]


async def test_load_more_pages_carry_filters_and_cover_everything(
    client: tuple[SqliteStore, Client],
) -> None:
    store, http = client
    ids = bulk_awaiting(store, 130, direct=True)
    resp = await http.get("/?platform=reddit")
    html = await resp.text()
    seen = _slot_ids(html)
    while (more := re.search(r'id="load-more" href="([^"]+)"', html)) is not None:
        href = more.group(1).replace("&amp;", "&")
        assert "platform=reddit" in href and "after=" in href
        html = await (await http.get(href + "&partial=1")).text()
        assert "<html" not in html
        seen += _slot_ids(html)
    reddit = {i.id for i in store.items(ids) if i.mention.platform == "reddit"}
    assert len(seen) == len(set(seen)) and set(seen) == reddit


@pytest.mark.parametrize(
    "q", ['"', "NEAR(", "!!!", "x" * 300, "refund OR (", "é*", "a\x00b", "\x00"]
)
async def test_hostile_search_is_a_clear_400_or_results_never_a_500(
    client: tuple[SqliteStore, Client], q: str
) -> None:
    store, http = client
    seed_item(store, text="Where is my refund?")
    resp = await http.get("/", params={"q": q})
    assert resp.status in (200, 400)
    if resp.status == 400:
        assert "search" in (await resp.text()).lower()
    partial = await http.get("/", params={"q": q, "partial": "1"})
    assert partial.status in (200, 400)
    changes = await http.get("/queue/changes", params={"q": q, "since": utcnow().isoformat()})
    assert changes.status in (200, 400)


async def test_search_over_http_finds_drafts_with_diacritics(
    client: tuple[SqliteStore, Client],
) -> None:
    store, http = client
    hit = seed_item(store, text="Lost parcel", draft="Désolé, we ship a new one")
    seed_item(store, text="Other thing", draft="Thanks")
    html = await (await http.get("/", params={"q": "desole"})).text()
    assert _slot_ids(html) == [hit]
    html = await (await http.get("/", params={"q": "nothing-like-this"})).text()
    assert _slot_ids(html) == [] and "No match" in html


async def test_live_endpoint_reports_new_ids_and_changed_versions(
    client: tuple[SqliteStore, Client],
) -> None:
    store, http = client
    shown = [seed_item(store, urgency=u) for u in (0.9, 0.5, 0.1)]
    html = await (await http.get("/")).text()
    since = re.search(r'data-since="([^"]+)"', html)
    assert since and _slot_ids(html) == shown
    versions = dict(re.findall(r'data-id="(\d+)" data-version="([0-9a-f]+)"', html))
    later = utcnow() + timedelta(seconds=10)  # after the overlap: only what happens from now

    fresh = seed_item(store, urgency=0.99)
    store.decide(
        shown[1], "reject", "web:alice", to=State.REJECTED, expected={State.AWAITING_APPROVAL}
    )
    params = {"since": since.group(1), "ids": ",".join(map(str, shown))}
    answer = await (await http.get("/queue/changes", params=params)).json()
    assert answer["entered"] == [fresh], "only the new item; shown ones are never re-announced"
    changed = {i for i, v in answer["versions"].items() if versions[i] != v}
    assert changed == {str(shown[1])}
    assert answer["counts"]["awaiting_approval"] == 3

    quiet = await (
        await http.get("/queue/changes", params={**params, "since": later.isoformat()})
    ).json()
    assert quiet["entered"] == []

    cards = await (await http.get("/queue/cards", params={"ids": f"{fresh},{shown[1]}"})).text()
    assert _slot_ids(cards) == [fresh, shown[1]]
    assert re.search(rf'class="slot left" data-id="{shown[1]}"', cards), "decided: marked"
    assert card_version(store.get(fresh)) in cards


@pytest.mark.parametrize(
    "query",
    [
        {"ids": "1,x"},
        {"ids": ",".join(["1"] * 501)},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
    ],
)
async def test_live_endpoint_refuses_bad_input(
    client: tuple[SqliteStore, Client], query: dict[str, str]
) -> None:
    _, http = client
    params = {"since": utcnow().isoformat(), **query}
    path = "/queue/cards" if "since" not in query else "/queue/changes"
    resp = await http.get(path, params=params)
    assert resp.status == 400


async def test_bad_page_cursor_is_a_400(client: tuple[SqliteStore, Client]) -> None:
    _, http = client
    for bad in ("x", "2.5_1", "nan_1", "0.5_", "0.5_-3", "0.5_" + "9" * 30, "-_" + "9" * 20):
        assert (await http.get("/", params={"after": bad})).status == 400


def test_history_author_index_exists(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "repbot.db")
    sql = (
        "SELECT id FROM mentions WHERE author_handle = ? AND created_at <= ?"
        " ORDER BY created_at DESC"
    )
    assert "mentions_handle" in " ".join(_plan(store, sql, ["dana", "2026"]))
    store.close()


def test_migration_8_backfills_existing_rows(tmp_path: Path) -> None:
    path = tmp_path / "repbot.db"
    store = SqliteStore(path)
    old = seed_item(store, platform="reddit", text="Crème brûlée was cold", intent="complaint")
    conn = store.conn
    names = conn.execute(  # back to a store made before migration 8
        "SELECT type, name FROM sqlite_master WHERE sql LIKE '%mention_search%'"
        " OR sql LIKE '%facet_counts%' OR name IN ('mentions_handle', 'mentions_state_changed')"
    ).fetchall()
    for kind, name in names:
        if kind in ("trigger", "index") or name in ("mention_search", "facet_counts"):
            conn.execute(f"DROP {'TABLE' if kind == 'table' else kind.upper()} IF EXISTS {name}")
    conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    store.close()

    store = SqliteStore(path)
    assert walk(store, QueueFilter(search="creme brulee"), 10) == [old]
    assert store.facets() == {"platform": ["reddit"], "intent": ["complaint"]}
    store.close()
