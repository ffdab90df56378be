"""The console dashboard and SLA countdowns in headless Chromium: the charts render (natural
width > 0), a screenshot lands in the test's folder, every open card shows its countdown and
breached items come first within their band."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.approval.accounts import AccountService
from repbot.approval.web import console_of, setup_console
from repbot.approval.web_dashboard import attach
from repbot.config import parse_config
from repbot.models import utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "dashboard-test-token"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


def _arrived(store: SqliteStore, item_id: int, ago: timedelta) -> None:
    with store.batch():
        store.conn.execute(
            "UPDATE mentions SET ingested_at = ? WHERE id = ?",
            ((utcnow() - ago).isoformat(timespec="microseconds"), item_id),
        )


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, str]]:
    store = SqliteStore(tmp_path / "repbot.db")
    config = parse_config("approval: {web: {enabled: true}}\nalerts: {sla: {urgent: 1h}}\n")
    app = web.Application()
    AccountService(store).add("alice", TOKEN, "approver", by="test")
    setup_console(app, store, config.approval.web, server_host="127.0.0.1", timezone="UTC")
    attach(app, console_of(app), config)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield store, str(server.make_url("/"))
    await server.close()
    store.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        await browser.close()


async def test_dashboard_charts_and_card_countdowns(
    console: tuple[SqliteStore, str], browser: Any, tmp_path: Path
) -> None:
    store, url = console
    fresh = seed_item(store, text="Card charged twice!", urgency=0.95)
    late = seed_item(store, text="Still charged twice, nobody answers", urgency=0.9)
    calm = seed_item(store, text="When do you open?", urgency=0.1, sentiment="neutral")
    _arrived(store, late, timedelta(hours=2))  # urgent target 1 h: breached
    page = await (await browser.new_context()).new_page()
    await page.goto(url)
    await page.fill("#name", "alice")
    await page.fill("#password", TOKEN)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector(f"#item-{fresh}")
    order = await page.eval_on_selector_all("article.card", "cards => cards.map(c => c.dataset.id)")
    assert order == [str(late), str(fresh), str(calm)]  # breached first within the urgent band
    texts = await page.eval_on_selector_all(
        "article.card", "cs => cs.map(c => c.querySelector('.sla-countdown').textContent)"
    )
    assert texts[0].startswith("SLA overdue by") and texts[1].startswith("SLA due in")
    assert await page.locator(f"#item-{late} .sla-countdown.breached").count() == 1

    await page.click("a:has-text('Dashboard')")
    await page.wait_for_selector("img#chart-sentiment")
    widths = await page.eval_on_selector_all(
        "img.chart", "imgs => Promise.all(imgs.map(i => i.decode().then(() => i.naturalWidth)))"
    )
    assert len(widths) == 2 and all(w > 0 for w in widths)
    assert await page.text_content("#total") == "3"
    assert "charged twice" in (await page.text_content("ol.issues") or "")
    shot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


async def test_card_countdown_ticks_in_the_browser_and_turns_overdue(
    console: tuple[SqliteStore, str], browser: Any
) -> None:
    store, url = console
    item = seed_item(store, text="Card charged twice!", urgency=0.95)
    _arrived(store, item, timedelta(hours=1) - timedelta(seconds=30))  # 30 s of the 1 h left
    page = await (await browser.new_context()).new_page()
    page.set_default_timeout(120_000)  # a hang guard for a loaded machine, not a threshold
    await page.goto(url)
    await page.fill("#name", "alice")
    await page.fill("#password", TOKEN)
    await page.click("button:has-text('Sign in')")
    countdown = f"#item-{item} .sla-countdown"
    drawn = await page.text_content(countdown) or ""
    assert drawn.startswith("SLA due in") and drawn.endswith(" s")
    await page.wait_for_function(
        "([sel, drawn]) => document.querySelector(sel).textContent !== drawn",
        arg=[countdown, drawn],
    )
    ticked = await page.text_content(countdown) or ""
    if ticked.startswith("SLA due in"):
        assert int(ticked.split()[3]) < int(drawn.split()[3])  # ran down without a reload
    await page.wait_for_selector(f"{countdown}.breached")  # and turns overdue by itself
    assert (await page.text_content(countdown) or "").startswith("SLA overdue by")
