"""Bulk reject and snooze from the console list, the Retry button of failed items and requeue by
state, over real HTTP on loopback: CSRF-checked POSTs, each item decided through the service, a
partial result naming the items that lost a race."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from repbot import workflow
from repbot.approval.accounts import AccountService
from repbot.approval.wiring import attach_approval
from repbot.config import parse_config
from repbot.models import State, utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.workflow import RetryPolicy

PASSWORD = "a long enough password 123"
JSON = {"Accept": "application/json"}


class Console:
    def __init__(self, store: SqliteStore, client: TestClient[Any, Any]) -> None:
        self.store, self.client = store, client

    async def sign_in(self, name: str) -> str:
        self.client.session.cookie_jar.clear()
        csrf = await self.csrf("/login")
        data = {"csrf": csrf, "name": name, "password": PASSWORD, "next": "/"}
        resp = await self.client.post("/login", data=data, allow_redirects=False)
        assert resp.status == 303
        return await self.csrf("/")

    async def csrf(self, path: str) -> str:
        html = await (await self.client.get(path)).text()
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match, html[:300]
        return match.group(1)

    async def post(self, path: str, data: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        resp = await self.client.post(path, data=data, headers=JSON)
        body = await resp.json() if resp.content_type == "application/json" else {}
        return resp.status, body


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    store = SqliteStore(tmp_path / "repbot.db")
    accounts = AccountService(store)
    for name, role in (("alice", "approver"), ("bob", "approver"), ("vic", "viewer")):
        accounts.add(name, PASSWORD, role, by="test")
    accounts.add("root", PASSWORD, "admin", by="test")
    config = parse_config(
        f"brand: {{name: Orbit}}\nstore: {{path: {tmp_path / 'repbot.db'}}}\n"
        "approval: {undo_seconds: 0}\n"
    )
    app = web.Application()
    attach_approval(app, store, config)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    yield Console(store, client)
    await client.close()
    store.close()


def _failed(store: SqliteStore) -> int:
    item_id = seed_item(store)
    workflow.decide(store, item_id, "approve", "web:alice", text="Sorry, DM us.")
    workflow.begin_post(store, item_id)
    workflow.post_failed(
        store, store.get(item_id), "403 suspended", RetryPolicy(), utcnow(), transient=False
    )
    assert store.get(item_id).state is State.FAILED
    return item_id


async def test_bulk_reject_tells_which_items_lost_a_race(console: Console) -> None:
    ids = [seed_item(console.store) for _ in range(3)]
    workflow.decide(console.store, ids[1], "approve", "web:bob", text="ok")  # bob was first
    csrf = await console.sign_in("alice")
    form = [
        ("csrf", csrf),
        ("action", "reject"),
        ("reason", "spam"),
        *(("id", str(i)) for i in ids),
    ]
    status, answer = await console.post("/bulk", form)
    assert status == 200 and answer["ok"] is False
    outcomes = {r["id"]: (r["outcome"], r["decided_by"]) for r in answer["results"]}
    assert outcomes == {
        ids[0]: ("accepted", None),
        ids[1]: ("already_decided", "web:bob"),
        ids[2]: ("accepted", None),
    }
    assert answer["message"] == f"Rejected 2 of 3. #{ids[1]} was already approved by web:bob."
    for item_id in (ids[0], ids[2]):
        [decision] = console.store.decisions(item_id)
        assert (decision.action, decision.reason, decision.actor) == ("reject", "spam", "web:alice")
    assert console.store.get(ids[1]).state is State.APPROVED


async def test_bulk_snooze(console: Console) -> None:
    ids = [seed_item(console.store) for _ in range(2)]
    csrf = await console.sign_in("alice")
    form = [("csrf", csrf), ("action", "snooze"), ("until", "4h"), *(("id", str(i)) for i in ids)]
    status, answer = await console.post("/bulk", form)
    assert (status, answer["ok"], answer["message"]) == (200, True, "Snoozed 2 of 2.")
    assert {console.store.get(i).state for i in ids} == {State.SNOOZED}


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([("action", "reject"), ("reason", "spam")], 400),  # no item selected
        ([("action", "approve"), ("reason", "spam"), ("id", "1")], 400),  # not a bulk action
        ([("action", "reject"), ("reason", "rude words"), ("id", "1")], 400),  # unknown reason
        ([("action", "reject"), ("reason", "spam"), ("id", "x")], 400),
        ([("action", "snooze"), ("until", "forever"), ("id", "1")], 400),
    ],
)
async def test_bad_bulk_requests_change_nothing(
    console: Console, fields: list[tuple[str, str]], status: int
) -> None:
    item_id = seed_item(console.store)
    csrf = await console.sign_in("alice")
    got, _ = await console.post("/bulk", [("csrf", csrf), *fields])
    assert got == status
    assert console.store.get(item_id).state is State.AWAITING_APPROVAL
    assert console.store.decisions(item_id) == []


async def test_bulk_needs_csrf_and_an_approver(console: Console) -> None:
    item_id = seed_item(console.store)
    await console.sign_in("alice")
    form = [("csrf", "forged"), ("action", "reject"), ("reason", "spam"), ("id", str(item_id))]
    assert (await console.post("/bulk", form))[0] == 403
    csrf = await console.sign_in("vic")
    form[0] = ("csrf", csrf)
    assert (await console.post("/bulk", form))[0] == 403
    assert console.store.get(item_id).state is State.AWAITING_APPROVAL


async def test_retry_button_requeues_a_failed_item(console: Console) -> None:
    item_id = _failed(console.store)
    await console.sign_in("alice")
    html = await (await console.client.get(f"/items/{item_id}")).text()
    assert f'action="/items/{item_id}/retry"' in html
    csrf = await console.csrf(f"/items/{item_id}")
    status, answer = await console.post(f"/items/{item_id}/retry", [("csrf", csrf)])
    assert (status, answer["message"]) == (200, "Requeued 1 of 1.")
    item = console.store.get(item_id)
    assert (item.state, item.attempts, item.final_text) == (State.APPROVED, 0, "Sorry, DM us.")
    assert [i.id for i in console.store.due_posts(utcnow(), 10)] == [item_id]
    status, answer = await console.post(f"/items/{item_id}/retry", [("csrf", csrf)])
    assert status == 409 and "Only failed items" in answer["message"]


async def test_requeue_by_state_is_an_admin_action(console: Console) -> None:
    failed = [_failed(console.store) for _ in range(2)]
    csrf = await console.sign_in("alice")
    form = [("csrf", csrf), ("state", "failed")]
    assert (await console.post("/admin/requeue", form))[0] == 403
    csrf = await console.sign_in("root")
    html = await (await console.client.get("/?state=failed")).text()
    assert 'action="/admin/requeue"' in html
    status, answer = await console.post("/admin/requeue", [("csrf", csrf), ("state", "failed")])
    assert (status, answer["message"]) == (200, "Requeued 2 failed item(s).")
    assert {console.store.get(i).state for i in failed} == {State.APPROVED}
    status, _ = await console.post("/admin/requeue", [("csrf", csrf), ("state", "posted")])
    assert status == 400
