"""Console pages for accounts: the admins' users page and "Sign in with Slack" (OpenID Connect).

Sign in with Slack: ``GET /auth/slack`` sends the browser to Slack's authorize page with a
random ``state`` and ``nonce``, both kept in a short-lived signed cookie (SameSite=Lax, since
the way back is a cross-site redirect); ``GET /auth/slack/callback`` refuses a state that does
not match, exchanges the code (``openid.connect.token``), checks the ID token's nonce, audience
and workspace, reads the user (``openid.connect.userInfo``) and signs in the account linked to
that Slack user, or else the Slack user itself with the role the Slack approver list gives
(approver when listed, directly or through a user group; viewer otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from markupsafe import escape
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator
from slack_sdk.web.async_client import AsyncWebClient

from repbot.approval.accounts import ROLES, AccountError, generate_password
from repbot.approval.config import SlackSignInConfig
from repbot.models import utcnow

if TYPE_CHECKING:
    from repbot.approval.web import Console

log = logging.getLogger(__name__)
OIDC_COOKIE = "repbot_oidc"
_OIDC_TTL = 600
_PAGE = 50


def add_routes(app: web.Application, console: Console) -> None:
    """Register the users page and, when configured, Sign in with Slack."""
    users = UsersPages(console)
    app.router.add_get("/users", users.index)
    app.router.add_post("/users", users.add)
    app.router.add_post("/users/{name}/{action}", users.change)
    if console.cfg.slack_sign_in is not None:
        slack = SlackSignIn(console, console.cfg.slack_sign_in)
        app.router.add_get("/auth/slack", slack.start)
        app.router.add_get("/auth/slack/callback", slack.callback)


class UsersPages:
    """``/users``: admins list, add, disable, enable and reset accounts."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def index(self, request: web.Request) -> web.Response:
        """``GET /users``: one page of accounts (``?after=<id>`` for the next)."""
        self.console.require_role(request, "admin")
        return self._page(request, flash=request.query.get("flash", ""))

    async def add(self, request: web.Request) -> web.Response:
        """``POST /users``: create an account."""
        form = await self._admin_form(request)
        by = self._by(request)
        try:
            self.console.accounts.add(
                form.get("name", ""),
                form.get("password", ""),
                form.get("role", "viewer"),
                slack_user_id=form.get("slack_user_id") or None,
                by=by,
            )
        except AccountError as exc:
            return self._page(request, flash=str(exc), status=400)
        raise _back(f"Added {form.get('name', '').strip().lower()}.")

    async def change(self, request: web.Request) -> web.Response:
        """``POST /users/{name}/disable|enable|reset``."""
        await self._admin_form(request)
        name, action = request.match_info["name"], request.match_info["action"]
        accounts, by = self.console.accounts, self._by(request)
        try:
            if action == "disable":
                accounts.disable(name, by=by)
            elif action == "enable":
                accounts.enable(name, by=by)
            elif action == "reset":
                password = generate_password()
                user = accounts.reset(name, password, by=by)
                return self._page(request, new_password=(user.name, password))
            else:
                raise web.HTTPNotFound(text="unknown action")
        except AccountError as exc:
            return self._page(request, flash=str(exc), status=400)
        raise _back(f"{action.capitalize()}d {name.lower()}.")

    async def _admin_form(self, request: web.Request) -> dict[str, str]:
        _, form = await self.console.check_post(request)
        self.console.require_role(request, "admin")
        return form

    def _by(self, request: web.Request) -> str:
        account = self.console.account(request)
        return account.actor if account else "web"

    def _page(
        self,
        request: web.Request,
        *,
        flash: str = "",
        status: int = 200,
        new_password: tuple[str, str] | None = None,
    ) -> web.Response:
        session, is_new = self.console.session(request)
        try:
            after = min(max(0, int(request.query.get("after", "0"))), 2**63 - 1)
        except ValueError:
            after = 0
        users = self.console.accounts.list(after, _PAGE + 1)
        response = self.console.page(
            request,
            session,
            is_new,
            "users.html",
            users=users[:_PAGE],
            more=users[_PAGE - 1].id if len(users) > _PAGE else None,
            roles=ROLES,
            flash=flash,
            new_password=new_password,
        )
        response.set_status(status)
        return response


def _back(flash: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/users?{urlencode({'flash': flash})}")


class SlackSignIn:
    """Sign in with Slack for ``console`` (see the module docstring)."""

    def __init__(self, console: Console, cfg: SlackSignInConfig) -> None:
        self.console, self.cfg = console, cfg
        self.urls = OpenIDConnectAuthorizeUrlGenerator(
            client_id=cfg.client_id,
            redirect_uri=cfg.redirect_url,
            scopes=["openid", "profile"],
            authorization_url=cfg.authorize_url,
        )

    async def start(self, request: web.Request) -> web.Response:
        """``GET /auth/slack``: off to Slack's authorize page."""
        from repbot.approval.web import _safe_next

        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        next_url = _safe_next(request.query.get("next", "/"))
        cookie = self._sign(
            {"state": state, "nonce": nonce, "next": next_url, "exp": time.time() + _OIDC_TTL}
        )
        response = web.HTTPFound(self.urls.generate(state, nonce=nonce, team=self.cfg.team_id))
        response.set_cookie(
            OIDC_COOKIE,
            cookie,
            max_age=_OIDC_TTL,
            path="/auth/slack",
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )
        raise response

    async def callback(self, request: web.Request) -> web.Response:
        """``GET /auth/slack/callback``: check, exchange, map, sign in."""
        pending = self._unsign(request.cookies.get(OIDC_COOKIE))
        state = request.query.get("state", "").encode("utf-8", "replace")
        if pending is None or not hmac.compare_digest(state, str(pending["state"]).encode()):
            self.console.store.audit("console_login_failed", "slack", None, reason="state")
            raise web.HTTPBadRequest(text="Sign-in with Slack refused: the state does not match")
        if "code" not in request.query:
            raise web.HTTPBadRequest(text="Sign-in with Slack was cancelled or refused by Slack")
        user_id = await self._slack_user(request.query["code"], str(pending["nonce"]))
        who = await self._session_for(user_id)
        self.console.store.audit("console_login", _actor(who), None, via="slack")
        redirect = self.console.sign_in(request, str(pending["next"]), **who)
        return _continue(redirect)

    async def _slack_user(self, code: str, nonce: str) -> str:
        """The Slack user id behind ``code``; 403 when the answer does not hold up."""
        client = AsyncWebClient(base_url=self._api_base())
        secret = self.cfg.client_secret.get_secret_value()
        try:
            token = await client.openid_connect_token(
                client_id=self.cfg.client_id,
                client_secret=secret,
                code=code,
                redirect_uri=self.cfg.redirect_url,
            )
            claims = self._claims(str(token.get("id_token", "")), nonce)
            info = await client.openid_connect_userInfo(token=str(token["access_token"]))
        except (SlackApiError, SlackClientError, KeyError) as exc:
            log.warning("Sign in with Slack failed: %s", type(exc).__name__)
            raise web.HTTPForbidden(text="Sign-in with Slack failed; try again") from exc
        user_id = str(info.get("https://slack.com/user_id") or info.get("sub") or "")
        if not user_id or user_id != claims.get("https://slack.com/user_id", user_id):
            raise web.HTTPForbidden(text="Sign-in with Slack refused: unknown user")
        return user_id

    def _claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once nonce, audience and workspace are checked.

        The token comes straight from Slack's token endpoint over TLS, which OpenID Connect
        accepts in place of checking its signature (Core 1.0, section 3.1.3.7).
        """
        try:
            claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise web.HTTPForbidden(text="Sign-in with Slack refused: bad ID token") from exc
        good_nonce = hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode())
        team = claims.get("https://slack.com/team_id")
        if not good_nonce or claims.get("aud") != self.cfg.client_id:
            raise web.HTTPForbidden(text="Sign-in with Slack refused: the ID token is not ours")
        if team != self.cfg.team_id:
            raise web.HTTPForbidden(text="Sign-in with Slack refused: another workspace")
        return claims

    async def _session_for(self, user_id: str) -> dict[str, Any]:
        user = self.console.store.user_by_slack(user_id)
        if user is not None:
            if user.disabled:
                raise web.HTTPForbidden(text="This account is disabled.")
            self.console.store.user_logged_in(user.id, utcnow())
            return {"name": user.name, "kind": "account", "user_id": user.id,
                    "epoch": user.session_epoch, "role": user.role}  # fmt: skip
        listed = await self.console.service.is_approver(f"slack:{user_id}")
        return {"name": f"slack:{user_id}", "kind": "slack",
                "role": "approver" if listed else "viewer"}  # fmt: skip

    def _api_base(self) -> str:
        if self.cfg.api_base_url:
            return self.cfg.api_base_url
        return AsyncWebClient.BASE_URL

    def _sign(self, data: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
        return f"{body}.{self._mac(body)}"

    def _unsign(self, raw: str | None) -> dict[str, Any] | None:
        if not raw or "." not in raw or not raw.isascii():
            return None
        body, sig = raw.rsplit(".", 1)
        if not hmac.compare_digest(sig.encode(), self._mac(body).encode()):
            return None
        try:
            data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
            return data if float(data["exp"]) > time.time() else None
        except (ValueError, TypeError, KeyError):
            return None

    def _mac(self, body: str) -> str:
        return hmac.new(self.console.key, f"oidc|{body}".encode(), hashlib.sha256).hexdigest()


def _actor(who: dict[str, Any]) -> str:
    return f"web:{who['name']}" if who["kind"] == "account" else str(who["name"])


def _continue(redirect: web.HTTPSeeOther) -> web.Response:
    """A page that moves on to the redirect's target from this site, so the SameSite=Strict
    session cookie set here is sent (a cross-site redirect chain would not send it)."""
    target = redirect.headers["Location"]
    html = (
        '<!doctype html><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={_attr(target)}">'
        f'<title>Signed in</title><p>Signed in. <a href="{_attr(target)}">Continue</a></p>'
    )
    response = web.Response(text=html, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    for cookie in redirect.cookies.values():
        response.cookies[cookie.key] = cookie
    response.del_cookie(OIDC_COOKIE, path="/auth/slack")
    return response


def _attr(value: str) -> str:
    return str(escape(value))
