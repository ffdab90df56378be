"""The console queue in headless Chromium: load more, search, the "N new" notice, in-place marks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.queue import bulk_awaiting

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, str]]:
    store = SqliteStore(tmp_path / "repbot.db")
    app = web.Application()
    setup_console(app, store, WebConfig(enabled=True), server_host="127.0.0.1")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield store, str(server.make_url("/"))
    await server.close()
    store.close()


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    api = pytest.importorskip("playwright.async_api")
    async with api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = await browser.new_context(viewport={"width": 1000, "height": 800})
        yield await context.new_page()
        await browser.close()


async def _ids(page: Any) -> list[int]:
    found = await page.eval_on_selector_all(
        "#queue .slot[data-id]", "els => els.map(e => +e.dataset.id)"
    )
    return [int(i) for i in found]


async def test_load_more_and_search(console: tuple[SqliteStore, str], page: Any) -> None:
    store, url = console
    ids = bulk_awaiting(store, 70)
    await page.goto(url)
    await page.wait_for_selector("#load-more")
    assert len(await _ids(page)) == 50
    await page.click("#load-more")
    await page.wait_for_selector("#load-more", state="detached")
    shown = await _ids(page)
    assert sorted(shown) == sorted(ids) and len(shown) == 70
    assert "after=" not in page.url, "more cards were appended, not a new page"

    await page.fill("input[name=q]", "cafe")
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url("**q=cafe**")
    found = store.items(await _ids(page))
    assert found and all("café" in (i.mention.text + (i.draft or "")) for i in found)

    await page.fill("input[name=q]", '"NEAR( *')
    await page.press("input[name=q]", "Enter")
    await page.wait_for_selector(".empty")
    assert "search" in (await page.inner_text(".empty")).lower() or await _ids(page) == []


async def test_new_items_wait_behind_a_notice_and_nothing_moves(
    console: tuple[SqliteStore, str], page: Any
) -> None:
    store, url = console
    bulk_awaiting(store, 20)
    await page.goto(url)
    await page.wait_for_selector("#queue .slot")
    before = await _ids(page)
    pointed = before[4]
    card = page.locator(f'.slot[data-id="{pointed}"]')
    await page.mouse.wheel(0, 300)
    await card.hover()
    box = await card.bounding_box()

    fresh = seed_item(store, text="Brand new, very urgent", urgency=0.99)
    decided = before[0]
    store.decide(
        decided, "reject", "web:bob", to=State.REJECTED, expected={State.AWAITING_APPROVAL}
    )
    await page.evaluate("window.repbotPoll()")
    await page.wait_for_selector("#new-items:not(.hidden)")
    assert (await page.inner_text("#new-items")).startswith("1 new")
    await page.wait_for_selector(f'.slot.left[data-id="{decided}"]')  # marked where it was
    assert await _ids(page) == before, "nothing inserted or moved before the click"
    still = await card.bounding_box()
    assert still is not None and box is not None and abs(still["y"] - box["y"]) < 1

    await page.dispatch_event("#new-items", "click")  # e.g. the keyboard; the pointer stays
    await page.wait_for_selector(f'.slot.fresh[data-id="{fresh}"]')
    assert await _ids(page) == [fresh, *before]
    after = await card.bounding_box()
    assert after is not None and box is not None and abs(after["y"] - box["y"]) < 1
    assert await page.is_hidden("#new-items")
