"""Posts approved replies exactly once.

The intent (idempotency key) is committed before the platform is called and the result after;
on start-up :meth:`Poster.reconcile` asks the platform about every intent without a result
before anything is posted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from repbot import platforms, workflow
from repbot.connector import Connector
from repbot.errors import PostError, StoreError
from repbot.models import utcnow
from repbot.secrets import redact
from repbot.store import Item, PostIntent, Store

log = logging.getLogger(__name__)
MANUAL = "post manually: this source has no reply API"
_FAR_FUTURE = timedelta(days=3650)


def can_post(item: Item, connector: Connector | None) -> bool:
    """Whether repbot posts ``item``'s reply itself: its source can reply and so can its
    platform (a review imported through ``file`` or a webhook is posted by a human)."""
    if connector is None or not connector.can_reply:
        return False
    return platforms.platform(item.mention.platform).can_reply


class Poster:
    """Moves approved items through posting to posted (or failed) via their source connector."""

    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, Connector],
        *,
        max_attempts: int = 5,
        retry_base: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.connectors = connectors
        self.retry = workflow.RetryPolicy(max_attempts=max_attempts, base=retry_base)
        self.clock = clock

    async def reconcile(self) -> int:
        """Resolve posts whose intent was written but whose result was lost (after a crash)."""
        resolved = 0
        for intent in self.store.in_flight_posts():
            item = self.store.get(intent.mention_id)
            connector = self.connectors.get(item.source)
            if connector is None:
                continue
            found = await connector.find_reply(item.mention, intent.idempotency_key)
            if found is not None:
                workflow.complete_post(self.store, item.id, found.external_id, found.url)
                log.info("reconciled post mention=%d reply=%s", item.id, found.external_id)
            else:
                await self._call(item, intent, connector)
            resolved += 1
        return resolved

    async def run_once(self, limit: int = 20) -> int:
        """Post up to ``limit`` approved items that are due (undo window over, retry time come);
        returns how many were attempted."""
        done = 0
        used: dict[str, int] = {}  # posts this month per source, counted once per pass
        for item in self.store.due_posts(self.clock(), limit):
            connector = self.connectors.get(item.source)
            if connector is None or not can_post(item, connector):
                self.store.hold(item.id, MANUAL, self.clock() + _FAR_FUTURE)
                continue
            if self._over_budget(item, connector, used):
                continue
            try:
                intent = workflow.begin_post(self.store, item.id)
            except StoreError as exc:
                log.warning("cannot post mention=%d: %s", item.id, exc)
                continue
            await self._call(item, intent, connector)
            used[item.source] = used.get(item.source, 0) + 1
            done += 1
        return done

    async def _call(self, item: Item, intent: PostIntent, connector: Connector) -> None:
        try:
            posted = await connector.reply(item.mention, intent.text, intent.idempotency_key)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the item
            transient = exc.transient if isinstance(exc, PostError) else True
            self._failed(item, redact(f"{type(exc).__name__}: {exc}"), transient)
            return
        workflow.complete_post(self.store, item.id, posted.external_id, posted.url)
        log.info("posted mention=%d platform=%s url=%s", item.id, item.mention.platform, posted.url)

    def _failed(self, item: Item, error: str, transient: bool) -> None:
        retry_at = workflow.post_failed(
            self.store, item, error, self.retry, self.clock(), transient=transient
        )
        log.warning(
            "post failed mention=%d attempts=%d retry=%s error=%s",
            item.id,
            item.attempts + 1,
            retry_at is not None,
            error,
        )

    def _over_budget(self, item: Item, connector: Connector, used: dict[str, int]) -> bool:
        cap = connector.monthly_post_cap()
        if cap is None:
            return False
        now = self.clock()
        if item.source not in used:
            used[item.source] = self.store.posts_this_month(item.source, now)
        if used[item.source] < cap:
            return False
        next_month = (now.replace(day=1) + timedelta(days=32)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        reason = f"monthly post budget of {cap} exhausted for source {item.source}"
        self.store.hold(item.id, reason, next_month)
        if self.store.kv_get(f"budget_alert:{item.source}:{now:%Y-%m}") is None:
            self.store.kv_set(f"budget_alert:{item.source}:{now:%Y-%m}", "1")
            self.store.add_alert(item.source, "post_budget", reason)
        return True
