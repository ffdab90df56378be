"""Who gets in: console sessions, login throttling, redirects, and hostile HTTP input.

Everything goes over real HTTP on loopback (aiohttp's test server, real client sessions); the
login throttle's clock is injected so no test sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from yarl import URL

from repbot.approval import blocks
from repbot.approval.config import SlackConfig, WebConfig
from repbot.approval.slack import SlackApproval
from repbot.approval.web import COOKIE, setup_console
from repbot.errors import ConfigError
from repbot.models import State
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.slack import FakeSlack, block_actions_payload, sign

TOKEN = "s3cret-console-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


class Clock:
    """A hand-driven monotonic clock for the login throttle."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "repbot.db")


@pytest.fixture
async def make_client(store: SqliteStore) -> AsyncIterator[MakeClient]:
    clients: list[Client] = []

    async def make(token: str | None = TOKEN, host: str = "127.0.0.1", **kw: Any) -> Client:
        app = web.Application()
        secret = SecretStr(token) if token is not None else None
        cfg = WebConfig(enabled=True, token=secret, break_glass=token is not None)
        setup_console(app, store, cfg, server_host=host, **kw)
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


async def login_csrf(session: aiohttp.ClientSession | Client, url: Any = "/login") -> str:
    async with session.get(url) as resp:
        assert resp.status == 200
        return csrf_of(await resp.text())


async def login(client: Client, token: str = TOKEN, name: str = "alice", **form: str) -> Any:
    csrf = await login_csrf(client)
    data = {"csrf": csrf, "token": token, "name": name, "next": "/", **form}
    return await client.post("/login", data=data, allow_redirects=False)


def cookie_value(client: Client) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == COOKIE)


# 1. logout revokes the session


async def test_logout_revokes_a_copied_cookie(make_client: MakeClient) -> None:
    client = await make_client()
    assert (await login(client)).status == 303
    copied = {"Cookie": f"{COOKIE}={cookie_value(client)}"}
    html = await (await client.get("/")).text()
    logout = await client.post("/logout", data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert logout.status == 303
    client.session.cookie_jar.clear()
    replay = await client.get("/", headers=copied, allow_redirects=False)
    assert replay.status == 303 and replay.headers["Location"].startswith("/login")
    api = await client.get("/", headers={**copied, "Accept": "application/json"})
    assert api.status == 401


async def test_sessions_survive_a_restart_and_revocations_too(
    make_client: MakeClient, store: SqliteStore
) -> None:
    first = await make_client()
    await login(first, name="alice")
    kept = {"Cookie": f"{COOKIE}={cookie_value(first)}"}
    second_login = await make_client()
    await login(second_login, name="bob")
    revoked = {"Cookie": f"{COOKIE}={cookie_value(second_login)}"}
    html = await (await second_login.get("/")).text()
    await second_login.post("/logout", data={"csrf": csrf_of(html)})

    restarted = await make_client()  # a new Console on the same store: a daemon restart
    restarted.session.cookie_jar.clear()
    page = await restarted.get("/", headers=kept, allow_redirects=False)
    assert page.status == 200 and "break-glass" in await page.text()
    refused = await restarted.get("/", headers=revoked, allow_redirects=False)
    assert refused.status == 303


async def test_decisions_refuse_a_revoked_session(
    make_client: MakeClient, store: SqliteStore
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    await login(client)
    copied = {"Cookie": f"{COOKIE}={cookie_value(client)}"}
    csrf = csrf_of(await (await client.get("/")).text())
    await client.post("/logout", data={"csrf": csrf})
    client.session.cookie_jar.clear()
    resp = await client.post(f"/items/{item_id}/approve", data={"csrf": csrf}, headers=copied)
    assert resp.status in (401, 403)
    assert store.get(item_id).state is State.AWAITING_APPROVAL


# 2. login throttling


async def test_thirty_fast_wrong_guesses_are_throttled_after_five(
    make_client: MakeClient, store: SqliteStore
) -> None:
    clock = Clock()
    client = await make_client(clock=clock)
    csrf = await login_csrf(client)
    data = {"csrf": csrf, "token": "guess", "name": "alice", "next": "/"}
    answers = await asyncio.gather(
        *(client.post("/login", data=data, allow_redirects=False) for _ in range(30))
    )
    statuses = sorted(a.status for a in answers)
    assert statuses == [401] * 5 + [429] * 25
    throttled = [a for a in answers if a.status == 429]
    assert all(int(a.headers["Retry-After"]) > 0 for a in throttled)
    failures = [e for e in store.audit_log() if e["event"] == "console_login_failed"]
    assert len(failures) == 5  # the 25 throttled attempts never reached the token check

    right = await client.post("/login", data={**data, "token": TOKEN}, allow_redirects=False)
    assert right.status == 429  # not even the right token is checked while locked out
    clock.now += int(throttled[0].headers["Retry-After"]) + 1
    assert (await client.post("/login", data={**data, "token": TOKEN})).status == 200


async def _client_from(address: str) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _guess(session: aiohttp.ClientSession, base: URL, name: str, token: str) -> int:
    csrf = await login_csrf(session, base / "login")
    data = {"csrf": csrf, "token": token, "name": name, "next": "/"}
    async with session.post(base / "login", data=data, allow_redirects=False) as resp:
        return resp.status


async def test_throttle_is_per_name_across_addresses_and_per_address_across_names(
    make_client: MakeClient,
) -> None:
    client = await make_client(clock=Clock())
    base = client.make_url("/")
    sessions = [await _client_from(f"127.0.0.{n}") for n in range(2, 10)]
    try:
        spread = [await _guess(s, base, "Alice", "bad") for s in sessions[:5]]
        assert spread == [401] * 5
        assert await _guess(sessions[5], base, "alice", TOKEN) == 429  # name locked everywhere
        assert await _guess(sessions[5], base, "bob", TOKEN) == 303  # that address is fine

        rotating = [await _guess(sessions[6], base, f"user{n}", "bad") for n in range(7)]
        assert rotating == [401] * 5 + [429] * 2  # address locked whatever the name
        assert await _guess(sessions[7], base, "carol", TOKEN) == 303
    finally:
        for s in sessions:
            await s.close()


def test_throttle_table_memory_is_bounded() -> None:
    from repbot.approval.sessions import LoginThrottle

    clock = Clock()
    throttle = LoginThrottle(clock=clock, max_entries=100)
    for n in range(5000):
        throttle.failed(f"10.0.{n // 250}.{n % 250}", f"name{n}")
    assert len(throttle) <= 100
    for _ in range(5):
        throttle.failed("192.0.2.1", "x")
    for n in range(40):  # newer failures push out the least recently failed keys first
        throttle.failed(f"198.51.100.{n}", f"y{n}")
    assert len(throttle) == 100
    assert throttle.retry_after("192.0.2.1", "other") > 0
    assert throttle.retry_after("10.0.19.249", "name4999") == 0  # forgotten, not locked


# 3. next= is always a safe, local redirect

HOSTILE_NEXT = [
    "/%0d%0aSet-Cookie:%20x=1",
    "/%0D%0ALocation:%20https://evil.example",
    "/%00",
    "%0d%0a",
    "/%E2%80%A8evil",  # U+2028 line separator
    "/%E2%80%A9",  # U+2029 paragraph separator
    "/%C2%85",  # NEL
    "/%09/evil.example",
    "//evil.example",
    "/%5Cevil.example",  # /\evil
    "/%5C%5Cevil.example",
    "https://evil.example",
    "%2F%2Fevil.example",
    "/%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "/%FF",
]


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
async def test_hostile_next_redirects_home(make_client: MakeClient, hostile: str) -> None:
    open_console = await make_client(token=None)
    url = URL(f"/login?next={hostile}", encoded=True)
    resp = await open_console.get(url, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"

    client = await make_client()
    csrf = await login_csrf(client)
    form = f"csrf={csrf}&token={TOKEN}&name=a&next={hostile}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await client.post("/login", data=form, headers=headers, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert list(resp.headers.getall("Set-Cookie")) and "x=1" not in str(resp.headers)


async def test_ordinary_next_is_kept(make_client: MakeClient) -> None:
    client = await make_client(token=None)
    url = URL("/login?next=%2Fitems%2F3%3Fstate%3Dall%26flash%3Dx", encoded=True)
    resp = await client.get(url, allow_redirects=False)
    assert resp.headers["Location"] == "/items/3?state=all"


# 4. /slack/events never answers 5xx to malformed input


@pytest.fixture
async def slack_client(tmp_path: Path) -> AsyncIterator[tuple[Client, SqliteStore]]:
    store = SqliteStore(tmp_path / "slack.db")
    async with FakeSlack() as fake:
        cfg = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-test-token"),
            signing_secret=SecretStr(SECRET),
            channel="CAPPROVE",
            api_base_url=fake.base_url,
        )
        slack = SlackApproval(cfg, store)
        app = web.Application()
        app.router.add_post("/slack/events", slack.handle_http)
        async with TestClient(TestServer(app)) as client:
            yield client, store
        await slack.stop()
    store.close()


def signed(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
        "Content-Type": content_type,
    }


FORM, JSON = "application/x-www-form-urlencoded", "application/json"
MULTI = "multipart/form-data"
MALFORMED_SIGNED = [
    (b"[1, 2]", JSON),
    (b"{nope", JSON),
    (b'"just a string"', JSON),
    (b"42", JSON),
    (b"null", JSON),
    (b"\xff\xfe{}", JSON),
    (b"payload=%7Bnope", FORM),
    (b"payload=%5B1%5D", FORM),
    (b"payload=%22x%22", FORM),
    (b"payload=%FF", FORM),
    (b"payload=", FORM),
    (b'{"type": "block_actions", "team": "x", "user": 5}', JSON),
    (b'{"type": "view_submission", "view": "x"}', JSON),
    (b'{"type": "block_actions", "actions": "x"}', JSON),
    (b'{"type": "block_actions", "actions": [5]}', JSON),
    (b'{"authorizations": [5]}', JSON),
    (b'{"authorizations": []}', JSON),
    (b'{"enterprise": 5, "team": [1]}', JSON),
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_SIGNED)
async def test_malformed_signed_slack_payload_is_4xx(
    slack_client: tuple[Client, SqliteStore], body: bytes, content_type: str
) -> None:
    client, _ = slack_client
    resp = await client.post("/slack/events", data=body, headers=signed(body, content_type))
    assert 400 <= resp.status < 500 or resp.status == 200, resp.status


BAD_TIMESTAMPS = ["abc", "nan", "1e9", " 1", "-1", "١٢٣", "99999999999999999999", ""]


@pytest.mark.parametrize("timestamp", BAD_TIMESTAMPS)
async def test_bad_slack_timestamp_is_401(
    slack_client: tuple[Client, SqliteStore], timestamp: str
) -> None:
    client, _ = slack_client
    body = "payload=%7B%7D"
    headers = {**sign(SECRET, body), "X-Slack-Request-Timestamp": timestamp}
    resp = await client.post("/slack/events", data=body, headers=headers)
    assert resp.status == 401


@pytest.mark.parametrize("signature", ["", "v0=", "v0=\u00e9\u00e9", "v1=00", "v0=" + "0" * 64])
async def test_bad_slack_signature_is_401(
    slack_client: tuple[Client, SqliteStore], signature: str
) -> None:
    client, _ = slack_client
    body = "payload=%7B%7D"
    headers = {**sign(SECRET, body), "X-Slack-Signature": signature}
    resp = await client.post("/slack/events", data=body, headers=headers)
    assert resp.status == 401


async def test_slack_signed_click_still_decides(slack_client: tuple[Client, SqliteStore]) -> None:
    client, store = slack_client
    item_id = seed_item(store)
    payload = block_actions_payload(
        user="U1", action_id=blocks.ACTION_APPROVE, value=str(item_id), channel="C", message_ts="1"
    )
    body = "payload=" + quote(json.dumps(payload), safe="")
    resp = await client.post("/slack/events", data=body, headers=sign(SECRET, body))
    assert resp.status == 200
    for _ in range(200):  # hang guard: the decision is made right after the ack
        if store.get(item_id).state is State.APPROVED:
            break
        await asyncio.sleep(0.01)
    assert store.get(item_id).state is State.APPROVED


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
slack_keys = st.sampled_from(
    ["type", "user", "team", "actions", "view", "container", "enterprise", "authorizations"]
)
slack_like = st.dictionaries(slack_keys, json_values, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        slack_like.map(lambda v: json.dumps(v).encode()),
        slack_like.map(lambda v: b"payload=" + quote(json.dumps(v)).encode()),
    ),
    content_type=st.sampled_from([FORM, JSON, "text/plain", "application/json; charset=bogus"]),
    sign_it=st.booleans(),
    timestamp=st.one_of(st.none(), header_text),
)
async def test_fuzzed_slack_requests_never_answer_5xx(
    slack_client: tuple[Client, SqliteStore],
    body: bytes,
    content_type: str,
    sign_it: bool,
    timestamp: str | None,
) -> None:
    client, _ = slack_client
    headers = signed(body, content_type) if sign_it else {"Content-Type": content_type}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    resp = await client.post("/slack/events", data=body, headers=headers)
    assert resp.status < 500, (body, headers, resp.status)


# 5. every console route answers hostile input with 4xx, never 5xx

HOSTILE_GETS = [
    "/?state=nonsense",
    "/?page=abc",
    "/?platform=%00&intent=%FF",
    "/?flash=%ED%A0%80",
    "/?state=%ED%A0%80&partial=%00",
    "/items/abc",
    "/items/-1",
    "/items/0",
    "/items/99999999999999999999999999999",
    "/items/%D9%A1",  # Arabic-Indic digit one
    "/items/1/approve",
    "/login?next=%ED%A0%80",
    "/static/..%2F..%2Fweb.py",
    "/static/%00",
]


async def _logged_in(make_client: MakeClient) -> tuple[Client, str]:
    client = await make_client()
    await login(client)
    return client, csrf_of(await (await client.get("/")).text())


@pytest.mark.parametrize("path", HOSTILE_GETS)
async def test_hostile_gets_never_answer_5xx(
    make_client: MakeClient, store: SqliteStore, path: str
) -> None:
    seed_item(store)
    client, _ = await _logged_in(make_client)
    resp = await client.get(URL(path, encoded=True), allow_redirects=False)
    assert resp.status < 500, resp.status
    if path.startswith("/items/9999"):
        assert resp.status == 404


def _hostile_posts(item_id: int, csrf: str) -> list[tuple[str, bytes, dict[str, str]]]:
    form = {"Content-Type": FORM}
    ok = f"csrf={csrf}".encode()
    return [
        (f"/items/{item_id}/approve", b"", form),
        (f"/items/{item_id}/explode", ok, form),
        (f"/items/{item_id}/edit", ok, form),
        (f"/items/{item_id}/snooze", ok + b"&until=%00", form),
        (f"/items/{item_id}/snooze", ok + b"&until=99999999999d", form),
        (f"/items/{item_id}/edit", ok + b"&text=%ED%A0%80", form),
        (f"/items/{item_id}/reject", ok + b"&reason=%FF%FE", form),
        (f"/items/{item_id}/reject", b"csrf=%FF%FE", form),
        (f"/items/{item_id}/reject", "csrf=é".encode(), form),
        (f"/items/{item_id}/reject", ok + b"&r=\xff\xfe", form),
        (f"/items/{item_id}/reject", ok, {"Content-Type": f"{FORM}; charset=bogus"}),
        (f"/items/{item_id}/reject", ok, {"Content-Type": f"{FORM}; charset=utf-16"}),
        (f"/items/{item_id}/reject", ok, {"Content-Type": "multipart/form-data"}),
        (f"/items/{item_id}/reject", b"--x\r\n\r\n", {"Content-Type": f"{MULTI}; boundary=x"}),
        (f"/items/{item_id}/reject", ok, {**form, "Origin": "http://["}),
        (f"/items/{item_id}/reject", ok, {**form, "Origin": "\u00e9"}),
        (f"/items/{item_id}/reject", b"x" * (2 * 1024 * 1024), form),
        ("/items/99999999999999999999999/approve", ok, form),
        ("/login", ok + b"&token=%ED%A0%80&name=%00", form),
        ("/login", ok + b"&token=\xff&name=\xff", form),
        ("/logout", b"csrf=%00", form),
    ]


async def test_hostile_posts_never_answer_5xx(make_client: MakeClient, store: SqliteStore) -> None:
    item_id = seed_item(store)
    client, csrf = await _logged_in(make_client)
    statuses = []
    for path, body, headers in _hostile_posts(item_id, csrf):
        resp = await client.post(path, data=body, headers=headers, allow_redirects=False)
        statuses.append((path, headers.get("Content-Type"), resp.status))
    server_errors = [s for s in statuses if s[2] >= 500]
    assert not server_errors, server_errors


async def test_hostile_cookies_are_no_login(make_client: MakeClient) -> None:
    client = await make_client()
    await login(client)
    good = cookie_value(client)
    client.session.cookie_jar.clear()
    for value in ("x.\u00e9", ".", "a.b.c", "\u00e9\u00e9.00", good + "\u00e9", "%ff.%ff", ""):
        resp = await client.get("/", headers={"Cookie": f"{COOKIE}={value}"}, allow_redirects=False)
        assert resp.status == 303, (value, resp.status)


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("al\x00ice\u2028", "break-glass"),
        ("slack:UBOSS", "break-glass"),
        ("a+slack:U1", "break-glass"),
    ],
)
async def test_login_name_cannot_pose_as_a_slack_user(
    make_client: MakeClient, store: SqliteStore, typed: str, recorded: str
) -> None:
    item_id = seed_item(store)
    client = await make_client()
    await login(client, name=typed)
    csrf = csrf_of(await (await client.get("/")).text())
    await client.post(f"/items/{item_id}/approve", data={"csrf": csrf})
    assert store.get(item_id).decided_by == recorded


# 6. an empty or blank token never means "no token"


@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_blank_token_is_a_config_error(store: SqliteStore, blank: str, host: str) -> None:
    cfg = WebConfig.model_construct(enabled=True, token=SecretStr(blank))  # past validation
    with pytest.raises(ConfigError, match=r"approval\.web\.token") as raised:
        setup_console(web.Application(), store, cfg, server_host=host)
    assert "empty" in str(raised.value)


def test_blank_token_never_opens_the_console_directly(store: SqliteStore) -> None:
    from repbot.approval.web import Console

    with pytest.raises(ConfigError, match=r"approval\.web\.token"):
        cfg = WebConfig.model_construct(enabled=True, token=SecretStr(" "))
        Console(store, cfg, timezone="UTC", slack=None)
