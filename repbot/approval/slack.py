"""Approval in Slack: drafts as Block Kit messages, decisions from buttons and modals.

Every interaction is acknowledged first and handled after (Slack's 3 s budget). This module
only parses interactions and renders answers: the rules (approvers, the two-person rule, edit
checks) live in :class:`~repbot.approval.service.ApprovalService`. Each decision carries a dedupe
key taken from the payload, so Slack's retries and repeated deliveries record one decision, and
a second approver's click loses cleanly (they are told who decided first, ephemerally). Each
delivery is recorded as an intent before ``chat.postMessage`` and carries message metadata
naming the draft, so a post cut short (crash, timeout) is found again in the channel's history
instead of being posted twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import weakref
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from repbot.approval import blocks, render
from repbot.approval.config import HistoryConfig, SlackConfig
from repbot.approval.history import post_history_thread
from repbot.approval.service import (
    EMPTY_EDIT,
    NOT_APPROVER,
    ApprovalService,
    Request,
    Result,
    Verb,
    claim_age,
    state_word,
)
from repbot.errors import ConfigError, StoreError
from repbot.models import State, utcnow
from repbot.runner import Backoff
from repbot.store.base import Item, SlackMessage, Store

log = logging.getLogger(__name__)

_SLACK_DOWN = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
_AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}
_FINAL = {State.POSTED, State.REJECTED, State.SNOOZED, State.SKIPPED}
_DELIVER_BATCH = 200
_UPDATE_BATCH = 500
INTENT_LEASE = timedelta(seconds=60)
"""On a shared store, how long another daemon's Slack post may be in flight (its client times
out after 10 s) before its intent is settled here from the channel's history."""
_HISTORY_MARGIN = 60.0  # seconds before the oldest intent (clock skew between us and Slack)
_HISTORY_PAGE = 200
_HISTORY_PAGES = 10
_HISTORY_UNREADABLE = {"missing_scope", "not_in_channel", "channel_not_found"}
_MESSAGE_GONE = {"message_not_found", "cant_update_message", "channel_not_found"}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SlackApproval:
    """The Slack side of approval: delivery, message updates and interaction handling.

    ``service`` holds the approval rules shared with the console; without one, a service with
    this section's approvers and two-person threshold (and no guardrail check on edits) is used.
    """

    def __init__(
        self,
        cfg: SlackConfig,
        store: Store,
        *,
        brand_tz: str = "UTC",
        service: ApprovalService | None = None,
    ) -> None:
        problems = cfg.problems()
        if problems:
            raise ConfigError(problems, "approval.slack")
        self.cfg, self.store, self.tz = cfg, store, brand_tz
        self.history: HistoryConfig | None = None  # approval.history (set by attach_approval)
        self.service = service or ApprovalService(
            store, slack_approvers=cfg.approvers, two_person_threshold=cfg.two_person_threshold
        )
        self.service.use_group_lookup(self._fetch_group)
        assert cfg.bot_token is not None
        self.client = AsyncWebClient(
            token=cfg.bot_token.get_secret_value(),
            base_url=cfg.api_base_url or AsyncWebClient.BASE_URL,
            timeout=10,
        )
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        # chat.postMessage is not idempotent: a lost answer must not be re-sent blindly (slack_sdk
        # retries on a dropped connection by default); the intent and history lookup handle it.
        self._post_client = AsyncWebClient(
            token=cfg.bot_token.get_secret_value(),
            base_url=cfg.api_base_url or AsyncWebClient.BASE_URL,
            timeout=10,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        )
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
        self.backoff = Backoff(base=1.0, cap=60.0)
        """While Slack is unreachable, sync passes wait this long (exponential, full jitter)."""
        self.clock: Callable[[], float] = time.monotonic
        self._down = 0  # consecutive sync passes that found Slack unreachable
        self._retry_at = 0.0
        self._socket: AsyncSocketModeHandler | None = None
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._own_bot_id: str | None = None
        self.wake_event = asyncio.Event()
        """Set by :meth:`wake`; the daemon's sync loop waits on it between passes."""
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
        failures = 1
        while not await self._connect_once():
            await asyncio.sleep(self.backoff.delay(failures))
            failures += 1

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
        """``POST /slack/events``: verify the signature, dispatch, answer within 3 s.

        The signature and timestamp are checked here before bolt sees the request, and the
        body must be UTF-8 holding a JSON object (or a form whose ``payload`` is one): anything
        else is answered 401 or 400, never 500.
        """
        if self.cfg.mode != "http":
            return web.Response(status=404, text="Slack HTTP mode is not enabled")
        body = await request.read()
        if not self._signed(request, body):
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_request = _bolt_request(request, body)
        if bolt_request is None:
            return web.json_response({"error": "malformed Slack payload"}, status=400)
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    def _signed(self, request: web.Request, body: bytes) -> bool:
        secret = self.cfg.signing_secret.get_secret_value() if self.cfg.signing_secret else ""
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not secret.strip() or not _TIMESTAMP.fullmatch(timestamp) or not signature.isascii():
            return False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return SignatureVerifier(secret).is_valid(text, timestamp, signature)

    async def _on_bolt_error(self, error: Exception) -> BoltResponse | None:
        """Bolt middleware or listener errors: Slack down is 503, a badly shaped payload 400."""
        if isinstance(error, (SlackApiError, *_SLACK_DOWN)):
            log.warning(
                "Slack request not handled, Slack API unreachable: %s", type(error).__name__
            )
            return BoltResponse(status=503, body={"error": "Slack API unreachable; retry"})
        if isinstance(error, (TypeError, KeyError, AttributeError, IndexError, ValueError)):
            log.warning("malformed Slack payload refused (%s: %s)", type(error).__name__, error)
            return BoltResponse(status=400, body={"error": "malformed Slack payload"})
        return None

    # delivery and updates
    def wake(self) -> None:
        """Ask for a sync pass now: a draft, a decision or a post result was recorded."""
        self.wake_event.set()

    async def sync(self) -> int:
        """Post undelivered drafts and update the messages whose item changed.

        Returns the number of Slack messages posted or updated (0: nothing to do, so a caller
        may wait for :attr:`wake_event`). The store selects the drafts without a message and the
        open messages whose item changed, so a pass costs a few queries however many messages
        are open, and nothing unchanged is rendered. Safe to call often: if Slack is
        unreachable nothing is lost, and a post whose outcome is unknown (a crash or a timeout
        after ``chat.postMessage``) is looked up in the channel's history before it is posted
        again.
        """
        done = 0
        if self._down > 1 and self.clock() < self._retry_at:
            return 0  # unreachable twice in a row: back off rather than retry every pass
        async with self._sync_lock:
            try:
                await self._resolve_intents()
                done += await self._deliver_new()
                for message in self.store.slack_changed(_UPDATE_BATCH):
                    done += await self._update(message.mention_id)
            except _SLACK_DOWN as exc:
                self._down += 1  # one lost connection is retried at once, an outage backs off
                delay = self.backoff.delay(self._down - 1) if self._down > 1 else 0.0
                self._retry_at = self.clock() + delay
                log.warning(
                    "Slack unreachable (%s); will retry in %.1fs", type(exc).__name__, delay
                )
                return done
        self._down = 0
        return done

    async def _deliver_new(self) -> int:
        posted = 0
        for item, version in self.store.slack_undelivered(_DELIVER_BATCH):
            try:
                posted += await self._post(item, version)
            except SlackApiError as exc:
                log.warning("Slack refused draft %s: %s", item.id, exc.response.get("error"))
        return posted

    async def _post(self, item: Item, version: str) -> bool:
        """Post ``item``'s draft unless another daemon claimed its delivery first."""
        urgent = item.urgency is not None and item.urgency >= self.cfg.urgent_threshold
        urgent = urgent or bool(item.analysis.get("senior"))  # legal and press: issue 15
        channel = (
            self.cfg.urgent_channel if urgent and self.cfg.urgent_channel else self.cfg.channel
        )
        assert channel is not None
        intent = self.store.slack_intend(item.id, channel)
        if intent is None:
            return False
        rendered = self._render(item)
        try:
            resp = await self._post_client.chat_postMessage(
                channel=channel,
                text=blocks.fallback_text(item),
                blocks=rendered,
                unfurl_links=False,
                metadata=blocks.delivery_metadata(item.id, intent.episode),
            )
        except SlackApiError as exc:
            if exc.response.status_code < 500:  # Slack answered: nothing was posted
                self.store.slack_forget(item.id)
            raise
        except aiohttp.ClientConnectorError:
            self.store.slack_forget(item.id)  # never connected: nothing was posted
            raise
        self.store.slack_sent(
            item.id,
            channel=str(resp["channel"]),
            ts=str(resp["ts"]),
            state=item.state,
            version=version,
            sig=_signature(rendered),
            is_open=item.state not in _FINAL,
        )
        if self.history is not None:  # issue 13 (queue): the customer's history, once per item
            await post_history_thread(
                self._post_client,
                self.store,
                item.id,
                channel=str(resp["channel"]),
                ts=str(resp["ts"]),
                tz=self.tz,
                across_platforms=self.history.across_platforms,
            )
        return True

    async def _resolve_intents(self) -> None:
        """Settle posts whose outcome is unknown: found in history → recorded, else forgotten.

        On a shared store an intent younger than :data:`INTENT_LEASE` may be another daemon's
        post in flight: it is left alone (this daemon's own are never in flight here, as a
        pass holds the sync lock).
        """
        settled_before = utcnow() - (INTENT_LEASE if self.store.shared else timedelta(0))
        by_channel: dict[str, list[SlackMessage]] = {}
        for intent in self.store.slack_intents():
            if intent.intent_at <= settled_before:
                by_channel.setdefault(intent.channel, []).append(intent)
        for channel, intents in by_channel.items():
            try:
                found = await self._find_posted(channel, intents)
            except SlackApiError as exc:
                error = str(exc.response.get("error", ""))
                if error not in _HISTORY_UNREADABLE:
                    log.warning("cannot read Slack history of %s: %s; will retry", channel, error)
                    continue  # these drafts wait: posting now could post them twice
                log.warning(
                    "cannot read Slack history of %s (%s): %d draft(s) whose post was cut short"
                    " are posted again and may appear twice",
                    channel,
                    error,
                    len(intents),
                )
                found = {}
            for intent in intents:
                ts = found.get((intent.mention_id, intent.episode))
                if ts is None:
                    self.store.slack_forget(intent.mention_id)
                    continue
                self.store.slack_sent(
                    intent.mention_id,
                    channel=channel,
                    ts=ts,
                    state=intent.state,
                    version=None,  # what it shows is unknown: render and compare next
                    sig=None,
                    is_open=intent.state not in _FINAL,
                )

    async def _find_posted(
        self, channel: str, intents: list[SlackMessage]
    ) -> dict[tuple[int, str], str]:
        """The ``ts`` of our messages in ``channel`` whose metadata names one of ``intents``."""
        wanted = {(i.mention_id, i.episode) for i in intents}
        oldest = min(i.intent_at for i in intents).timestamp() - _HISTORY_MARGIN
        bot_id = await self._bot_id()
        found: dict[tuple[int, str], str] = {}
        cursor: str | None = None
        for _ in range(_HISTORY_PAGES):
            resp = await self.client.conversations_history(
                channel=channel,
                oldest=f"{oldest:.6f}",
                limit=_HISTORY_PAGE,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in resp.get("messages") or []:
                key = blocks.delivery_key(message, bot_id)
                if key in wanted:
                    found.setdefault(key, str(message["ts"]))
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None or not resp.get("has_more") or wanted <= found.keys():
                break
        return found

    async def _bot_id(self) -> str:
        if self._own_bot_id is None:
            resp = await self.client.auth_test()
            self._own_bot_id = str(resp.get("bot_id") or "")
        return self._own_bot_id

    async def refresh(self, item_id: int) -> None:
        """Update the item's message now (if it has one); errors wait for the next sync."""
        try:
            await self._update(item_id)
        except _SLACK_DOWN as exc:
            log.warning("Slack unreachable (%s); message %s updated later", exc, item_id)
            message = self.store.slack_message(item_id)
            if message is not None and message.ts is not None:
                self.store.slack_sent(
                    item_id,
                    channel=message.channel,
                    ts=message.ts,
                    state=message.state,
                    version=None,  # stale: the next sync renders it again
                    sig=message.sig,
                    is_open=message.state not in _FINAL,
                )

    async def _update(self, item_id: int) -> int:
        async with self._item_lock(item_id):
            message = self.store.slack_message(item_id)
            if message is None or message.ts is None:
                return 0
            item = self.store.get(item_id)
            reopened = item.state is State.AWAITING_APPROVAL and message.state is not item.state
            if reopened and not self._undone(item_id):
                return 0  # came back (snooze ended, reopened): _deliver_new posts a new message
            rendered = self._render(item)
            sig: str | None = _signature(rendered)
            error = None if sig == message.sig else await self._chat_update(item, message, rendered)
            if error == "retry":
                return 0
            if error is not None:  # kept until the item changes again; a deleted message is left
                sig = message.sig
            self.store.slack_sent(
                item_id,
                channel=message.channel,
                ts=message.ts,
                state=item.state,
                version=message.item_version,
                sig=sig,
                is_open=item.state not in _FINAL and error not in _MESSAGE_GONE,
            )
            return int(sig != message.sig)

    async def _chat_update(
        self, item: Item, message: SlackMessage, rendered: list[dict[str, Any]]
    ) -> str | None:
        """None when updated; Slack's error, or "retry" when worth trying again soon."""
        try:
            await self.client.chat_update(
                channel=message.channel,
                ts=message.ts or "",
                text=blocks.fallback_text(item),
                blocks=rendered,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            log.warning("Slack refused update of %s: %s", item.id, error)
            status = exc.response.status_code
            return "retry" if status == 429 or status >= 500 else error
        return None

    def _item_lock(self, item_id: int) -> asyncio.Lock:
        lock = self._locks.get(item_id)
        if lock is None:
            lock = self._locks[item_id] = asyncio.Lock()
        return lock

    def _undone(self, item_id: int) -> bool:
        """Whether the item is open again because of an undo (its message is reused)."""
        last = next(iter(self.store.decisions(item_id, limit=1)), None)
        return last is not None and last.action == "undo"

    def _render(self, item: Item) -> list[dict[str, Any]]:
        last = next(iter(self.store.decisions(item.id, limit=1)), None)
        pending = self.service.pending(item.id)
        return blocks.message_blocks(
            item,
            tz=self.tz,
            last=last,
            pending=pending,
            claim=self.service.claim_of(item.id) if item.state is State.AWAITING_APPROVAL else None,
            undo_until=self.service.undo_deadline(item),
            now=self.service.now(),
            conversation=self.store.conversation(item.id, 6) if item.conversation_id else (),
        )

    def message_for(self, item_id: int) -> tuple[str, str] | None:
        """The (channel, ts) of the item's current Slack message, if delivered."""
        message = self.store.slack_message(item_id)
        return (message.channel, message.ts) if message and message.ts else None

    # approvers
    async def _fetch_group(self, group: str) -> set[str] | None:
        """The members of a Slack user group (``usergroups.users.list``); None when unreadable."""
        try:
            resp = await self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, *_SLACK_DOWN) as exc:
            log.warning("cannot resolve Slack user group %s: %s", group, exc)
            return None
        users: list[str] = resp.get("users", [])
        return {str(u) for u in users}

    # interactions
    def _register(self) -> None:
        for action_id in (
            blocks.ACTION_APPROVE,
            blocks.ACTION_EDIT,
            blocks.ACTION_REJECT,
            blocks.ACTION_SNOOZE,
            blocks.ACTION_MARK_POSTED,
            blocks.ACTION_UNDO,
            blocks.ACTION_CLAIM,
            blocks.ACTION_TAKEOVER,
            blocks.ACTION_RELABEL,
        ):
            self.app.action(action_id)(self._on_action)
        for callback in (blocks.CALLBACK_EDIT, blocks.CALLBACK_REJECT, blocks.CALLBACK_POSTED):
            self.app.view_submission(callback)(self._on_submission)
        self.app.error(self._on_bolt_error)

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
        try:
            item = self.store.get(int(_meta(view)["id"]))
        except (StoreError, KeyError, ValueError):
            return None if text.strip() else EMPTY_EDIT
        return self.service.edit_problem(item, text, _override(view))

    async def _handle_action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user = str(body["user"]["id"])
        container = body.get("container", {})
        channel = str(container.get("channel_id") or body.get("channel", {}).get("id", ""))
        ts = str(container.get("message_ts", ""))
        action_id = str(action["action_id"])
        raw = str(action.get("value") or action.get("selected_option", {}).get("value", ""))
        item_id, _, choice = raw.partition(":")
        ctx = _Ctx(int(item_id), user, channel, ts, f"slack:{ts}:{action.get('action_ts')}")
        self.store.mark_first_look(ctx.item_id, utcnow())  # KPI: any click is a look (issue 16)
        if action_id in _DIRECT:
            await self._decide(ctx, _DIRECT[action_id])
        elif action_id == blocks.ACTION_SNOOZE:
            await self._decide(ctx, "snooze", snooze_until=render.snooze_until(choice, self.tz))
        elif action_id == blocks.ACTION_RELABEL:
            await self._decide(ctx, "relabel", reason=choice)
        elif await self.service.may_decide(f"slack:{user}", ctx.item_id, action_id, "slack"):
            await self._open_modal(ctx, action_id, str(body.get("trigger_id", "")))
        else:
            await self._ephemeral(ctx, NOT_APPROVER)

    async def _open_modal(self, ctx: _Ctx, action_id: str, trigger_id: str) -> None:
        item = self.store.get(ctx.item_id)
        manual = action_id == blocks.ACTION_MARK_POSTED
        if manual and item.state not in (State.APPROVED, State.FAILED):
            return await self._tell_decided(ctx, item.state, item.decided_by)
        if not manual and item.state not in (State.AWAITING_APPROVAL, State.SNOOZED):
            return await self._tell_decided(ctx, item.state, item.decided_by)
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
        text = _input_value(view).strip()
        if callback == blocks.CALLBACK_EDIT:
            await self._decide(ctx, "edit", text=text, override=_override(view))
        elif callback == blocks.CALLBACK_REJECT:
            await self._decide(ctx, "reject", reason=text or None)
        elif callback == blocks.CALLBACK_POSTED:
            await self._decide(ctx, "posted_manually", reason=text or None)

    async def _decide(
        self,
        ctx: _Ctx,
        verb: Verb,
        *,
        text: str | None = None,
        reason: str | None = None,
        snooze_until: datetime | None = None,
        override: bool = False,
    ) -> None:
        request = Request(
            ctx.item_id,
            verb,
            f"slack:{ctx.user}",
            "slack",
            text=text,
            reason=reason,
            snooze_until=snooze_until,
            dedupe=ctx.dedupe,
            override=override,
        )
        await self._answer(ctx, await self.service.decide(request))

    async def _answer(self, ctx: _Ctx, result: Result) -> None:
        """Render ``result``: refresh the message, or tell the person why nothing changed."""
        if result.outcome == "accepted" and self.on_decision is not None:
            self.on_decision(ctx.item_id)
        if result.changed:
            await self.refresh(ctx.item_id)
        elif result.outcome == "refused" and result.claim is not None:
            who, age = blocks.actor_mrkdwn(result.claim.actor), claim_age(result.claim, utcnow())
            await self._ephemeral(ctx, f"{who} is on it ({age}); use Take over to decide.")
        elif result.outcome == "refused":
            await self._ephemeral(ctx, result.reason)
        elif result.outcome == "already_decided":
            await self._tell_decided(ctx, result.state, result.decided_by)

    async def _tell_decided(self, ctx: _Ctx, state: State | None, decided_by: str | None) -> None:
        who = blocks.actor_mrkdwn(decided_by)
        await self._ephemeral(
            ctx, f"This draft was already {state_word(state)} by {who}; nothing changed."
        )

    async def _ephemeral(self, ctx: _Ctx, text: str) -> None:
        if not ctx.channel:
            return
        try:
            await self.client.chat_postEphemeral(channel=ctx.channel, user=ctx.user, text=text)
        except (SlackApiError, *_SLACK_DOWN) as exc:
            log.warning("chat.postEphemeral failed: %s", exc)


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


def _bolt_request(request: web.Request, body: bytes) -> AsyncBoltRequest | None:
    """The bolt request for ``body``, or None when it is not a Slack payload bolt can read."""
    headers: dict[str, str | Sequence[str]] = {
        k: request.headers.getall(k) for k in request.headers
    }
    try:
        parsed = AsyncBoltRequest(
            body=body.decode("utf-8"), query=request.query_string, headers=headers
        )
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None  # not UTF-8, not JSON, or a JSON value bolt cannot read a context from
    return parsed if isinstance(parsed.body, dict) else None


def _signature(rendered: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rendered, sort_keys=True).encode()).hexdigest()[:16]


def _meta(view: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(view.get("private_metadata") or "{}")
    return meta


_DIRECT: dict[str, Verb] = {
    blocks.ACTION_APPROVE: "approve",
    blocks.ACTION_UNDO: "undo",
    blocks.ACTION_CLAIM: "claim",
    blocks.ACTION_TAKEOVER: "takeover",
}
"""Buttons decided on the click (no modal)."""


def _override(view: dict[str, Any]) -> bool:
    values = view.get("state", {}).get("values", {})
    field = values.get(blocks.OVERRIDE_BLOCK, {}).get(blocks.OVERRIDE_ACTION, {})
    chosen = field.get("selected_options") or []
    return any(o.get("value") == blocks.OVERRIDE_VALUE for o in chosen if isinstance(o, dict))


def _input_value(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    field = values.get(blocks.INPUT_BLOCK, {}).get(blocks.INPUT_ACTION, {})
    return str(field.get("value") or "")
