"""Delivers operator alerts (source disabled, post budget exhausted, ...) beyond the store.

Alerts are written to the store first (``Store.add_alert``); :class:`AlertDispatcher` forwards
the ones not yet delivered to ``alerts.webhook_url`` (a JSON POST) and ``alerts.slack_channel``
(through the Slack bot token of ``approval.slack``). Delivery resumes after a restart from the
last delivered id, and a failing destination is retried on the next run.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from repbot.config import Config
from repbot.secrets import redact, register_secret
from repbot.store import Store

log = logging.getLogger(__name__)
_CURSOR = "alerts:delivered"


class AlertDispatcher:
    """Forwards new alerts to the configured destinations."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        url = config.alerts.webhook_url
        self.webhook_url = url.get_secret_value().strip() if url is not None else None
        register_secret(self.webhook_url)
        self.slack: AsyncWebClient | None = None
        slack = config.approval.slack
        if config.alerts.slack_channel and slack is not None and slack.bot_token is not None:
            kwargs: dict[str, Any] = {"token": slack.bot_token.get_secret_value()}
            if slack.api_base_url:
                kwargs["base_url"] = slack.api_base_url.rstrip("/") + "/"
            self.slack = AsyncWebClient(**kwargs)
        self.slack_channel = config.alerts.slack_channel

    @property
    def enabled(self) -> bool:
        """True when there is somewhere to send alerts."""
        return bool(self.webhook_url or self.slack)

    async def run_once(self) -> int:
        """Deliver every alert newer than the last delivered one; returns how many."""
        delivered = int(self.store.kv_get(_CURSOR) or 0)
        pending = sorted(
            (a for a in self.store.alerts(200) if a["id"] > delivered), key=lambda a: a["id"]
        )
        for alert in pending:
            try:
                await self._send(alert)
            except Exception as exc:  # noqa: BLE001 - retried on the next run
                log.warning("alert delivery failed id=%s error=%s", alert["id"], _describe(exc))
                return 0
            self.store.kv_set(_CURSOR, str(alert["id"]))
        return len(pending)

    async def _send(self, alert: dict[str, Any]) -> None:
        text = (
            f":rotating_light: repbot alert ({alert['kind']}) from {alert['source']}: "
            + alert["message"]
        )
        if self.webhook_url:
            timeout = aiohttp.ClientTimeout(total=10)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(self.webhook_url, json={**alert, "text": text}) as response,
            ):
                response.raise_for_status()
        if self.slack is not None and self.slack_channel:
            await self.slack.chat_postMessage(channel=self.slack_channel, text=text)


def _describe(exc: Exception) -> str:
    """What went wrong, without the webhook URL (a credential) that aiohttp puts in messages."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} from the alert webhook"
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return f"{type(exc).__name__} reaching the alert webhook"
    return redact(f"{type(exc).__name__}: {exc}")
