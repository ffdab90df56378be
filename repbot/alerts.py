"""Delivers operator alerts (source disabled, failing or silent, SLA, crisis, post budget).

Alerts are written to the store first (``Store.add_alert``); :class:`AlertDispatcher` forwards
the ones not yet delivered to ``alerts.webhook_url`` (a JSON POST) and ``alerts.slack_channel``
(through the Slack bot token of ``approval.slack``). Delivery resumes after a restart from the
last delivered id, and a failing destination is retried on the next run. :class:`SilenceMonitor`
watches for sources that have gone quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from repbot.config import Config
from repbot.models import utcnow
from repbot.secrets import redact, register_secret
from repbot.store import Store

log = logging.getLogger(__name__)
_CURSOR = "alerts:delivered"


class AlertDispatcher:
    """Forwards new alerts to the configured destinations.

    Each kind can be switched off, given a cool-down (at most one delivered per kind and
    source per period; the rest are recorded but not sent) and its own destinations in
    ``alerts.kinds``. Crisis alerts go to the urgent channel; a crisis's updates and its
    "over" message are threaded under the first message.
    """

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.cfg = config.alerts
        url = config.alerts.webhook_url
        self.webhook_url = url.get_secret_value().strip() if url is not None else None
        register_secret(self.webhook_url)
        self.slack: AsyncWebClient | None = None
        slack = config.approval.slack
        urgent = config.alerts.urgent_channel or (slack.urgent_channel if slack else None)
        self.slack_channel = config.alerts.slack_channel
        self.urgent_channel = urgent or self.slack_channel
        wanted = self.slack_channel or config.alerts.urgent_channel
        if wanted and slack is not None and slack.bot_token is not None:
            self.slack = slack_client(config)

    @property
    def enabled(self) -> bool:
        """True when there is somewhere to send alerts."""
        return bool(self.webhook_url or self.slack)

    async def run_once(self) -> int:
        """Deliver every alert newer than the last delivered one; returns how many were
        handled (sent, switched off or held back by a cool-down)."""
        delivered = int(self.store.kv_get(_CURSOR) or 0)
        handled = 0
        while pending := self.store.alerts_after(delivered, 200):
            for alert in pending:
                try:
                    if self._wanted(alert):
                        await self._send(alert)
                except Exception as exc:  # noqa: BLE001 - retried on the next run
                    log.warning("alert delivery failed id=%s error=%s", alert["id"], _describe(exc))
                    return handled
                delivered = alert["id"]
                self.store.kv_set(_CURSOR, str(delivered))
                handled += 1
        return handled

    def _wanted(self, alert: dict[str, Any]) -> bool:
        kind = self.cfg.kind(alert["kind"])
        if not kind.enabled:
            return False
        if kind.cooldown is None:
            return True
        key = f"alerts:last:{alert['kind']}:{alert['source']}"
        at = datetime.fromisoformat(alert["at"])
        last = self.store.kv_get(key)
        if last is not None and at - datetime.fromisoformat(last) < timedelta(
            seconds=kind.cooldown
        ):
            log.info("alert held back by cool-down id=%s kind=%s", alert["id"], alert["kind"])
            return False
        self.store.kv_set(key, alert["at"])
        return True

    async def _send(self, alert: dict[str, Any]) -> None:
        text = (
            f":rotating_light: repbot alert ({alert['kind']}) from {alert['source']}: "
            + alert["message"]
        )
        to = self.cfg.kind(alert["kind"]).to
        if self.webhook_url and "webhook" in to:
            timeout = aiohttp.ClientTimeout(total=10)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(self.webhook_url, json={**alert, "text": text}) as response,
            ):
                response.raise_for_status()
        if self.slack is not None and "slack" in to:
            await self._to_slack(alert, text)

    async def _to_slack(self, alert: dict[str, Any], text: str) -> None:
        assert self.slack is not None
        kind, thread_key = alert["kind"], f"alerts:thread:{alert['source']}"
        channel = self.urgent_channel if kind in CRISIS_KINDS else self.slack_channel
        if not channel:
            return
        args: dict[str, Any] = {"channel": channel, "text": text}
        if kind in ("crisis_update", "crisis_over") and (ts := self.store.kv_get(thread_key)):
            args["thread_ts"] = ts
            args["reply_broadcast"] = kind == "crisis_over"
        answer = await self.slack.chat_postMessage(**args)
        if kind == "crisis" and answer.get("ts"):
            self.store.kv_set(thread_key, str(answer["ts"]))


CRISIS_KINDS = frozenset({"crisis", "crisis_update", "crisis_over"})
"""Alert kinds sent to the urgent channel."""


def slack_client(config: Config) -> AsyncWebClient:
    """A Slack Web API client with ``approval.slack``'s bot token and base URL."""
    slack = config.approval.slack
    assert slack is not None and slack.bot_token is not None
    kwargs: dict[str, Any] = {"token": slack.bot_token.get_secret_value()}
    if slack.api_base_url:
        kwargs["base_url"] = slack.api_base_url.rstrip("/") + "/"
    return AsyncWebClient(**kwargs)


def console_link(config: Config) -> Callable[[int], str]:
    """Builds the web console's link to an item (``alerts.console_url`` or the server)."""
    base = config.alerts.console_url or f"http://{config.server.host}:{config.server.port}"
    base = base.rstrip("/")
    return lambda item_id: f"{base}/items/{item_id}"


class SilenceMonitor:
    """Alerts (kind ``silent``) when a source has brought no mention for longer than its
    ``alerts.silent_after`` window, and announces (kind ``recovered``) the first mention after."""

    def __init__(self, store: Store, config: Config, now: Callable[[], datetime] = utcnow) -> None:
        self.store, self.config, self.now = store, config, now
        self.started = now()

    def run_once(self) -> int:
        """One pass over the enabled sources; returns how many alerts it recorded."""
        raised, now = 0, self.now()
        windows = self.config.alerts.silent_after
        for source in self.config.sources:
            limit = windows.get(source.name, windows.get("default"))
            if not source.enabled or limit is None:
                continue
            last = self.store.last_ingested(source.name)
            quiet = now - (last or self.started)
            raised += self._check(source.name, quiet, timedelta(seconds=limit))
        return raised

    def _check(self, name: str, quiet: timedelta, limit: timedelta) -> int:
        key = f"silence:{name}"
        silent = self.store.kv_get(key) is not None
        if quiet > limit and not silent:
            self.store.kv_set(key, self.now().isoformat())
            hours = quiet.total_seconds() / 3600
            self.store.add_alert(
                name, "silent", f"source {name} brought no mention for {hours:.1f} h"
                f" (expected within {limit.total_seconds() / 3600:g} h)"
            )  # fmt: skip
            return 1
        if quiet <= limit and silent:
            self.store.kv_set(key, None)
            self.store.add_alert(name, "recovered", f"source {name} is bringing mentions again")
            return 1
        return 0


def _describe(exc: Exception) -> str:
    """What went wrong, without the webhook URL (a credential) that aiohttp puts in messages."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} from the alert webhook"
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return f"{type(exc).__name__} reaching the alert webhook"
    return redact(f"{type(exc).__name__}: {exc}")
