"""The web console through aiohttp's test client: login, CSRF, decisions, filters."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from repbot import workflow
from repbot.approval.config import SlackConfig, WebConfig
from repbot.approval.slack import SlackApproval
from repbot.approval.web import COOKIE, console_requires_token, setup_console
from repbot.errors import ConfigError
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.slack import FakeSlack

TOKEN = "s3cret-console-token"
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "repbot.db")


@pytest.fixture
async def make_client(store: SqliteStore) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(token: str | None = None, host: str = "127.0.0.1", **kw: Any) -> Client:
        app = web.Application()
        cfg = WebConfig(
            enabled=True, token=SecretStr(token) if token else None, break_glass=bool(token)
        )
        setup_console(app, store, cfg, server_host=host, timezone="Europe/Paris", **kw)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def page(client: Client, path: str = "/") -> tuple[str, str]:
    resp = await client.get(path)
    assert resp.status == 200
    html = await resp.text()
    return html, csrf_of(html) if 'name="csrf"' in html else ""


async def login(client: Client, token: str = TOKEN, name: str = "alice") -> Any:
    _, csrf = await page(client, "/login")
    return await client.post(
        "/login",
        data={"csrf": csrf, "token": token, "name": name, "next": "/"},
        allow_redirects=False,
    )


@pytest.mark.parametrize(
    ("host", "required"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("[::1]", False),
        ("localhost", False),
        ("127.0.0.53", False),
        ("0.0.0.0", True),
        ("192.168.1.20", True),
        ("::", True),
        ("example.com", True),
    ],
)
def test_console_requires_token_beyond_loopback(host: str, required: bool) -> None:
    assert console_requires_token(host) is required


def test_refuses_break_glass_without_token(store: SqliteStore) -> None:
    with pytest.raises(ConfigError, match=r"approval\.web\.token"):
        setup_console(web.Application(), store, WebConfig(break_glass=True), server_host="0.0.0.0")


async def test_loopback_without_token_shows_queue_and_approves(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store, text="Where is my <b>refund</b>?", draft="Checking now!")
    client = await make_client()
    html, csrf = await page(client)
    assert "Where is my &lt;b&gt;refund&lt;/b&gt;?" in html
    assert "Checking now!" in html and "Dana (@dana)" in html and "12.3k followers" in html
    assert "negative sentiment +0.30" in html
    resp = await client.post(f"/items/{item_id}/approve", data={"csrf": csrf, "next": "/"})
    assert resp.status == 200 and "Approved #" in await resp.text()
    item = store.get(item_id)
    assert item.state is State.APPROVED and item.final_text == "Checking now!"
    assert item.decided_by == "local"
    assert store.decisions(item_id)[0].action == "approve"


async def test_only_http_links_are_rendered(make_client: MakeClient, store: SqliteStore) -> None:
    item_id = seed_item(store)
    workflow.decide(store, item_id, "approve", "web", text="ok")
    store.begin_post(item_id)
    store.complete_post(item_id, "r", "javascript:alert(1)")
    client = await make_client()
    html, _ = await page(client, "/?state=posted")
    assert 'href="javascript:' not in html and "<code>javascript:alert(1)</code>" in html


async def test_token_login_sets_hardened_cookie(
    make_client: MakeClient, store: SqliteStore
) -> None:
    seed_item(store)
    client = await make_client(TOKEN, host="0.0.0.0")
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")

    bad = await login(client, token="nope")
    assert bad.status == 401 and "Wrong name or password" in await bad.text()
    good = await login(client)
    assert good.status == 303
    cookie = good.headers["Set-Cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    html, _ = await page(client)
    assert "break-glass" in html and "Dana (@dana)" in html


async def test_tampered_cookie_is_not_a_login(make_client: MakeClient, store: SqliteStore) -> None:
    client = await make_client(TOKEN)
    await login(client)
    value = next(c.value for c in client.session.cookie_jar if c.key == COOKIE)
    client.session.cookie_jar.clear()
    resp = await client.get("/", allow_redirects=False, headers={"Cookie": f"{COOKIE}={value}"})
    assert resp.status == 200
    tampered = f"{COOKIE}={value[:-2]}{'00' if value[-2:] != '00' else '11'}"
    resp = await client.get("/", allow_redirects=False, headers={"Cookie": tampered})
    assert resp.status == 303


async def test_decisions_are_recorded_with_the_login_name(
    make_client: MakeClient, store: SqliteStore
) -> None:
    from repbot.approval.accounts import AccountService

    item_id = seed_item(store)
    AccountService(store).add("alice", "alice-password", "approver", by="test")
    client = await make_client()
    _, csrf = await page(client, "/login")
    form = {"csrf": csrf, "name": "alice", "password": "alice-password", "next": "/"}
    await client.post("/login", data=form)
    _, csrf = await page(client)
    await client.post(f"/items/{item_id}/approve", data={"csrf": csrf})
    assert store.get(item_id).decided_by == "web:alice"


async def test_csrf_is_required(make_client: MakeClient, store: SqliteStore) -> None:
    item_id = seed_item(store)
    client = await make_client(TOKEN)
    await login(client)
    _, csrf = await page(client)
    missing = await client.post(f"/items/{item_id}/approve", data={})
    assert missing.status == 403
    other = await make_client(TOKEN)
    _, foreign = await page(other, "/login")
    forged = await client.post(f"/items/{item_id}/approve", data={"csrf": foreign})
    assert forged.status == 403
    cross = await client.post(
        f"/items/{item_id}/approve",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status == 403
    assert store.get(item_id).state is State.AWAITING_APPROVAL
    assert store.decisions(item_id) == []


async def test_edit_approves_edited_text_within_the_limit(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store, draft="Old draft", limit=30)
    client = await make_client()
    html, csrf = await page(client)
    assert 'data-limit="30"' in html
    json_headers = {"Accept": "application/json"}
    long = await client.post(
        f"/items/{item_id}/edit", data={"csrf": csrf, "text": "y" * 31}, headers=json_headers
    )
    assert long.status == 409 and "limit is 30" in (await long.json())["message"]
    ok = await client.post(
        f"/items/{item_id}/edit", data={"csrf": csrf, "text": " New text "}, headers=json_headers
    )
    assert (await ok.json())["ok"] is True
    item = store.get(item_id)
    assert item.final_text == "New text" and store.decisions(item_id)[0].action == "edit"


async def test_reject_with_reason_and_second_decision_conflicts(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    _, csrf = await page(client)
    headers = {"Accept": "application/json"}
    await client.post(f"/items/{item_id}/reject", data={"csrf": csrf, "reason": "spam"})
    assert store.get(item_id).state is State.REJECTED
    assert store.decisions(item_id)[0].reason == "spam"
    again = await client.post(f"/items/{item_id}/approve", data={"csrf": csrf}, headers=headers)
    assert again.status == 409 and "cannot be decided again" in (await again.json())["message"]


async def test_snooze_tomorrow_is_nine_in_the_configured_zone(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    _, csrf = await page(client)
    await client.post(f"/items/{item_id}/snooze", data={"csrf": csrf, "until": "tomorrow"})
    item = store.get(item_id)
    assert item.state is State.SNOOZED and item.snooze_until is not None
    local = item.snooze_until.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() > datetime.now(ZoneInfo("Europe/Paris")).date()


async def test_filters_by_platform_state_and_intent(
    make_client: MakeClient, store: SqliteStore
) -> None:
    x_id = seed_item(store, platform="x", text="x complaint", intent="complaint", urgency=0.2)
    r_id = seed_item(store, platform="reddit", text="reddit praise", intent="praise", urgency=0.9)
    done = seed_item(store, platform="x", text="already handled")
    workflow.decide(store, done, "reject", "web")
    client = await make_client()
    html, _ = await page(client)
    assert html.index("reddit praise") < html.index("x complaint")
    assert "already handled" not in html
    html, _ = await page(client, "/?platform=x")
    assert "x complaint" in html and "reddit praise" not in html
    html, _ = await page(client, "/?intent=praise")
    assert "reddit praise" in html and "x complaint" not in html
    html, _ = await page(client, "/?state=rejected")
    assert "already handled" in html and "x complaint" not in html
    partial = await (await client.get("/?partial=1&state=all")).text()
    assert (
        "<html" not in partial and f'id="item-{x_id}"' in partial and f'id="item-{r_id}"' in partial
    )


async def test_item_page_shows_history_and_audit(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store)
    workflow.decide(store, item_id, "snooze", "bob", channel="web")
    client = await make_client()
    html, _ = await page(client, f"/items/{item_id}")
    assert "History (1)" in html and "snooze</b> by bob" in html and "awaiting_approval" in html
    assert (await client.get("/items/999999")).status == 404


async def test_mark_posted_for_manual_platforms(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store, platform="yelp", meta={"post_manually": True})
    workflow.decide(store, item_id, "approve", "web", text="Thanks!")
    client = await make_client()
    html, csrf = await page(client, "/?state=approved")
    assert "Post manually" in html and f"/items/{item_id}/posted" in html
    await client.post(f"/items/{item_id}/posted", data={"csrf": csrf, "url": "https://y.example/1"})
    item = store.get(item_id)
    assert item.state is State.POSTED and item.posted_url == "https://y.example/1"


async def test_web_decision_updates_the_slack_message(
    make_client: MakeClient, store: SqliteStore
) -> None:
    async with FakeSlack() as fake:
        cfg = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-t"),
            signing_secret=SecretStr("s"),
            channel="CAPPROVE",
            api_base_url=fake.base_url,
        )
        slack = SlackApproval(cfg, store)
        item_id = seed_item(store)
        await slack.sync()
        client = await make_client(slack=slack)
        _, csrf = await page(client)
        await client.post(f"/items/{item_id}/approve", data={"csrf": csrf})
        (update,) = fake.calls_to("chat.update")
        assert "Approved* by local" in str(update.args["blocks"])
        await slack.stop()


async def test_static_assets_are_served(make_client: MakeClient) -> None:
    client = await make_client()
    for name in ("console.css", "console.js"):
        resp = await client.get(f"/static/{name}")
        assert resp.status == 200 and len(await resp.read()) > 500


async def test_attach_approval_wires_console_and_slack_http_route(store: SqliteStore) -> None:
    from repbot.approval.wiring import attach_approval
    from repbot.config import Config

    public = Config.model_validate(
        {"server": {"host": "0.0.0.0"}, "approval": {"web": {"break_glass": True}}}
    )
    with pytest.raises(ConfigError):
        attach_approval(web.Application(), store, public)

    decided: list[int] = []
    cfg = Config.model_validate(
        {
            "server": {"host": "0.0.0.0"},
            "approval": {
                "web": {"token": TOKEN, "break_glass": True},
                "slack": {
                    "mode": "http",
                    "bot_token": "xoxb-1",
                    "signing_secret": "s",
                    "channel": "C1",
                    "api_base_url": "http://127.0.0.1:9/api/",
                },
            },
        }
    )
    app = web.Application()
    slack = attach_approval(app, store, cfg, on_decision=decided.append)
    assert slack is not None
    paths = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert {"/", "/login", "/slack/events"} <= paths
    item_id = seed_item(store)
    async with TestClient(TestServer(app)) as client:
        await login(client)
        _, csrf = await page(client)
        await client.post(f"/items/{item_id}/approve", data={"csrf": csrf})
    assert decided == [item_id]
    await slack.stop()
