"""A local fake of the Slack Web API (and Socket Mode), for tests, demos and benchmarks.

Point ``slack_sdk.web.async_client.AsyncWebClient(base_url=fake.base_url)`` at it. It records
every call, answers in the shape of Slack's real responses and keeps the messages it was sent
(with their ``metadata``), so tests can assert what a channel would show, and serves them back
through ``conversations.history`` (newest first, ``oldest``/``latest``, ``limit`` and cursor
paging; metadata only with ``include_all_metadata``). ``stop()``/``start()`` on the same port
simulate Slack being unreachable and coming back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER = "UBOT0001"


@dataclass
class Call:
    """One Web API call the fake received."""

    method: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    """The fake server; use ``async with FakeSlack() as fake:`` or ``start()``/``stop()``."""

    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    history_max_limit: int = 999
    """The largest page ``conversations.history`` serves (Slack: 999; 15 for some apps)."""
    _errors: dict[str, list[str]] = field(default_factory=dict)
    _drops: dict[str, list[bool]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    oidc_user: str = "U0000OIDC"
    """Who "signs in with Slack" at the fake's authorize page (``/openid/connect/authorize``)."""
    oidc_team: str = "T0000001"
    _oidc: dict[str, dict[str, str]] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Files received through files_upload_v2, by file id (filename, data, title, channel)."""

    @property
    def base_url(self) -> str:
        """The ``api_base_url`` to configure (ends with a slash, like Slack's)."""
        return f"http://127.0.0.1:{self.port}/api/"

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1 (on the previous port after a ``stop()``)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/openid/connect/authorize", self._oidc_authorize)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr,attr-defined]

    async def stop(self) -> None:
        """Stop listening: clients now get connection errors."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self._errors.setdefault(method, []).extend([error] * times)

    def drop_next_response(self, method: str, times: int = 1, *, carry_out: bool = True) -> None:
        """Drop the connection of the next ``times`` calls of ``method`` unanswered, after
        carrying them out (or not, with ``carry_out=False``): the client cannot tell which."""
        self._drops.setdefault(method, []).extend([carry_out] * times)

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one API method, oldest first."""
        return [c for c in self.calls if c.method == method]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in ``channel`` (as last updated), oldest first."""
        return [m for (ch, _), m in sorted(self.messages.items()) if ch == channel]

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        if method == "openid.connect.userInfo":  # a user token, sent as a Bearer header
            args["token"] = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call(method, args))
        errors = self._errors.get(method)
        if errors:
            return web.json_response({"ok": False, "error": errors.pop(0)})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": True})
        drops = self._drops.get(method)
        carry_out = drops.pop(0) if drops else None
        answer = handler(args) if carry_out is not False else {}
        if carry_out is not None and request.transport is not None:
            request.transport.abort()
        return web.json_response(answer)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "repbot",
            "team_id": "T0000001",
            "user_id": BOT_USER,
            "bot_id": "B0000001",
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel")), self._next_ts()
        message = _message(args, ts)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = max(1, min(int(args.get("limit") or 100), self.history_max_limit))
        newest_first = sorted(
            (m for (ch, _), m in self.messages.items() if ch == channel),
            key=lambda m: _ts_key(m["ts"]),
            reverse=True,
        )
        try:
            latest = _cursor_ts(args.get("cursor")) or str(args.get("latest") or "")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return {"ok": False, "error": "invalid_cursor"}
        oldest = str(args.get("oldest") or "0")
        window = [
            m
            for m in newest_first
            if _ts_key(m["ts"]) > _ts_key(oldest)
            and (not latest or _ts_key(m["ts"]) < _ts_key(latest))
        ]
        page, more = window[:limit], len(window) > limit
        shown = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        next_cursor = _cursor(page[-1]["ts"]) if more else ""
        return {
            "ok": True,
            "messages": shown,
            "has_more": more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        message = _message(args, ts, self.messages[(channel, ts)])
        self.messages[(channel, ts)] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else dict(view or {})
        view.update(id=f"V{uuid.uuid4().hex[:10].upper()}", hash=f"{time.time():.0f}.fake")
        return {"ok": True, "view": view}

    # files.upload v2 (files_upload_v2): get an upload URL, POST the bytes, complete.
    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.uploads[file_id] = {"filename": args.get("filename"), "data": b""}
        url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
        return {"ok": True, "upload_url": url, "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404)
        self.uploads[file_id]["data"] = await request.read()
        return web.Response(text="OK - 200")

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        listed = args.get("files")
        listed = json.loads(listed) if isinstance(listed, str) else list(listed or [])
        shared = []
        for entry in listed:
            upload = self.uploads.get(str(entry.get("id")))
            if upload is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(
                title=entry.get("title"),
                channel=args.get("channel_id"),
                initial_comment=args.get("initial_comment"),
                thread_ts=args.get("thread_ts"),
            )
            shared.append({"id": entry["id"], "title": entry.get("title")})
        return {"ok": True, "files": shared}

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup"))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    async def _oidc_authorize(self, request: web.Request) -> web.Response:
        """Sign in as :attr:`oidc_user` at once and send the browser back with a code."""
        q = request.query
        code = f"code-{uuid.uuid4().hex[:12]}"
        self._oidc[code] = {
            "client_id": q.get("client_id", ""),
            "redirect_uri": q.get("redirect_uri", ""),
            "nonce": q.get("nonce", ""),
            "user": self.oidc_user,
        }
        state = q.get("state", "")
        raise web.HTTPFound(f"{q.get('redirect_uri', '')}?code={code}&state={state}")

    def _m_openid_connect_token(self, args: dict[str, Any]) -> dict[str, Any]:
        grant = self._oidc.pop(str(args.get("code")), None)  # a code works once
        if grant is None or grant["redirect_uri"] != args.get("redirect_uri"):
            return {"ok": False, "error": "invalid_code"}
        import jwt

        claims = {
            "iss": "https://slack.com",
            "sub": grant["user"],
            "aud": grant["client_id"],
            "nonce": grant["nonce"],
            "https://slack.com/user_id": grant["user"],
            "https://slack.com/team_id": self.oidc_team,
        }
        access = f"xoxp-oidc-{grant['user']}"
        id_token = jwt.encode(claims, "fake-slack-key-for-tests-only-32b", algorithm="HS256")
        return {"ok": True, "access_token": access, "token_type": "Bearer", "id_token": id_token}

    def _m_openid_connect_userInfo(self, args: dict[str, Any]) -> dict[str, Any]:
        token = str(args.get("token", ""))
        if not token.startswith("xoxp-oidc-"):
            return {"ok": False, "error": "invalid_auth"}
        user = token.removeprefix("xoxp-oidc-")
        return {
            "ok": True,
            "sub": user,
            "https://slack.com/user_id": user,
            "https://slack.com/team_id": self.oidc_team,
            "name": f"Person {user}",
        }

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
        self._sockets.remove(ws)
        return ws

    async def socket_send(self, payload: dict[str, Any], kind: str = "interactive") -> str:
        """Deliver an envelope over every open Socket Mode connection; returns its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind == "interactive",
        }
        for ws in self._sockets:
            await ws.send_json(envelope)
        return envelope_id

    async def wait_socket(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected."""
        deadline = time.monotonic() + timeout
        while not self._sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no socket mode connection")
            await asyncio.sleep(0.01)


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    body = await request.read()
    if not body:
        return args
    if request.content_type == "application/json":
        args.update(json.loads(body))
    else:
        args.update(parse_qsl(body.decode()))
    for key in ("blocks", "view", "metadata"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args


def _message(
    args: dict[str, Any], ts: str, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    message = {
        "type": "message",
        "user": BOT_USER,
        "bot_id": "B0000001",
        "app_id": "A0000001",
        "team": "T0000001",
        "ts": ts,
        "text": args.get("text", ""),
        "blocks": args.get("blocks", []),
    }
    metadata = args.get("metadata") or (previous or {}).get("metadata")
    if metadata:
        message["metadata"] = {
            "event_type": str(metadata.get("event_type", "")),
            "event_payload": dict(metadata.get("event_payload") or {}),
        }
    return message


def _ts_key(ts: str) -> tuple[int, int]:
    """A message ``ts`` (``seconds.micros``) as numbers, so comparisons are exact."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds or 0), int((fraction + "000000")[:6])


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(cursor: Any) -> str:
    if not cursor:
        return ""
    return base64.b64decode(str(cursor)).decode().removeprefix("next_ts:")


def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a signed request (``v0`` HMAC-SHA256 of the body)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def block_actions_payload(
    *,
    user: str,
    action_id: str,
    value: str,
    channel: str,
    message_ts: str,
    action_ts: str | None = None,
    selected: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` interaction in the shape Slack sends (see bolt's fixtures)."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": "b",
        "type": "static_select" if selected else "button",
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    if selected:
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": selected},
            "value": selected,
        }
    else:
        action["value"] = value
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0000001"},
        "api_app_id": "A0000001",
        "token": "verification_token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": f"{time.time():.0f}.1.{uuid.uuid4().hex[:8]}",
        "team": {"id": "T0000001", "domain": "fake"},
        "channel": {"id": channel, "name": "approvals"},
        "message": {"type": "message", "ts": message_ts, "text": ""},
        "response_url": "https://hooks.slack.com/actions/T0000001/1/x",
        "actions": [action],
    }


def view_submission_payload(
    *, user: str, view: dict[str, Any], value: str | None, view_id: str | None = None
) -> dict[str, Any]:
    """A ``view_submission`` for a modal whose single input holds ``value``."""
    submitted = dict(view)
    submitted["id"] = view_id or view.get("id") or f"V{uuid.uuid4().hex[:10].upper()}"
    state_values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            element = block["element"]
            state_values[block["block_id"]] = {
                element["action_id"]: {"type": element["type"], "value": value}
            }
    submitted["state"] = {"values": state_values}
    return {
        "type": "view_submission",
        "team": {"id": "T0000001", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0000001"},
        "api_app_id": "A0000001",
        "token": "verification_token",
        "trigger_id": f"{time.time():.0f}.2.{uuid.uuid4().hex[:8]}",
        "view": submitted,
        "response_urls": [],
    }
