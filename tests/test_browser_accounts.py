"""Accounts in a real headless browser: sign in, open an item, sign out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.approval.accounts import AccountService
from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
PASSWORD = "browser-password"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, str]]:
    store = SqliteStore(tmp_path / "repbot.db")
    AccountService(store).add("vera", PASSWORD, "viewer", by="test")
    app = web.Application()
    setup_console(app, store, WebConfig(), server_host="127.0.0.1", timezone="UTC")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield store, str(server.make_url("/"))
    await server.close()
    store.close()


async def test_sign_in_open_an_item_and_sign_out(
    console: tuple[SqliteStore, str], tmp_path: Path
) -> None:
    store, url = console
    item_id = seed_item(store, text="Where is my parcel?", draft="Checking now.")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await (await browser.new_context()).new_page()
        await page.goto(f"{url}items/{item_id}")
        assert "/login" in page.url
        await page.fill("#name", "vera")
        await page.fill("#password", "not the password")
        await page.click("button:has-text('Sign in')")
        assert "Wrong name or password" in await page.inner_text(".error")
        await page.fill("#name", "Vera")
        await page.fill("#password", PASSWORD)
        await page.click("button:has-text('Sign in')")
        await page.wait_for_selector("text=Where is my parcel?")
        assert page.url.endswith(f"/items/{item_id}")
        assert "vera" in await page.inner_text(".who")
        await page.click("button:has-text('Sign out')")
        await page.wait_for_selector("#password")
        assert "/login" in page.url
        await page.goto(f"{url}items/{item_id}")
        assert "/login" in page.url
        await browser.close()
    logins = [r["actor"] for r in store.audit_log() if r["event"] == "console_login"]
    assert logins == ["web:vera"]
