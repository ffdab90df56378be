"""Console accounts over real HTTP: roles, revocation, break-glass, open local mode, Slack
sign-in (OpenID Connect against the fake Slack) and attribution in the audit trail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port
from argon2 import PasswordHasher
from pydantic import SecretStr

from repbot.approval.accounts import AccountService
from repbot.approval.config import SlackSignInConfig, WebConfig
from repbot.approval.service import ApprovalService
from repbot.approval.web import COOKIE, setup_console
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.slack import FakeSlack

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
TOKEN = "break-glass-token-123"
PASSWORDS = {"vera": "vera-password", "abe": "abe-password", "ada": "ada-password"}
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console hashes with cheap parameters here (the real ones cost ~64 MiB a check)."""
    monkeypatch.setattr("repbot.approval.accounts.make_hasher", lambda: FAST)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "repbot.db")


@pytest.fixture
def accounts(store: SqliteStore) -> AccountService:
    service = AccountService(store, hasher=FAST)
    service.add("vera", PASSWORDS["vera"], "viewer", by="test")
    service.add("abe", PASSWORDS["abe"], "approver", slack_user_id="U0ABE", by="test")
    service.add("ada", PASSWORDS["ada"], "admin", by="test")
    return service


@pytest.fixture
async def make_client(store: SqliteStore) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(host: str = "127.0.0.1", port: int | None = None, **cfg: Any) -> Client:
        app = web.Application()
        service = cfg.pop("service", None)
        setup_console(app, store, WebConfig(**cfg), server_host=host, service=service)
        client: Client = TestClient(TestServer(app, port=port or unused_port()))
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


async def csrf(client: Client, path: str = "/login") -> str:
    return csrf_of(await (await client.get(path)).text())


async def sign_in(client: Client, name: str, password: str | None = None) -> Any:
    form = {"csrf": await csrf(client), "name": name, "next": "/"}
    form["password"] = PASSWORDS.get(name, "") if password is None else password
    return await client.post("/login", data=form, allow_redirects=False)


async def approve(client: Client, item_id: int) -> Any:
    token = await csrf(client, "/")
    return await client.post(
        f"/items/{item_id}/approve",
        data={"csrf": token},
        headers={"Accept": "application/json"},
    )


# roles
async def test_viewer_reads_but_never_decides(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    assert (await sign_in(client, "vera")).status == 303
    page = await client.get("/")
    assert page.status == 200 and "vera" in await page.text()
    refused = await approve(client, item_id)
    assert refused.status == 403 and "needs the approver role" in await refused.text()
    assert store.get(item_id).state is State.AWAITING_APPROVAL


async def test_approver_decides_and_the_audit_names_the_account(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    await sign_in(client, "abe")
    resp = await approve(client, item_id)
    assert resp.status == 200 and (await resp.json())["ok"]
    assert store.get(item_id).decided_by == "web:abe"
    assert store.decisions(item_id)[0].actor == "web:abe"
    trail = [(r["event"], r["actor"]) for r in store.audit_log(item_id)]
    assert any(actor == "web:abe" for _, actor in trail), trail
    logins = [r["actor"] for r in store.audit_log() if r["event"] == "console_login"]
    assert logins == ["web:abe"]


async def test_approver_cannot_manage_users(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService
) -> None:
    client = await make_client()
    await sign_in(client, "abe")
    page = await client.get("/users")
    assert page.status == 403 and "needs the admin role" in await page.text()
    token = await csrf(client, "/")
    add = await client.post(
        "/users", data={"csrf": token, "name": "eve", "password": "eve-password1"}
    )
    assert add.status == 403 and store.user_get("eve") is None
    disable = await client.post("/users/ada/disable", data={"csrf": token})
    assert disable.status == 403 and not store.user_get("ada").disabled  # type: ignore[union-attr]


async def test_admin_manages_users_in_the_console(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService
) -> None:
    client = await make_client()
    await sign_in(client, "ada")
    html = await (await client.get("/users")).text()
    assert all(f'data-user="{name}"' in html for name in PASSWORDS)
    for after in ("9" * 40, "-5", "x"):  # hostile paging is a page, never a 500
        assert (await client.get(f"/users?after={after}")).status == 200
    token = csrf_of(html)
    assert (await client.post("/users", data={"name": "eve", "password": "x"})).status == 403
    bad = await client.post("/users", data={"csrf": token, "name": "eve", "password": "short"})
    assert bad.status == 400 and "too short" in await bad.text()
    form = {"csrf": token, "name": "Eve", "password": "eve-password1", "role": "viewer"}
    added = await client.post("/users", data=form)
    assert added.status == 200 and 'data-user="eve"' in await added.text()
    assert store.user_get("eve").role == "viewer"  # type: ignore[union-attr]
    assert (await client.post("/users/eve/disable", data={"csrf": token})).status == 200
    assert store.user_get("eve").disabled  # type: ignore[union-attr]
    reset = await client.post("/users/abe/reset", data={"csrf": token})
    shown = re.search(r"<code>([^<]+)</code>", await reset.text())
    assert reset.status == 200 and shown
    other = await make_client()
    assert (await sign_in(other, "abe")).status == 401
    assert (await sign_in(other, "abe", shown.group(1))).status == 303
    events = [(r["event"], r["actor"]) for r in store.audit_log() if "account" in r["event"]]
    assert events[-3:] == [
        ("account_added", "web:ada"),
        ("account_disabled", "web:ada"),
        ("account_reset", "web:ada"),
    ]
    assert shown.group(1) not in str(store.audit_log())


# revocation
async def test_a_disabled_accounts_live_session_is_refused_at_once(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    await sign_in(client, "abe")
    token = await csrf(client, "/")
    accounts.disable("abe", by="test")
    assert (await client.get("/", allow_redirects=False)).status == 303
    resp = await client.post(f"/items/{item_id}/approve", data={"csrf": token})
    assert resp.status in (401, 403)
    assert store.get(item_id).state is State.AWAITING_APPROVAL
    accounts.enable("abe", by="test")
    assert (await client.get("/", allow_redirects=False)).status == 303  # still ended


async def test_reset_revokes_sessions_and_a_demotion_applies_at_once(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService
) -> None:
    item_id = seed_item(store)
    first, second = await make_client(), await make_client()
    await sign_in(first, "abe")
    await sign_in(second, "ada")
    accounts.reset("abe", "new-abe-password", by="test")
    assert (await first.get("/", allow_redirects=False)).status == 303
    ada = store.user_get("ada")
    assert ada is not None
    store.user_update(ada.id, role="viewer")
    assert (await approve(second, item_id)).status == 403
    assert (await second.get("/users")).status == 403


async def test_wrong_passwords_are_throttled(
    make_client: MakeClient, accounts: AccountService
) -> None:
    client = await make_client()
    statuses = [(await sign_in(client, "abe", "wrong-password")).status for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    assert (await sign_in(client, "abe")).status == 429  # the right one waits too


async def test_unknown_name_and_wrong_password_read_the_same(
    make_client: MakeClient, accounts: AccountService
) -> None:
    client = await make_client()
    unknown = await sign_in(client, "nobody", "whatever-pass")
    wrong = await sign_in(client, "abe", "whatever-pass")
    assert unknown.status == wrong.status == 401
    assert "Wrong name or password" in await unknown.text()
    assert "Wrong name or password" in await wrong.text()


# who gets in without an account
async def test_open_on_loopback_until_the_first_account(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    assert (await client.get("/", allow_redirects=False)).status == 200
    assert (await client.get("/users")).status == 200  # "local" may create the first account
    assert (await approve(client, item_id)).status == 200
    assert store.get(item_id).decided_by == "local"
    AccountService(store, hasher=FAST).add("ann", "ann-password", "admin", by="local")
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_public_host_always_needs_a_sign_in(make_client: MakeClient) -> None:
    client = await make_client(host="0.0.0.0")
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")


async def test_break_glass_is_off_by_default(make_client: MakeClient, store: SqliteStore) -> None:
    client = await make_client(host="0.0.0.0", token=SecretStr(TOKEN))
    resp = await sign_in(client, "break-glass", TOKEN)
    assert resp.status == 401
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_break_glass_when_enabled_is_an_audited_admin(
    make_client: MakeClient, store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    item_id = seed_item(store)
    client = await make_client(host="0.0.0.0", token=SecretStr(TOKEN), break_glass=True)
    assert (await sign_in(client, "break-glass", "not-the-token")).status == 401
    assert (await sign_in(client, "break-glass", TOKEN)).status == 303
    assert "BREAK-GLASS console login" in caplog.text and TOKEN not in caplog.text
    assert (await client.get("/users")).status == 200
    assert (await approve(client, item_id)).status == 200
    assert store.get(item_id).decided_by == "break-glass"
    logins = [r["actor"] for r in store.audit_log() if r["event"] == "console_login"]
    assert logins == ["break-glass"] and TOKEN not in str(store.audit_log())


async def test_break_glass_sessions_end_when_it_is_turned_off(
    make_client: MakeClient, store: SqliteStore
) -> None:
    on = await make_client(host="0.0.0.0", token=SecretStr(TOKEN), break_glass=True)
    await sign_in(on, "break-glass", TOKEN)
    cookie = {
        "Cookie": f"{COOKIE}={on.session.cookie_jar.filter_cookies(on.make_url('/'))[COOKIE].value}"
    }
    off = await make_client(host="0.0.0.0", token=SecretStr(TOKEN))
    assert (await off.get("/", headers=cookie, allow_redirects=False)).status == 303


# Sign in with Slack
@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def slack_client(
    make_client: MakeClient, store: SqliteStore, fake: FakeSlack, **cfg: Any
) -> Client:
    port = unused_port()
    sign_in_cfg = SlackSignInConfig(
        client_id="1234.5678",
        client_secret=SecretStr("oidc-client-secret"),
        redirect_url=f"http://127.0.0.1:{port}/auth/slack/callback",
        team_id=cfg.pop("team_id", "T0000001"),
        authorize_url=f"http://127.0.0.1:{fake.port}/openid/connect/authorize",
        api_base_url=fake.base_url,
    )
    service = ApprovalService(store, slack_approvers=["U0LISTED", "S0GROUP"])
    service.use_group_lookup(_groups(fake))
    return await make_client(
        host="0.0.0.0", port=port, slack_sign_in=sign_in_cfg, service=service, **cfg
    )


def _groups(fake: FakeSlack) -> Callable[[str], Awaitable[set[str] | None]]:
    async def members(group: str) -> set[str] | None:
        return set(fake.usergroups.get(group, [])) or None

    return members


async def slack_flow(client: Client, *, tamper_state: bool = False) -> Any:
    """Browser steps: /auth/slack -> Slack's authorize page -> back to the callback."""
    start = await client.get("/auth/slack?next=/%3Fstate%3Dall", allow_redirects=False)
    assert start.status == 302
    authorize = start.headers["Location"]
    assert "state=" in authorize and "nonce=" in authorize and "team=T0000001" in authorize
    back = await client.session.get(authorize, allow_redirects=False)
    assert back.status == 302
    callback = back.headers["Location"]
    if tamper_state:
        callback = re.sub(r"state=[^&]+", "state=forged", callback)
    return await client.session.get(callback, allow_redirects=False)


async def test_slack_sign_in_maps_to_the_linked_account(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService, slack: FakeSlack
) -> None:
    item_id = seed_item(store)
    client = await slack_client(make_client, store, slack)
    login_page = await (await client.get("/login")).text()
    assert 'href="/auth/slack?next=' in login_page
    slack.oidc_user = "U0ABE"
    done = await slack_flow(client)
    assert done.status == 200 and 'content="0;url=/?state=all"' in await done.text()
    assert (await approve(client, item_id)).status == 200
    assert store.get(item_id).decided_by == "web:abe"
    assert [c.method for c in slack.calls] == ["openid.connect.token", "openid.connect.userInfo"]
    assert "oidc-client-secret" not in str(store.audit_log())


@pytest.mark.parametrize(
    ("user", "decides"), [("U0LISTED", True), ("U0GROUPED", True), ("U0OTHER", False)]
)
async def test_slack_sign_in_without_account_follows_the_approver_list(
    make_client: MakeClient, store: SqliteStore, slack: FakeSlack, user: str, decides: bool
) -> None:
    slack.usergroups["S0GROUP"] = ["U0GROUPED"]
    item_id = seed_item(store)
    client = await slack_client(make_client, store, slack)
    slack.oidc_user = user
    assert (await slack_flow(client)).status == 200
    assert (await client.get("/", allow_redirects=False)).status == 200
    resp = await approve(client, item_id)
    assert (resp.status == 200) is decides, resp.status
    if decides:
        assert store.get(item_id).decided_by == f"slack:{user}"
    else:
        assert store.get(item_id).state is State.AWAITING_APPROVAL


async def test_slack_sign_in_refuses_a_forged_state(
    make_client: MakeClient, store: SqliteStore, slack: FakeSlack
) -> None:
    client = await slack_client(make_client, store, slack)
    slack.oidc_user = "U0LISTED"
    refused = await slack_flow(client, tamper_state=True)
    assert refused.status == 400 and "state does not match" in await refused.text()
    assert slack.calls_to("openid.connect.token") == []
    assert (await client.get("/", allow_redirects=False)).status == 303
    no_cookie = await client.get("/auth/slack/callback?code=x&state=y", allow_redirects=False)
    assert no_cookie.status == 400


async def test_slack_sign_in_refuses_another_workspace(
    make_client: MakeClient, store: SqliteStore, slack: FakeSlack
) -> None:
    client = await slack_client(make_client, store, slack)
    slack.oidc_team = "T0OTHER"
    refused = await slack_flow(client)
    assert refused.status == 403 and "another workspace" in await refused.text()
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_slack_sign_in_refuses_a_disabled_linked_account(
    make_client: MakeClient, store: SqliteStore, accounts: AccountService, slack: FakeSlack
) -> None:
    accounts.disable("abe", by="test")
    client = await slack_client(make_client, store, slack)
    slack.oidc_user = "U0ABE"
    assert (await slack_flow(client)).status == 403
    assert (await client.get("/", allow_redirects=False)).status == 303


def test_slack_sign_in_needs_a_workspace() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="team_id"):
        SlackSignInConfig(
            client_id="1",
            client_secret=SecretStr("s"),
            redirect_url="https://x.example/auth/slack/callback",
        )  # type: ignore[call-arg]


def test_sign_in_config_is_strict(tmp_path: Path) -> None:
    from repbot.config import load_config
    from repbot.errors import ConfigError

    path = tmp_path / "c.yaml"
    path.write_text(
        "sources:\n  - {name: d, type: demo}\napproval:\n  web:\n    brake_glass: true\n"
        "    slack_sign_in:\n      client_id: x\n      client_secret: s3cr3t-value\n"
        "      team_id: T0001\n      redirect_url: http://h/elsewhere\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = "\n".join(info.value.problems)
    assert (
        "approval.web.brake_glass (line 5): unknown key (did you mean 'break_glass'?)" in problems
    )
    assert "approval.web.slack_sign_in.redirect_url (line 10)" in problems
    assert "s3cr3t-value" not in problems
