"""The web console: the approval queue as server-rendered HTML with a little progressive JS.

Security model: when a token is configured (always when the server listens beyond loopback)
every page needs a login; the login sets an HMAC-signed, HttpOnly, SameSite=Strict cookie naming
a server-side session (kept in the store, so it survives a restart and logout revokes it).
Failed logins are throttled per client address and per submitted name. Every form carries a
per-session CSRF token in a hidden field, checked on POST, and a POST whose ``Origin`` names
another host is refused. Hostile input (bad forms, ids, redirects, cookies) is answered 4xx.

Decisions follow the same rules as in Slack (:class:`~repbot.approval.service.ApprovalService`):
a console user is the identity ``web:<login name>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import jinja2
from aiohttp import web

from repbot.approval import render
from repbot.approval.config import WebConfig
from repbot.approval.service import ApprovalService, Request, Result, Verb, state_word, web_identity
from repbot.approval.sessions import LoginThrottle, Session, SessionStore
from repbot.approval.slack import SlackApproval
from repbot.errors import ConfigError, StoreError
from repbot.models import State
from repbot.respond import limits
from repbot.store.base import Item, Store

_HERE = Path(__file__).parent
COOKIE = "repbot_session"
_SESSION_TTL = 7 * 24 * 3600
_STATE_FILTERS = ["awaiting_approval", "snoozed", "approved", "posted", "failed", "rejected", "all"]
_CONSOLE_KEY: web.AppKey[Console] = web.AppKey("repbot_console")
_NEXT = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")


def console_requires_token(host: str) -> bool:
    """Whether a console served on ``host`` must be protected by a token (not loopback)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain"):
        return False
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:
        return True


class Console:
    """Request handlers of the web console (see :func:`setup_console`).

    ``service`` holds the approval rules; without one, Slack's service is shared when ``slack``
    is given, else a service with ``cfg.approvers`` (and no two-person rule) is used.
    """

    def __init__(
        self,
        store: Store,
        cfg: WebConfig,
        *,
        timezone: str,
        slack: SlackApproval | None,
        on_decision: Callable[[int], None] | None = None,
        clock: Callable[[], float] | None = None,
        service: ApprovalService | None = None,
    ) -> None:
        self.store, self.cfg, self.tz, self.slack = store, cfg, timezone, slack
        if service is None:
            service = (
                slack.service if slack else ApprovalService(store, web_approvers=cfg.approvers)
            )
        self.service = service
        self.on_decision = on_decision
        token = cfg.token.get_secret_value() if cfg.token is not None else None
        if token is not None and not token.strip():
            raise ConfigError(["approval.web.token: is empty; set a real token or remove the key"])
        self.token = token
        self.sessions = SessionStore(store)
        self.throttle = LoginThrottle(clock=clock or time.monotonic)
        self.key = (
            hashlib.sha256(b"repbot-console|" + token.encode()).digest()
            if token
            else secrets.token_bytes(32)
        )
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            render=render,
            limits=limits,
            tz=timezone,
            asset_version=_asset_version(),
            first_approval=self.service.first_approval,
        )

    # sessions and CSRF
    def csrf_token(self, session: Session) -> str:
        """The CSRF token bound to ``session``."""
        return hmac.new(self.key, f"csrf|{session.sid}".encode(), hashlib.sha256).hexdigest()

    def _encode(self, session: Session) -> str:
        data = json.dumps([session.sid, session.name, session.authed, session.expires])
        body = base64.urlsafe_b64encode(data.encode()).decode()
        sig = hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{sig}"

    def _decode(self, raw: str | None) -> Session | None:
        if not raw or "." not in raw or not raw.isascii():
            return None
        body, sig = raw.rsplit(".", 1)
        good = hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig.encode(), good.encode()):
            return None
        try:
            sid, name, authed, expires = json.loads(base64.urlsafe_b64decode(body))
            session = Session(str(sid), str(name), authed is True, float(expires))
        except (ValueError, TypeError):
            return None
        if session.expires < time.time():
            return None
        if not session.authed:
            return session
        live = self.sessions.get(session.sid)
        return Session(session.sid, live[0], True, live[1]) if live else None

    def _new_session(self, name: str = "", authed: bool = False) -> Session:
        return Session(secrets.token_urlsafe(16), name, authed, time.time() + _SESSION_TTL)

    def session(self, request: web.Request) -> tuple[Session, bool]:
        """The visitor's session and whether it is new (its cookie must be set)."""
        found = self._decode(request.cookies.get(COOKIE))
        return (found, False) if found else (self._new_session(), True)

    def set_cookie(self, request: web.Request, response: web.StreamResponse, s: Session) -> None:
        """Store ``s`` in the signed, HttpOnly, SameSite=Strict session cookie."""
        response.set_cookie(
            COOKIE,
            self._encode(s),
            max_age=_SESSION_TTL,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )

    def logged_in(self, session: Session) -> bool:
        """No token configured means the (loopback-only) console is open."""
        return self.token is None or session.authed

    def actor(self, session: Session) -> str:
        """Who decided, as the decision history records it."""
        return session.name or "web"

    async def check_post(self, request: web.Request) -> tuple[Session, dict[str, str]]:
        """The session and form of a POST whose CSRF token and origin are valid."""
        session, _ = self.session(request)
        form = await _read_form(request)
        origin = request.headers.get("Origin")
        if origin and origin != "null" and not _same_host(origin, request.host):
            raise web.HTTPForbidden(text="cross-origin request refused")
        csrf = form.get("csrf", "").encode("utf-8", "replace")
        if not hmac.compare_digest(csrf, self.csrf_token(session).encode()):
            raise web.HTTPForbidden(text="invalid or missing CSRF token; reload the page")
        return session, form

    # pages
    def page(
        self,
        request: web.Request,
        session: Session,
        is_new: bool,
        template: str,
        **context: Any,
    ) -> web.Response:
        """Render ``template`` for ``session`` (setting its cookie if new)."""
        context.setdefault("flash", "")
        html = self.env.get_template(template).render(
            csrf=self.csrf_token(session),
            user=self.actor(session),
            login_required=self.token is not None,
            user_logged_in=self.logged_in(session),
            **context,
        )
        response = web.Response(text=html, content_type="text/html")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        )
        if is_new:
            self.set_cookie(request, response, session)
        return response

    def require_login(self, request: web.Request) -> tuple[Session, bool]:
        """The session, or a redirect to /login when a token is needed and absent."""
        session, is_new = self.session(request)
        if not self.logged_in(session):
            if _wants_json(request):
                raise web.HTTPUnauthorized(text="login required")
            raise web.HTTPSeeOther(f"/login?{urlencode({'next': request.path_qs})}")
        return session, is_new

    async def index(self, request: web.Request) -> web.Response:
        """``GET /``: the queue, most urgent first, with filters."""
        session, is_new = self.require_login(request)
        filters = _filters(request)
        states = None if filters["state"] == "all" else [State(filters["state"])]
        items = self.store.queue(
            states,
            platform=filters["platform"] or None,
            intent=filters["intent"] or None,
            limit=200,
        )
        context = self._queue_context(items, filters, request)
        template = "_list.html" if request.query.get("partial") else "queue.html"
        return self.page(request, session, is_new, template, **context)

    def _queue_context(
        self, items: list[Item], filters: dict[str, str], request: web.Request
    ) -> dict[str, Any]:
        everything = self.store.queue(None, limit=1000)
        return {
            "items": items,
            "history": {i.id: self.store.decisions(i.id, limit=10) for i in items},
            "filters": filters,
            "state_filters": _STATE_FILTERS,
            "platforms": sorted({i.mention.platform for i in everything}),
            "intents": sorted({i.intent for i in everything if i.intent}),
            "counts": self.store.counts(),
            "flash": request.query.get("flash", ""),
            "next_url": request.path_qs,
        }

    async def item_page(self, request: web.Request) -> web.Response:
        """``GET /items/{id}``: one item with its full decision history and audit trail."""
        session, is_new = self.require_login(request)
        item = self._item(request)
        return self.page(
            request,
            session,
            is_new,
            "item.html",
            item=item,
            history={item.id: self.store.decisions(item.id)},
            audit=self.store.audit_log(item.id),
            next_url=request.path_qs,
            flash=request.query.get("flash", ""),
        )

    def _item(self, request: web.Request) -> Item:
        try:
            return self.store.get(int(request.match_info["id"]))
        except (StoreError, ValueError, OverflowError) as exc:
            raise web.HTTPNotFound(text="no such item") from exc

    async def login_page(self, request: web.Request) -> web.Response:
        """``GET /login``."""
        session, is_new = self.session(request)
        next_url = _safe_next(request.query.get("next", "/"))
        if self.logged_in(session):
            raise web.HTTPSeeOther(next_url)
        return self.page(request, session, is_new, "login.html", next_url=next_url, error="")

    async def login(self, request: web.Request) -> web.Response:
        """``POST /login``: check the token, start an authenticated session."""
        session, form = await self.check_post(request)
        next_url = _safe_next(form.get("next", "/"))
        token = form.get("token", "").encode("utf-8", "replace")
        name = _login_name(form.get("name", ""))
        address = request.remote or ""
        wait = self.throttle.retry_after(address, name)
        if wait:
            error = f"Too many failed logins; try again in {wait} s."
            response = self.page(
                request, session, False, "login.html", next_url=next_url, error=error
            )
            response.set_status(429)
            response.headers["Retry-After"] = str(wait)
            return response
        if self.token is not None and not hmac.compare_digest(token, self.token.encode()):
            self.throttle.failed(address, name)
            self.store.audit("console_login_failed", "web", None, remote=request.remote)
            response = self.page(
                request, session, False, "login.html", next_url=next_url, error="Wrong token."
            )
            response.set_status(401)
            return response
        self.throttle.succeeded(address, name)
        fresh = self._new_session(name=name, authed=True)
        self.sessions.add(fresh)
        self.store.audit("console_login", name or "web", None)
        response = web.HTTPSeeOther(next_url)
        self.set_cookie(request, response, fresh)
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        """``POST /logout``."""
        session, _ = await self.check_post(request)
        self.sessions.revoke(session.sid)
        response = web.HTTPSeeOther("/login" if self.token else "/")
        response.del_cookie(COOKIE, path="/")
        raise response

    async def decide(self, request: web.Request) -> web.Response:
        """``POST /items/{id}/{action}``: approve, edit, reject, snooze or mark as posted."""
        session, form = await self.check_post(request)
        if not self.logged_in(session):
            raise web.HTTPUnauthorized(text="login required")
        item = self._item(request)
        verb = request.match_info["action"]
        try:
            message = await self._apply(item, verb, form, self.actor(session))
        except ValueError as exc:
            return self._answer(request, form, str(exc), ok=False)
        return self._answer(request, form, message, ok=True)

    async def _apply(self, item: Item, verb: str, form: dict[str, str], name: str) -> str:
        """Decide ``verb`` on ``item`` as the console user ``name``; the message to show.

        Raises ValueError with the reason when nothing was recorded.
        """
        result = await self.service.decide(self._request(item, verb, form, name))
        if result.changed:
            if result.outcome == "accepted" and self.on_decision is not None:
                self.on_decision(item.id)
            if self.slack is not None:
                await self.slack.refresh(item.id)
        return _message(item.id, verb, result)

    def _request(self, item: Item, verb: str, form: dict[str, str], name: str) -> Request:
        kind = _VERBS.get(verb)
        if kind is None:
            raise web.HTTPNotFound(text="unknown action")
        text = reason = until = None
        if kind == "edit":
            text = form.get("text", "").strip()
        elif kind == "reject":
            reason = form.get("reason", "").strip() or None
        elif kind == "posted_manually":
            reason = form.get("url", "").strip() or None
        elif kind == "snooze":
            until = render.snooze_until(form.get("until", "1h"), self.tz)
        return Request(
            item.id,
            kind,
            web_identity(name if name != "web" else ""),
            "web",
            actor=name,
            text=text,
            reason=reason,
            snooze_until=until,
        )

    def _answer(
        self, request: web.Request, form: dict[str, str], message: str, *, ok: bool
    ) -> web.Response:
        if _wants_json(request):
            return web.json_response({"ok": ok, "message": message}, status=200 if ok else 409)
        next_url = _safe_next(form.get("next", "/"))
        joiner = "&" if "?" in next_url else "?"
        raise web.HTTPSeeOther(f"{next_url}{joiner}{urlencode({'flash': message})}")


_DONE = {
    "approve": "Approved #{id}.",
    "edit": "Approved #{id} with your edits.",
    "reject": "Rejected #{id}.",
    "snooze": "Snoozed #{id}.",
    "posted": "Marked #{id} as posted.",
}
_VERBS: dict[str, Verb] = {
    "approve": "approve",
    "edit": "edit",
    "reject": "reject",
    "snooze": "snooze",
    "posted": "posted_manually",
}


def _message(item_id: int, verb: str, result: Result) -> str:
    """The flash message for ``result``; raises ValueError when nothing was recorded."""
    if result.outcome == "refused":
        raise ValueError(result.reason)
    if result.outcome == "already_decided":
        who = result.decided_by or "someone"
        raise ValueError(
            f"#{item_id} was already {state_word(result.state)} by {who};"
            " it cannot be decided again."
        )
    if result.outcome == "pending":
        return f"First approval of #{item_id} recorded; it needs a second approver."
    return _DONE[verb].format(id=item_id)


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted((_HERE / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _safe_next(value: str) -> str:
    """``value`` when it is a plain local path (and query), else ``/``."""
    try:
        decoded = unquote(value, errors="strict")
    except UnicodeDecodeError:
        return "/"
    if (
        not _NEXT.fullmatch(value)
        or decoded.startswith("//")
        or "\\" in decoded
        or not decoded.isprintable()
    ):
        return "/"
    parts = urlsplit(value)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("flash="))
    return parts.path + (f"?{query}" if query else "")


def _login_name(raw: str) -> str:
    """The self-declared name recorded with decisions: printable, and never a Slack identity."""
    name = "".join(ch for ch in raw if ch.isprintable() and ch != "+").strip()[:60]
    return f"web:{name}" if name.casefold().startswith("slack:") else name


async def _read_form(request: web.Request) -> dict[str, str]:
    """The POSTed form's text fields; 400 when the body cannot be read as a form."""
    try:
        data = await request.post()
    except (ValueError, LookupError, UnicodeError, AssertionError) as exc:
        raise web.HTTPBadRequest(text="unreadable form") from exc
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _same_host(origin: str, host: str) -> bool:
    try:
        return urlsplit(origin).netloc == host
    except ValueError:
        return False


def _filters(request: web.Request) -> dict[str, str]:
    state = request.query.get("state", "awaiting_approval")
    if state not in _STATE_FILTERS:
        state = "awaiting_approval"
    return {
        "state": state,
        "platform": request.query.get("platform", ""),
        "intent": request.query.get("intent", ""),
    }


def setup_console(
    app: web.Application,
    store: Store,
    cfg: WebConfig,
    *,
    server_host: str,
    timezone: str = "UTC",
    slack: SlackApproval | None = None,
    on_decision: Callable[[int], None] | None = None,
    clock: Callable[[], float] | None = None,
    service: ApprovalService | None = None,
) -> None:
    """Add the console's routes (``/``, ``/login``, ``/items/{id}`` …) to ``app``.

    ``on_decision(item_id)`` is called after every decision (e.g. to wake the poster);
    ``service`` holds the approval rules (see :class:`Console`);
    ``clock`` (monotonic seconds) drives the login throttle. Raises ConfigError when the
    console would be reachable beyond loopback without a token, or the token is blank.
    """
    if not cfg.enabled:
        return
    if console_requires_token(server_host) and cfg.token is None:
        raise ConfigError(
            [f"approval.web.token: required because server.host {server_host!r} is not loopback"]
        )
    console = Console(
        store,
        cfg,
        timezone=timezone,
        slack=slack,
        on_decision=on_decision,
        clock=clock,
        service=service,
    )
    app[_CONSOLE_KEY] = console
    app.router.add_get("/", console.index)
    app.router.add_get("/login", console.login_page)
    app.router.add_post("/login", console.login)
    app.router.add_post("/logout", console.logout)
    app.router.add_get("/items/{id:\\d+}", console.item_page)
    app.router.add_post("/items/{id:\\d+}/{action}", console.decide)
    app.router.add_static("/static/", _HERE / "static")
