"""Approval in Slack: drafts as Block Kit messages, decisions from buttons and modals.

Every interaction is acknowledged first and handled after (Slack's 3 s budget). Decisions go
through :meth:`Store.decide` with a dedupe key taken from the payload, so Slack's retries and
repeated deliveries record one decision, and the store's state check makes a second approver's
click lose cleanly (they are told so, ephemerally). Message timestamps live in the store's
key-value area, so a restart neither loses nor re-posts a delivered draft.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from repbot.approval import blocks, render
from repbot.approval.config import SlackConfig
from repbot.errors import ConfigError, InvalidTransition, StoreError
from repbot.models import State
from repbot.store.base import Action, Decision, Item, Store

log = logging.getLogger(__name__)

_OPEN_KEY = "slack:open"
_SLACK_DOWN = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}
_GROUP_TTL = 300.0
_FINAL = {State.POSTED, State.REJECTED, State.SNOOZED, State.SKIPPED}
_DELIVER_BATCH = 200


class SlackApproval:
    """The Slack side of approval: delivery, message updates and interaction handling."""

    def __init__(self, cfg: SlackConfig, store: Store, *, brand_tz: str = "UTC") -> None:
        problems = cfg.problems()
        if problems:
            raise ConfigError(problems, "approval.slack")
        self.cfg, self.store, self.tz = cfg, store, brand_tz
        assert cfg.bot_token is not None
        self.client = AsyncWebClient(
            token=cfg.bot_token.get_secret_value(),
            base_url=cfg.api_base_url or AsyncWebClient.BASE_URL,
            timeout=10,
        )
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        secret = cfg.signing_secret.get_secret_value() if cfg.signing_secret else ""
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret,
            request_verification_enabled=cfg.mode == "http",
            logger=log,
        )
        self._register()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sync_lock = asyncio.Lock()
        self._groups: dict[str, tuple[float, set[str]]] = {}
        self._socket: AsyncSocketModeHandler | None = None
        self.on_decision: Callable[[int], None] | None = None
        """Called with the item id after every new decision (e.g. to wake the poster)."""

    # lifecycle
    async def start(self) -> None:
        """Connect Socket Mode (http mode has nothing to connect); retries if Slack is down."""
        if self.cfg.mode != "socket":
            return
        if not self.cfg.approvers:
            log.warning("approval.slack.approvers is empty: anyone in the channel may decide")
        assert self.cfg.app_token is not None
        self._socket = AsyncSocketModeHandler(self.app, self.cfg.app_token.get_secret_value())
        if not await self._connect_once():
            self._spawn(self._connect_until_up())

    async def _connect_once(self) -> bool:
        assert self._socket is not None
        try:
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in _AUTH_ERRORS:
                raise ConfigError([f"approval.slack.app_token: Slack says {error}"]) from exc
            log.warning("Slack Socket Mode connect failed: %s", error)
            return False
        except _SLACK_DOWN as exc:
            log.warning("Slack unreachable (%s); will retry", type(exc).__name__)
            return False
        return True

    async def _connect_until_up(self) -> None:
        delay = 1.0
        while not await self._connect_once():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def stop(self, timeout: float = 5.0) -> None:
        """Let in-flight interaction work finish (up to ``timeout``), then disconnect."""
        await self.drain(timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for the work spawned by acknowledged interactions (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - time.monotonic())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack interaction failed", exc_info=task.exception())

    async def handle_http(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: verify the signature, dispatch, answer within 3 s."""
        if self.cfg.mode != "http":
            return web.Response(status=404, text="Slack HTTP mode is not enabled")
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    # delivery and updates
    async def sync(self) -> int:
        """Post undelivered drafts and update messages whose item changed.

        Returns the number of Slack messages posted or updated. Safe to call often; if Slack is
        unreachable nothing is lost: undelivered drafts and stale messages are retried on the
        next call.
        """
        done = 0
        async with self._sync_lock:
            try:
                done += await self._deliver_new()
                for item_id in self._open_ids():
                    done += await self._update(item_id)
            except _SLACK_DOWN as exc:
                log.warning("Slack unreachable (%s); will retry", type(exc).__name__)
        return done

    async def _deliver_new(self) -> int:
        posted = 0
        for item in self.store.queue([State.AWAITING_APPROVAL], limit=_DELIVER_BATCH):
            record = self._record(item.id)
            if record and record.get("state") == State.AWAITING_APPROVAL.value:
                continue
            try:
                await self._post(item)
                posted += 1
            except SlackApiError as exc:
                log.warning("Slack refused draft %s: %s", item.id, exc.response.get("error"))
        return posted

    async def _post(self, item: Item) -> None:
        urgent = item.urgency is not None and item.urgency >= self.cfg.urgent_threshold
        channel = (
            self.cfg.urgent_channel if urgent and self.cfg.urgent_channel else self.cfg.channel
        )
        rendered = self._render(item)
        resp = await self.client.chat_postMessage(
            channel=channel, text=blocks.fallback_text(item), blocks=rendered, unfurl_links=False
        )
        record = {"channel": resp["channel"], "ts": resp["ts"]}
        self._save_record(item, record, rendered)
        self.store.audit("slack_delivered", "slack", item.id, channel=resp["channel"])

    async def refresh(self, item_id: int) -> None:
        """Update the item's message now (if it has one); errors wait for the next sync."""
        try:
            await self._update(item_id)
        except _SLACK_DOWN as exc:
            log.warning("Slack unreachable (%s); message %s updated later", exc, item_id)

    async def _update(self, item_id: int) -> int:
        record = self._record(item_id)
        try:
            item = self.store.get(item_id)
        except StoreError:
            self._set_open(item_id, False)
            return 0
        if record is None:
            return 0
        if item.state is State.AWAITING_APPROVAL and record.get("state") != item.state.value:
            return 0  # came back (snooze ended, reopened): _deliver_new posts a new message
        rendered = self._render(item)
        if record.get("sig") == _signature(rendered):
            if record.get("state") != item.state.value:
                self._save_record(item, record, rendered)
            return 0
        try:
            await self.client.chat_update(
                channel=record["channel"],
                ts=record["ts"],
                text=blocks.fallback_text(item),
                blocks=rendered,
            )
        except SlackApiError as exc:
            log.warning("Slack refused update of %s: %s", item_id, exc.response.get("error"))
            return 0
        self._save_record(item, record, rendered)
        return 1

    def _render(self, item: Item) -> list[dict[str, Any]]:
        last = next(iter(self.store.decisions(item.id, limit=1)), None)
        return blocks.message_blocks(item, tz=self.tz, last=last, pending=self._pending(item.id))

    def _record(self, item_id: int) -> dict[str, Any] | None:
        raw = self.store.kv_get(f"slack:msg:{item_id}")
        return json.loads(raw) if raw else None

    def _save_record(self, item: Item, record: dict[str, Any], rendered: list[Any]) -> None:
        record = {**record, "state": item.state.value, "sig": _signature(rendered)}
        self.store.kv_set(f"slack:msg:{item.id}", json.dumps(record))
        self._set_open(item.id, item.state not in _FINAL)

    def _open_ids(self) -> list[int]:
        raw = self.store.kv_get(_OPEN_KEY)
        return [int(i) for i in json.loads(raw)] if raw else []

    def _set_open(self, item_id: int, is_open: bool) -> None:
        ids = set(self._open_ids())
        changed = (item_id in ids) != is_open
        if changed:
            ids = ids | {item_id} if is_open else ids - {item_id}
            self.store.kv_set(_OPEN_KEY, json.dumps(sorted(ids)))

    def message_for(self, item_id: int) -> tuple[str, str] | None:
        """The (channel, ts) of the item's current Slack message, if delivered."""
        record = self._record(item_id)
        return (record["channel"], record["ts"]) if record else None

    # approvers
    async def is_approver(self, user: str) -> bool:
        """Whether ``user`` is listed, or is in a listed user group (everyone if none listed)."""
        approvers = self.cfg.approvers
        if not approvers or user in approvers:
            return True
        for group in (a for a in approvers if a.startswith("S")):
            if user in await self._group_members(group):
                return True
        return False

    async def _group_members(self, group: str) -> set[str]:
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < _GROUP_TTL:
            return cached[1]
        try:
            resp = await self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, *_SLACK_DOWN) as exc:
            log.warning("cannot resolve Slack user group %s: %s", group, exc)
            return cached[1] if cached else set()
        users: list[str] = resp.get("users", [])
        members = {str(u) for u in users}
        self._groups[group] = (time.monotonic(), members)
        return members

    # interactions
    def _register(self) -> None:
        for action_id in (
            blocks.ACTION_APPROVE,
            blocks.ACTION_EDIT,
            blocks.ACTION_REJECT,
            blocks.ACTION_SNOOZE,
            blocks.ACTION_MARK_POSTED,
        ):
            self.app.action(action_id)(self._on_action)
        for callback in (blocks.CALLBACK_EDIT, blocks.CALLBACK_REJECT, blocks.CALLBACK_POSTED):
            self.app.view_submission(callback)(self._on_submission)

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        self._spawn(self._handle_action(body, action))

    async def _on_submission(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        error = self._validate_submission(view)
        if error:
            await ack(response_action="errors", errors={blocks.INPUT_BLOCK: error})
            return
        await ack()
        self._spawn(self._handle_submission(body, view))

    def _validate_submission(self, view: dict[str, Any]) -> str | None:
        if view.get("callback_id") != blocks.CALLBACK_EDIT:
            return None
        text = _input_value(view)
        if not text.strip():
            return "The reply cannot be empty."
        try:
            limit = render.length_limit(self.store.get(int(_meta(view)["id"])))
        except (StoreError, KeyError, ValueError):
            return None
        return f"At most {limit} characters ({len(text)} now)." if len(text) > limit else None

    async def _handle_action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        container = body.get("container", {})
        channel = str(container.get("channel_id") or body.get("channel", {}).get("id", ""))
        ts = str(container.get("message_ts", ""))
        action_id = str(action["action_id"])
        raw = str(action.get("value") or action.get("selected_option", {}).get("value", ""))
        item_id, _, choice = raw.partition(":")
        ctx = _Ctx(int(item_id), user, channel, ts, f"slack:{ts}:{action.get('action_ts')}")
        if not await self._allowed(ctx, action_id):
            return
        if action_id == blocks.ACTION_APPROVE:
            item = self.store.get(ctx.item_id)
            await self._approve(ctx, "approve", item.draft)
        elif action_id == blocks.ACTION_SNOOZE:
            until = render.snooze_until(choice, self.tz)
            await self._decide(ctx, "snooze", snooze_until=until)
        else:
            await self._open_modal(ctx, action_id, str(body.get("trigger_id", "")))

    async def _allowed(self, ctx: _Ctx, what: str) -> bool:
        if await self.is_approver(ctx.user):
            return True
        self.store.audit("refused", f"slack:{ctx.user}", ctx.item_id, action=what, channel="slack")
        await self._ephemeral(ctx, "Only configured approvers can decide on drafts.")
        return False

    async def _open_modal(self, ctx: _Ctx, action_id: str, trigger_id: str) -> None:
        item = self.store.get(ctx.item_id)
        manual = action_id == blocks.ACTION_MARK_POSTED
        if manual and item.state not in (State.APPROVED, State.FAILED):
            return await self._tell_decided(ctx, item)
        if not manual and item.state not in (State.AWAITING_APPROVAL, State.SNOOZED):
            return await self._tell_decided(ctx, item)
        meta = blocks.metadata(item.id, ctx.channel, ctx.ts)
        builder = {
            blocks.ACTION_EDIT: blocks.edit_modal,
            blocks.ACTION_REJECT: blocks.reject_modal,
            blocks.ACTION_MARK_POSTED: blocks.posted_modal,
        }[action_id]
        try:
            await self.client.views_open(trigger_id=trigger_id, view=builder(item, meta))
        except SlackApiError as exc:
            log.warning("views.open failed for %s: %s", item.id, exc.response.get("error"))

    async def _handle_submission(self, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = _meta(view)
        user = str(body["user"]["id"])
        ctx = _Ctx(
            int(meta["id"]),
            user,
            meta.get("channel") or "",
            meta.get("ts") or "",
            f"slack:view:{view.get('id')}",
        )
        callback = view.get("callback_id")
        if not await self._allowed(ctx, str(callback)):
            return
        text = _input_value(view).strip()
        if callback == blocks.CALLBACK_EDIT:
            item = self.store.get(ctx.item_id)
            action: Action = "approve" if text == (item.draft or "").strip() else "edit"
            await self._approve(ctx, action, text)
        elif callback == blocks.CALLBACK_REJECT:
            await self._decide(ctx, "reject", reason=text or None)
        elif callback == blocks.CALLBACK_POSTED:
            await self._decide(ctx, "posted_manually", reason=text or None)

    async def _approve(self, ctx: _Ctx, action: Action, text: str | None) -> None:
        item = self.store.get(ctx.item_id)
        threshold = self.cfg.two_person_threshold
        if threshold is None or item.urgency is None or item.urgency < threshold:
            await self._decide(ctx, action, text=text)
            return
        pending = self._pending(item.id)
        if pending and pending.get("dedupe") == ctx.dedupe:
            return
        if (
            pending
            and pending["user"] != ctx.user
            and (action == "approve" or text == pending["text"])
        ):
            first = str(pending["actor"])
            await self._decide(ctx, pending["action"], text=pending["text"], actor_prefix=first)
            return
        if pending and pending["user"] == ctx.user and action == "approve":
            await self._ephemeral(ctx, "Waiting for a second approver: it must be someone else.")
            return
        if item.state not in (State.AWAITING_APPROVAL, State.SNOOZED):
            return await self._tell_decided(ctx, item)
        self._set_pending(item.id, ctx, action, text)
        await self.refresh(item.id)

    async def _decide(
        self,
        ctx: _Ctx,
        action: Action,
        *,
        text: str | None = None,
        reason: str | None = None,
        snooze_until: Any = None,
        actor_prefix: str | None = None,
    ) -> Decision | None:
        actor = f"slack:{ctx.user}" if actor_prefix is None else f"{actor_prefix}+slack:{ctx.user}"
        try:
            decision = self.store.decide(
                ctx.item_id,
                action,
                actor,
                text=text,
                reason=reason,
                snooze_until=snooze_until,
                dedupe_key=ctx.dedupe,
                channel="slack",
            )
        except InvalidTransition:
            await self._tell_decided(ctx, self.store.get(ctx.item_id))
            return None
        except StoreError as exc:
            await self._ephemeral(ctx, f"Nothing was recorded: {exc}")
            return None
        if not decision.duplicate:
            if self.on_decision is not None:
                self.on_decision(ctx.item_id)
            self.store.kv_set(f"slack:pending:{ctx.item_id}", None)
            await self.refresh(ctx.item_id)
        return decision

    async def _tell_decided(self, ctx: _Ctx, item: Item) -> None:
        state = render.STATE_LABELS.get(item.state, item.state.value).lower()
        who = blocks.actor_mrkdwn(item.decided_by)
        await self._ephemeral(ctx, f"This draft was already {state} by {who}; nothing changed.")

    async def _ephemeral(self, ctx: _Ctx, text: str) -> None:
        if not ctx.channel:
            return
        try:
            await self.client.chat_postEphemeral(channel=ctx.channel, user=ctx.user, text=text)
        except (SlackApiError, *_SLACK_DOWN) as exc:
            log.warning("chat.postEphemeral failed: %s", exc)

    def _pending(self, item_id: int) -> dict[str, Any] | None:
        raw = self.store.kv_get(f"slack:pending:{item_id}")
        return json.loads(raw) if raw else None

    def _set_pending(self, item_id: int, ctx: _Ctx, action: Action, text: str | None) -> None:
        value = {
            "user": ctx.user,
            "actor": f"slack:{ctx.user}",
            "action": action,
            "text": text,
            "dedupe": ctx.dedupe,
        }
        self.store.kv_set(f"slack:pending:{item_id}", json.dumps(value))
        self.store.audit("first_approval", f"slack:{ctx.user}", item_id, action=action)


class _Ctx:
    """Who clicked what, where, and the dedupe key of that click."""

    __slots__ = ("channel", "dedupe", "item_id", "ts", "user")

    def __init__(self, item_id: int, user: str, channel: str, ts: str, dedupe: str) -> None:
        self.item_id, self.user, self.channel, self.ts, self.dedupe = (
            item_id,
            user,
            channel,
            ts,
            dedupe,
        )


def _signature(rendered: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()[:16]


def _meta(view: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(view.get("private_metadata") or "{}")
    return meta


def _input_value(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    field = values.get(blocks.INPUT_BLOCK, {}).get(blocks.INPUT_ACTION, {})
    return str(field.get("value") or "")
