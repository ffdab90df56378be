"""The web console: the approval queue as server-rendered HTML with a little progressive JS.

Security model: people sign in with a named account (``repbot users``; roles viewer < approver
< admin, enforced here on every request), with Slack (OpenID Connect, when configured) or, only
when ``approval.web.break_glass`` is on, with the shared token. On a loopback host with no
account and no break-glass token the console is open and acts as ``local``. A sign-in sets an
HMAC-signed, HttpOnly, SameSite=Strict cookie naming a server-side session (kept in the store,
so it survives a restart; logout, disabling the account or a password reset revokes it).
Failed logins are throttled per client address and per submitted name. Every form carries a
per-session CSRF token in a hidden field, checked on POST, and a POST whose ``Origin`` names
another host is refused. Hostile input (bad forms, ids, redirects, cookies) is answered 4xx.

Decisions follow the same rules as in Slack (:class:`~repbot.approval.service.ApprovalService`):
an account is the identity ``web:<name>``, a Slack sign-in without an account ``slack:<user id>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import jinja2
from aiohttp import web

from repbot.approval import render, web_actions, web_queue
from repbot.approval.accounts import Account, AccountService, Role
from repbot.approval.config import WebConfig
from repbot.approval.service import (
    ApprovalService,
    Request,
    Result,
    Verb,
    claim_age,
    state_word,
    web_identity,
)
from repbot.approval.sessions import LoginThrottle, Session, SessionStore
from repbot.approval.slack import SlackApproval
from repbot.approval.web_dashboard import SlaView, breached_first, countdown_text, countdowns
from repbot.classify.feedback import RELABELS
from repbot.errors import ConfigError, StoreError
from repbot.models import utcnow
from repbot.respond import limits
from repbot.store.base import Item, Store
from repbot.store.queueing import QueuePage, SearchError

_HERE = Path(__file__).parent
COOKIE = "repbot_session"
_SESSION_TTL = 7 * 24 * 3600
_STATE_FILTERS = web_queue.STATE_FILTERS
_CONSOLE_KEY: web.AppKey[Console] = web.AppKey("repbot_console")
_KEY_NAME = "console:key"
_ROLES = ("viewer", "approver", "admin")
log = logging.getLogger(__name__)
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
        server_host: str = "127.0.0.1",
    ) -> None:
        self.store, self.cfg, self.tz, self.slack = store, cfg, timezone, slack
        if service is None:
            service = (
                slack.service if slack else ApprovalService(store, web_approvers=cfg.approvers)
            )
        self.service = service
        self.on_decision = on_decision
        self.history_across_platforms = False  # see setup_console
        self.sla: SlaView | None = None  # countdowns (web_dashboard.attach)
        token = cfg.token.get_secret_value() if cfg.token is not None else None
        if token is not None and not token.strip():
            raise ConfigError(["approval.web.token: is empty; set a real token or remove the key"])
        self.token = token if cfg.break_glass else None
        if token is not None and not cfg.break_glass:
            log.warning("approval.web.token is set but break_glass is off: the token is ignored")
        if self.token is not None:
            log.warning("BREAK-GLASS console login is ON: the shared token signs in as admin")
        self.open_local = not console_requires_token(server_host) and self.token is None
        self.accounts = AccountService(store)
        self.sessions = SessionStore(store)
        self.throttle = LoginThrottle(clock=clock or time.monotonic)
        self.key = _console_key(store)
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
            claim_of=self.service.claim_of,
            undo_deadline=self.service.undo_deadline,
            claim_age=claim_age,
            now=self.service.now,
            bulk_reasons=web_actions.BULK_REASONS,
            relabels=RELABELS,
        )

    # sessions and CSRF
    def csrf_token(self, session: Session) -> str:
        """The CSRF token bound to ``session``."""
        return hmac.new(self.key, f"csrf|{session.sid}".encode(), hashlib.sha256).hexdigest()

    def _encode(self, session: Session) -> str:
        data = json.dumps([session.sid, "", session.authed, session.expires])
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
        return self._still_valid(live) if live else None

    def _still_valid(self, live: Session) -> Session | None:
        """``live`` with its account's current name and role; None (revoked) when the account
        is gone, disabled or reset, or the way it signed in is no longer configured."""
        if live.kind == "account" and live.user_id is not None:
            user = self.store.user_by_id(live.user_id)
            if user is not None and not user.disabled and user.session_epoch == live.epoch:
                return replace(live, name=user.name, role=user.role)
        elif live.kind in self._other_ways():
            return live
        self.sessions.revoke(live.sid)
        return None

    def _other_ways(self) -> set[str]:
        """Session kinds without an account that are still configured."""
        ways = {"break-glass"} if self.token is not None else set()
        return ways | ({"slack"} if self.cfg.slack_sign_in is not None else set())

    def _new_session(self, name: str = "", authed: bool = False) -> Session:
        return Session(secrets.token_urlsafe(16), name, authed, time.time() + _SESSION_TTL)

    def sign_in(self, request: web.Request, next_url: str, **who: Any) -> web.HTTPSeeOther:
        """A redirect to ``next_url`` carrying a new signed-in session for ``who`` (the
        :class:`Session` fields ``name``, ``kind``, ``user_id``, ``epoch``, ``role``)."""
        fresh = replace(self._new_session(authed=True), **who)
        self.sessions.add(fresh)
        response = web.HTTPSeeOther(next_url)
        self.set_cookie(request, response, fresh)
        return response

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

    def is_open(self) -> bool:
        """Whether the console is open without sign-in (loopback, no account, no break-glass)."""
        return self.open_local and not self.store.has_users()

    def account_of(self, session: Session) -> Account | None:
        """Who ``session`` is signed in as (``local`` on the open console), or None."""
        if session.authed:
            role: Role = session.role if session.role in _ROLES else "viewer"  # type: ignore[assignment]
            if session.kind == "account":
                return Account(session.name, role, "account", session.user_id)
            if session.kind == "slack":
                return Account(session.name, role, "slack", None, session.name[6:])
            return Account("break-glass", "admin", "break-glass")
        return Account("local", "admin", "local") if self.is_open() else None

    def account(self, request: web.Request) -> Account | None:
        """The account signed in on ``request`` (see :meth:`account_of`), or None."""
        return self.account_of(self.session(request)[0])

    def require_role(self, request: web.Request, role: Role) -> Account:
        """The signed-in account when its role grants ``role``: 401 (or a redirect to the
        login page) when nobody is signed in, 403 with the reason when the role is too low."""
        session, _ = self.require_login(request)
        account = self.account_of(session)
        if account is None:
            raise web.HTTPUnauthorized(text="login required")
        if not account.can(role):
            raise web.HTTPForbidden(
                text=f"Forbidden: this needs the {role} role; {account.name} is a {account.role}."
            )
        return account

    def logged_in(self, session: Session) -> bool:
        """Whether ``session`` is signed in, or the console is open."""
        return self.account_of(session) is not None

    def actor(self, session: Session) -> str:
        """Who acts, as the audit trail and decision history record it."""
        account = self.account_of(session)
        return account.actor if account else "web"

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
            account=self.account_of(session),
            login_required=not self.is_open(),
            user_logged_in=self.logged_in(session),
            slack_sign_in=self.cfg.slack_sign_in is not None,
            break_glass=self.token is not None,
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
        """The session, or a redirect to /login (401 for JSON) when nobody is signed in."""
        session, is_new = self.session(request)
        if not self.logged_in(session):
            if _wants_json(request):
                raise web.HTTPUnauthorized(text="login required")
            raise web.HTTPSeeOther(f"/login?{urlencode({'next': request.path_qs})}")
        return session, is_new

    async def index(self, request: web.Request) -> web.Response:
        """``GET /``: one page of the queue (most urgent first; newest first when searching).

        ``after`` continues after a page ("Load more"); ``partial=1`` answers only the list.
        """
        session, is_new = self.require_login(request)
        filters = _filters(request)
        after = web_queue.page_cursor(request)
        partial = bool(request.query.get("partial"))
        try:
            where = web_queue.queue_filter(filters)
            page = self.store.queue_page(where, after, web_queue.PAGE_SIZE)
        except SearchError as exc:
            if partial:
                raise web.HTTPBadRequest(text=str(exc)) from exc
            page, error = QueuePage([], None), str(exc)
        else:
            error = ""
        context = self._queue_context(page, filters, request)
        context["search_error"] = error
        response = self.page(
            request, session, is_new, "_list.html" if partial else "queue.html", **context
        )
        if error:
            response.set_status(400)
        return response

    def card_context(self, items: list[Item], filters: dict[str, str]) -> dict[str, Any]:
        """What ``_item.html`` needs to render ``items`` as cards of the list ``filters`` shows."""
        marks = countdowns(self.sla, items)
        items = breached_first(items, marks, self.sla)
        return {
            "items": items,
            "countdowns": marks,
            "countdown_text": countdown_text,
            "history": {i.id: self.store.decisions(i.id, limit=10) for i in items},
            "versions": {i.id: web_queue.card_version(i) for i in items},
            "left": set(),
            "filters": filters,
            "next_url": web_queue.list_url(filters),
        }

    def _queue_context(
        self, page: QueuePage, filters: dict[str, str], request: web.Request
    ) -> dict[str, Any]:
        facets = self.store.facets()
        return {
            **self.card_context(page.items, filters),
            "state_filters": _STATE_FILTERS,
            "platforms": facets.get("platform", []),
            "intents": facets.get("intent", []),
            "counts": self.store.counts(),
            "flash": request.query.get("flash", ""),
            "more_url": web_queue.more_url(filters, page.next),
            "since": web_queue.since_token(),
            "first_page": page_is_first(request),
        }

    async def item_page(self, request: web.Request) -> web.Response:
        """``GET /items/{id}``: one item with its full decision history and audit trail."""
        session, is_new = self.require_login(request)
        item = self._item(request)
        self.store.mark_first_look(item.id, utcnow())  # KPI: time to first look (issue 16)
        return self.page(
            request,
            session,
            is_new,
            "item.html",
            item=item,
            history={item.id: self.store.decisions(item.id)},
            customer=self.store.customer_history(
                item.id, limit=20, across_platforms=self.history_across_platforms
            ),
            audit=self.store.audit_log(item.id),
            revisions=self.store.revisions(item.id),
            conversation=self.store.conversation(item.id),
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
        """``POST /login``: check the account's password (or the break-glass token), start a
        signed-in session."""
        session, form = await self.check_post(request)
        next_url = _safe_next(form.get("next", "/"))
        name = _login_name(form.get("name", ""))
        address = request.remote or ""
        wait = self.throttle.retry_after(address, name)
        if wait:
            error = f"Too many failed logins; try again in {wait} s."
            return self._login_error(request, session, next_url, error, 429, wait)
        who = self._check_login(form, name)
        if who is None:
            self.throttle.failed(address, name)
            self.store.audit("console_login_failed", "web", None, name=name, remote=address)
            error = "Wrong name or password."
            return self._login_error(request, session, next_url, error, 401)
        self.throttle.succeeded(address, name)
        if who["kind"] == "break-glass":
            log.warning("BREAK-GLASS console login from %s (declared name %r)", address, name)
        self.store.audit("console_login", _actor_of(who), None, remote=address)
        raise self.sign_in(request, next_url, **who)

    def _check_login(self, form: dict[str, str], name: str) -> dict[str, Any] | None:
        """The session fields for a good sign-in, or None."""
        token = form.get("token", "")
        if "token" in form or name == "break-glass":
            secret = (token or form.get("password", "")).encode("utf-8", "replace")
            if self.token is not None and hmac.compare_digest(secret, self.token.encode()):
                return {"name": "break-glass", "kind": "break-glass", "role": "admin"}
            return None
        user = self.accounts.verify(name, form.get("password", ""))
        if user is None:
            return None
        return {"name": user.name, "kind": "account", "user_id": user.id,
                "epoch": user.session_epoch, "role": user.role}  # fmt: skip

    def _login_error(
        self,
        request: web.Request,
        session: Session,
        next_url: str,
        error: str,
        status: int,
        retry_after: int = 0,
    ) -> web.Response:
        response = self.page(request, session, False, "login.html", next_url=next_url, error=error)
        response.set_status(status)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        """``POST /logout``: end this session."""
        session, _ = await self.check_post(request)
        self.sessions.revoke(session.sid)
        response = web.HTTPSeeOther("/" if self.is_open() else "/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    async def decide(self, request: web.Request) -> web.Response:
        """``POST /items/{id}/{action}``: approve, edit, reject, snooze, mark as posted, undo,
        claim ("I'm on it") or take over."""
        session, form = await self.check_post(request)
        account = self.require_role(request, "approver")
        item = self._item(request)
        verb = request.match_info["action"]
        try:
            message = await self._apply(
                item, verb, form, self.actor(session), web_actions.linked_slack_id(self, account)
            )
        except ValueError as exc:
            return self._answer(request, form, str(exc), ok=False)
        return self._answer(request, form, message, ok=True)

    async def _apply(
        self,
        item: Item,
        verb: str,
        form: dict[str, str],
        name: str,
        slack_id: str | None = None,
    ) -> str:
        """Decide ``verb`` on ``item`` as the console user ``name`` (linked to the Slack user
        ``slack_id``, if any); the message to show.

        Raises ValueError with the reason when nothing was recorded.
        """
        result = await self.service.decide(self._request(item, verb, form, name, slack_id))
        await self.after(item.id, result)
        return _message(item.id, verb, result)

    async def after(self, item_id: int, result: Result) -> None:
        """Wake the poster and refresh the Slack message after a recorded change."""
        if result.changed:
            if result.outcome == "accepted" and self.on_decision is not None:
                self.on_decision(item_id)
            if self.slack is not None:
                await self.slack.refresh(item_id)

    def _request(
        self,
        item: Item,
        verb: str,
        form: dict[str, str],
        name: str,
        slack_id: str | None = None,
    ) -> Request:
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
        elif kind == "relabel":
            reason = form.get("label", "").strip() or None
        elif kind == "snooze":
            until = render.snooze_until(form.get("until", "1h"), self.tz)
        return Request(
            item.id,
            kind,
            name if name.startswith("slack:") else web_identity(name if name != "web" else ""),
            "web",
            actor=name,
            text=text,
            reason=reason,
            snooze_until=until,
            slack_id=slack_id,
            override=form.get("override") == "1",
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
    "undo": "Undone: #{id} is back in the queue with its edit.",
    "claim": "You are on #{id}.",
    "takeover": "You took over #{id}.",
    "relabel": "Relabelled #{id}: thank you, the intent model learns from it.",
}
_VERBS: dict[str, Verb] = {
    "approve": "approve",
    "edit": "edit",
    "reject": "reject",
    "snooze": "snooze",
    "posted": "posted_manually",
    "undo": "undo",
    "claim": "claim",
    "takeover": "takeover",
    "relabel": "relabel",
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
    done = _DONE[verb].format(id=item_id)
    if result.warnings:
        done += f" Guardrail override recorded: {'; '.join(result.warnings)}."
    return done


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


def _console_key(store: Store) -> bytes:
    """The key signing cookies and CSRF tokens, kept in the store so a restart keeps sessions."""
    stored = store.kv_get(_KEY_NAME)
    if stored is None or len(stored) != 64:
        stored = secrets.token_hex(32)
        store.kv_set(_KEY_NAME, stored)
    return bytes.fromhex(stored)


def _actor_of(who: dict[str, Any]) -> str:
    return f"web:{who['name']}" if who["kind"] == "account" else str(who["name"])


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
    return web_queue.parse_filters(request)


def console_of(app: web.Application) -> Console:
    """The console ``setup_console`` added to ``app``."""
    return app[_CONSOLE_KEY]


def page_is_first(request: web.Request) -> bool:
    """Whether ``request`` asks for the queue's first page (not a "Load more")."""
    return not request.query.get("after")


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
    history_across_platforms: bool = False,
) -> None:
    """Add the console's routes (``/``, ``/login``, ``/items/{id}`` …) to ``app``.

    ``history_across_platforms``: the item page's customer history also lists mentions on
    other platforms by the identical handle.

    ``on_decision(item_id)`` is called after every decision (e.g. to wake the poster);
    ``service`` holds the approval rules (see :class:`Console`);
    ``clock`` (monotonic seconds) drives the login throttle. Raises ConfigError when
    break-glass is on without a token, or the token is blank.
    """
    if not cfg.enabled:
        return
    if cfg.break_glass and cfg.token is None:
        raise ConfigError(["approval.web.token: required because approval.web.break_glass is on"])
    console = Console(
        store,
        cfg,
        timezone=timezone,
        slack=slack,
        on_decision=on_decision,
        clock=clock,
        service=service,
        server_host=server_host,
    )
    app[_CONSOLE_KEY] = console
    from repbot.approval.web_accounts import add_routes as add_account_routes

    add_account_routes(app, console)
    app.router.add_get("/", console.index)
    app.router.add_get("/login", console.login_page)
    app.router.add_post("/login", console.login)
    app.router.add_post("/logout", console.logout)
    app.router.add_get("/items/{id:\\d+}", console.item_page)
    console.history_across_platforms = history_across_platforms
    web_queue.add_queue_routes(app, console)
    web_actions.add_routes(app, console)
    app.router.add_post("/items/{id:\\d+}/{action}", console.decide)
    app.router.add_static("/static/", _HERE / "static")
