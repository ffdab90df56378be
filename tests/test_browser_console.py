"""The web console in a real headless browser (Playwright driving Debian's chromium)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.approval.accounts import AccountService
from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-test-token"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, str]]:
    store = SqliteStore(tmp_path / "repbot.db")
    app = web.Application()
    cfg = WebConfig(enabled=True)
    AccountService(store).add("alice", TOKEN, "approver", by="test")
    setup_console(app, store, cfg, server_host="127.0.0.1", timezone="UTC")
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


async def test_login_approve_edit_and_queue_updates(
    console: tuple[SqliteStore, str], browser: Any
) -> None:
    store, url = console
    first = seed_item(store, text="Package lost twice!", draft="So sorry — DM us?", urgency=0.9)
    second = seed_item(store, text="Is the app down?", draft="Looking into it.", urgency=0.6)
    third = seed_item(store, text="Love the new update", draft="Thank you!", urgency=0.1)
    page = await (await browser.new_context()).new_page()

    await page.goto(url)
    assert "/login" in page.url
    await page.fill("#name", "Alice")
    await page.fill("#password", TOKEN)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector(f"#item-{first}")
    assert await page.locator("article.card").count() == 3

    await page.click(f"#item-{first} button:has-text('Approve')")
    await page.wait_for_selector(f'.slot.left[data-id="{first}"]')  # marked in place, not moved
    assert "Approved #" in await page.inner_text("#flash")
    assert "flash=" not in page.url, "the progressive JS should update the queue in place"

    card = page.locator(f"#item-{second}")
    await card.locator("summary:has-text('Edit')").click()
    area = card.locator("textarea")
    await area.fill("We are on it — status page: example.com/status")
    assert "/ 280 characters" in await card.locator(".counter").inner_text()
    await card.locator("button:has-text('Approve edited reply')").click()
    await page.wait_for_selector(f'.slot.left[data-id="{second}"]')

    assert await page.locator(".slot:not(.left) article.card").count() == 1
    assert await page.inner_text("#count-awaiting") == "1"
    assert await page.locator(f"#item-{third}").count() == 1

    approved, edited = store.get(first), store.get(second)
    assert approved.state is State.APPROVED and approved.final_text == "So sorry — DM us?"
    assert approved.decided_by == "web:alice"
    assert edited.state is State.APPROVED
    assert edited.final_text == "We are on it — status page: example.com/status"
    assert [d.action for d in store.decisions(second)] == ["edit"]


async def test_phone_layout_has_no_horizontal_scroll(
    console: tuple[SqliteStore, str], browser: Any
) -> None:
    store, url = console
    seed_item(store, text="A" * 400 + " https://example.com/" + "b" * 200, rating=1, urgency=0.7)
    context = await browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = await context.new_page()
    await page.goto(url)
    await page.fill("#name", "alice")
    await page.fill("#password", TOKEN)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector("article.card")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
