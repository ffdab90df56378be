"""Several daemons on one PostgreSQL database: claims, advisory locks per source, wake-ups."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest

from repbot import workflow
from repbot.errors import InvalidTransition, StoreError
from repbot.models import Page, State, utcnow
from repbot.runner import SourceRunner
from repbot.store.base import Store
from repbot.store.pg_migrations import PG_MIGRATIONS
from repbot.store.postgres import LEASE, PostgresStore, open_postgres
from repbot.testing.fakes import ScriptedConnector, make_mention
from repbot.testing.postgres import pg_schema


@pytest.fixture
def two() -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two daemons' stores (two pools) on one database."""
    with pg_schema() as dsn:
        a, b = open_postgres(dsn), open_postgres(dsn)
        yield a, b
        a.close()
        b.close()


def test_two_daemons_never_claim_the_same_item(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = two
    ids = a.ingest("src", [make_mention(i) for i in range(6)], None).new_ids
    first = {i.id for i in a.pending(State.NEW, 4)}
    second = {i.id for i in b.pending(State.NEW, 4)}
    assert len(first) == 4 and first.isdisjoint(second) and first | second == set(ids)
    assert a.pending(State.NEW, 10) == [] and b.pending(State.NEW, 10) == []
    # A daemon that died with its claims: they come back once the lease is over.
    later = utcnow() + LEASE + timedelta(seconds=1)
    assert {i.id for i in b.pending(State.NEW, 10, later)} == set(ids)


def test_a_moved_item_is_released_for_its_next_stage(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    [mention_id] = a.ingest("src", [make_mention(1)], None).new_ids
    [item] = a.pending(State.NEW, 1)
    a.set_classified(item.id, {"label": "negative", "urgency": 0.5})
    assert [i.id for i in b.pending(State.CLASSIFIED, 5)] == [mention_id]


def test_concurrent_decisions_on_one_item_one_wins(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    [mention_id] = a.ingest("src", [make_mention(1)], None).new_ids
    a.set_classified(mention_id, {"label": "negative", "urgency": 0.5})
    a.set_draft(mention_id, "Sorry", {})
    workflow.decide(a, mention_id, "approve", "U1", text="Sorry")
    with pytest.raises(InvalidTransition):
        workflow.decide(b, mention_id, "reject", "U2")
    a.begin_post(mention_id)
    with pytest.raises(InvalidTransition):
        b.begin_post(mention_id)  # posting is claimed once, whichever daemon asks
    assert [d.action for d in b.decisions(mention_id)] == ["approve"]


def test_source_lock_is_taken_over_when_its_holder_dies(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    lock_a, lock_b = a.source_lock("reviews"), b.source_lock("reviews")
    other = b.source_lock("tweets")
    try:
        assert lock_a.acquire() and lock_a.acquire()  # held, and confirmed on the next poll
        assert not lock_b.acquire()
        assert other.acquire()  # one lock per source
        with psycopg.connect(a.dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (lock_a.backend_pid(),))
        assert lock_b.acquire()  # the next poll of the other daemon takes over
        assert not lock_a.acquire()
    finally:
        for lock in (lock_a, lock_b, other):
            lock.release()


def test_new_work_wakes_a_waiting_daemon(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = two
    woke: list[bool] = []
    listening = threading.Event()

    def wait() -> None:
        listening.set()
        woke.append(b.wait_for_work(timeout=60))  # hang guard only

    waiter = threading.Thread(target=wait)
    waiter.start()
    listening.wait(30)
    # Keep sending until the waiter has subscribed (a NOTIFY before LISTEN is not seen).
    for n in range(600):
        a.ingest("src", [make_mention(n)], None)
        waiter.join(0.1)
        if not waiter.is_alive():
            break
    assert woke == [True]


def test_migrations_are_numbered_and_recorded_once(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, _ = two
    assert a.migrate() == []
    assert a.applied() == {v for v, _, _ in PG_MIGRATIONS}
    assert a.schema_version() == max(v for v, _, _ in PG_MIGRATIONS)


def test_audit_log_is_append_only(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, _ = two
    a.audit("refused", "U9", None, reason="not an approver")
    with psycopg.connect(a.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException):
            conn.execute("UPDATE audit SET actor = 'x'")
        with pytest.raises(psycopg.errors.RaiseException):
            conn.execute("DELETE FROM audit")
    assert len(a.audit_log()) == 1


def test_every_store_method_is_implemented_on_postgres() -> None:
    missing = {
        name
        for name in Store.__abstractmethods__
        if getattr(PostgresStore, name) is getattr(Store, name)
    }
    assert not PostgresStore.__abstractmethods__ and missing == set()


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    dsn = "postgresql://repbot:s3cret-pw@127.0.0.1:1/none?connect_timeout=1"
    with pytest.raises(StoreError) as err:
        open_postgres(dsn, pool_size=1, wait=2.0)
    assert "s3cret-pw" not in str(err.value)


def test_one_runner_per_source_polls_and_the_other_takes_over(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    page = Page(mentions=[make_mention(1)], cursor="c1")
    first = SourceRunner(a, ScriptedConnector("src", [page]))
    second = SourceRunner(b, ScriptedConnector("src", [page]))
    assert asyncio.run(first.poll()).new == 1
    skipped = asyncio.run(second.poll())
    assert skipped.skipped_reason == "polled by another daemon"
    assert second.connector.cursors == []  # type: ignore[attr-defined]
    holder = a._source_locks["src"]
    with psycopg.connect(a.dsn, autocommit=True) as admin:  # the first daemon's session dies
        admin.execute("SELECT pg_terminate_backend(%s)", (holder.backend_pid(),))
    assert asyncio.run(second.poll()).skipped_reason is None
    assert second.connector.cursors == ["c1"]  # type: ignore[attr-defined]
    assert asyncio.run(first.poll()).skipped_reason == "polled by another daemon"


def test_two_daemons_racing_for_one_slack_delivery_one_wins(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    [mention_id] = a.ingest("src", [make_mention(1)], None).new_ids
    a.set_classified(mention_id, {"label": "negative", "urgency": 0.5})
    a.set_draft(mention_id, "Sorry about that", {"limit": 280})
    stores = [a, b] * 4
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda s: s.slack_intend(mention_id, "C1"), stores))
    assert sum(claim is not None for claim in claims) == 1
