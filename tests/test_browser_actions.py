"""Claim, edit, approve and undo in a real headless browser (Playwright with Debian's chromium)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.approval.accounts import AccountService
from repbot.approval.config import WebConfig
from repbot.approval.service import ApprovalService
from repbot.approval.web import setup_console
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PASSWORD = "a long enough password 123"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, str]]:
    store = SqliteStore(tmp_path / "repbot.db")
    AccountService(store).add("alice", PASSWORD, "approver", by="test")
    app = web.Application()
    service = ApprovalService(store, undo_seconds=600)  # the window outlasts any slow machine
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1", service=service)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield store, str(server.make_url("/"))
    await server.close()
    store.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_claim_edit_approve_undo(console: tuple[SqliteStore, str], browser: Any) -> None:
    store, url = console
    item_id = seed_item(store, text="Charged twice!", draft="Sorry about that.")
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(120_000)  # a hang guard for a loaded machine, not a threshold
    await page.goto(f"{url}items/{item_id}")
    await page.fill("#name", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("button:has-text('Sign in')")
    card = page.locator(f"#item-{item_id}")
    await card.wait_for()

    await card.locator('button:has-text("I\'m on it")').click()
    await page.wait_for_selector(f"#item-{item_id} .claim")
    assert "Claimed by" in await page.locator(f"#item-{item_id} .claim").inner_text()
    assert await card.locator("button:has-text('Take over')").count() == 1

    await card.locator("summary:has-text('Edit')").click()
    await card.locator("textarea").fill("So sorry, please DM us your order number.")
    await card.locator("button:has-text('Approve edited reply')").click()
    countdown = page.locator(f"#item-{item_id} .countdown")
    await countdown.wait_for()
    assert (await countdown.inner_text()).startswith("Posting in")
    approved = store.get(item_id)
    assert approved.state is State.APPROVED and approved.decided_by == "web:alice"
    assert store.claims([item_id], approved.post_after or approved.ingested_at) == {}

    await page.locator(f"#item-{item_id} button:has-text('Undo')").click()
    await page.wait_for_selector(f"#item-{item_id}[data-state='awaiting_approval']")
    back = store.get(item_id)
    assert back.state is State.AWAITING_APPROVAL
    assert back.draft == "So sorry, please DM us your order number."
    assert (
        "So sorry, please DM us" in await page.locator(f"#item-{item_id} .draft-text").inner_text()
    )
    events = [(e["event"], e["actor"]) for e in store.audit_log(item_id)]
    assert ("claimed", "web:alice") in events and ("undo", "web:alice") in events
