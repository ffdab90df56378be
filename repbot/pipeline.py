"""The workers that move mentions along the state machine.

``new → classified`` (sentiment, language, intent, urgency; spam and irrelevant → skipped) and
``classified → drafted → awaiting_approval`` (a reply draft, or skipped when no reply is due).
Each transition is one store transaction; heavy model work runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from repbot.classify import (
    Analysis,
    BrandContext,
    Classifier,
    IntentResult,
    SentimentResult,
    analyze,
    score_urgency,
)
from repbot.config import Config
from repbot.errors import InvalidTransition
from repbot.models import State, storable_text, utcnow
from repbot.respond import Draft, DraftContext, Responder
from repbot.respond.draft import Sentiment
from repbot.secrets import redact
from repbot.store import Item, Store
from repbot.workflow import RetryPolicy, record_failure

log = logging.getLogger(__name__)
REPEAT_WINDOW = timedelta(hours=24)
CLASSIFY_BUDGET = 3.0
"""Seconds of classification per pass before a draft batch, while a backlog lasts."""


class Pipeline:
    """Classifies and drafts whatever is pending, a batch at a time."""

    def __init__(
        self,
        store: Store,
        config: Config,
        classifier: Classifier,
        responder: Responder,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.config = config
        self.classifier = classifier
        self.responder = responder
        self.clock = clock
        self.brand = BrandContext.from_config(config.brand)

    async def run_once(self) -> int:
        """One pass over both stages; returns the number of items moved.

        Classification goes first, for up to :data:`CLASSIFY_BUDGET` seconds of a backlog: a
        draft is taken most urgent first among classified items, and urgency is only known once
        classified, so in a burst the most urgent mentions are drafted first rather than the
        first ones to be classified. Fresh items never wait longer than the budget.
        """
        moved = 0
        started = time.monotonic()
        while True:
            classified = await self.classify_pending()
            moved += classified
            if not classified or time.monotonic() - started >= CLASSIFY_BUDGET:
                break
            await asyncio.sleep(0)  # let the event loop answer between batches
        moved += await self.draft_pending()
        return moved

    async def drain(self, max_passes: int = 1000) -> int:
        """Run passes until nothing is pending (used by tests and `repbot poll`)."""
        total = 0
        for _ in range(max_passes):
            moved = await self.run_once()
            total += moved
            if not moved:
                break
        return total

    async def classify_pending(self) -> int:
        """new → classified (or skipped) for one batch.

        When the batch call raises, each item is retried alone: only the items that raise on
        their own are recorded as failed, the others move on.
        """
        items = self.store.pending(State.NEW, self.config.pipeline.batch_size, self.clock())
        if not items:
            return 0
        now = self.clock()
        repeats = {item.mention.external_id: self._repeats(item) for item in items}
        try:
            analyses = await self._analyze(items, repeats, now)
        except Exception as exc:  # noqa: BLE001 - a failed batch is retried item by item
            if len(items) == 1:
                self._failed(items[0], exc)
                return 1
            log.warning(
                "classify batch failed, retrying item by item size=%d error=%s",
                len(items),
                redact(f"{type(exc).__name__}: {exc}"),
            )
            for item in items:
                await self._classify_alone(item, repeats, now)
            return len(items)
        for item, analysis in zip(items, analyses, strict=True):
            self._store_analysis(item, analysis)
        return len(items)

    async def _analyze(
        self, items: list[Item], repeats: dict[str, int], now: datetime
    ) -> list[Analysis]:
        mentions = [item.mention for item in items]
        analyses = await asyncio.to_thread(
            analyze, mentions, self.classifier, self.config.urgency, self.brand, repeats, now
        )
        if len(analyses) != len(items):
            raise ValueError(f"classifier returned {len(analyses)} results for {len(items)}")
        return analyses

    async def _classify_alone(self, item: Item, repeats: dict[str, int], now: datetime) -> None:
        try:
            [analysis] = await self._analyze([item], repeats, now)
        except Exception as exc:  # noqa: BLE001 - recorded on the item, retried later
            self._failed(item, exc)
            return
        self._store_analysis(item, analysis)

    def _store_analysis(self, item: Item, analysis: Analysis) -> None:
        skip = f"{analysis.intent}: {analysis.intent_reason}" if analysis.skip else None
        try:
            self.store.set_classified(item.id, analysis.to_dict(), skip_reason=skip)
        except (ValueError, TypeError, OverflowError) as exc:  # an analysis that cannot be stored
            self._failed(item, exc)

    async def draft_pending(self) -> int:
        """classified → drafted → awaiting_approval (or skipped) for one batch, item by item.

        An item whose draft raises is recorded as failed; the others move on.
        """
        items = self.store.pending(State.CLASSIFIED, self.config.pipeline.batch_size, self.clock())
        if not items:
            return 0
        await self.responder.sync_history(self.store)
        await self.responder.prepare([i.mention for i in items])
        others = [i.mention.text for i in items]
        for item in items:
            try:
                await self._draft_one(item, others)
            except Exception as exc:  # noqa: BLE001 - recorded on the item, retried later
                self._failed(item, exc)
        return len(items)

    async def _draft_one(self, item: Item, others: list[str]) -> None:
        intent = item.intent or "other"
        urgency = item.urgency or 0.0
        language = item.analysis.get("language")
        if not self.responder.should_reply(intent, urgency, item.sentiment or "neutral", language):
            self.store.skip(item.id, f"no reply needed ({intent}, urgency {urgency:.2f})")
            return
        context = DraftContext(
            mention=item.mention,
            sentiment=_sentiment(item.sentiment),
            intent=intent,
            urgency=urgency,
            others=[t for t in others if t != item.mention.text],
            probs=dict(item.analysis.get("probs") or {}),
            language=language,
        )
        draft = await self.responder.draft(context)
        self.store.set_draft(item.id, draft.text, draft_meta(draft))

    async def rescore(self, limit: int = 500) -> int:
        """Re-score items waiting for a human, so unanswered urgent ones age toward their SLA.

        An item that cannot be re-scored keeps its score (logged); the others are updated.
        """
        now = self.clock()
        items = self.store.queue([State.AWAITING_APPROVAL, State.SNOOZED], limit=limit)
        for item in items:
            try:
                self._rescore_one(item, now)
            except Exception as exc:  # noqa: BLE001 - one bad item must not stop the others
                log.warning(
                    "rescore failed mention=%d error=%s",
                    item.id,
                    redact(f"{type(exc).__name__}: {exc}"),
                )
        return len(items)

    def _rescore_one(self, item: Item, now: datetime) -> None:
        urgency = score_urgency(
            item.mention,
            SentimentResult(item.sentiment or "neutral", dict(item.analysis.get("probs") or {})),
            IntentResult(item.intent or "other", item.analysis.get("intent_reason", "")),  # type: ignore[arg-type]
            self.config.urgency,
            repeat_contacts=self._repeats(item),
            now=now,
        )
        explanation = [[name, value] for name, value in urgency.explanation]
        self.store.update_urgency(item.id, urgency.score, explanation)

    def _repeats(self, item: Item) -> int:
        mention = item.mention
        return self.store.repeat_contacts(
            mention.platform, mention.author.handle, mention.created_at - REPEAT_WINDOW, item.id
        )

    def _failed(self, item: Item, exc: Exception) -> None:
        error = storable_text(redact(f"{type(exc).__name__}: {exc}"))  # may quote the mention
        log.error("pipeline step failed mention=%d state=%s error=%s", item.id, item.state, error)
        policy = RetryPolicy(max_attempts=self.config.pipeline.max_attempts)
        try:
            record_failure(self.store, item, error, policy, self.clock())
        except InvalidTransition as exc:  # moved on meanwhile: its new state stands
            log.warning("failure not recorded mention=%d: %s", item.id, exc)


def draft_meta(draft: Draft) -> dict[str, Any]:
    """What the approval views need to know about a draft besides its text."""
    return {
        "mode": draft.mode,
        "template": draft.template,
        "limit": draft.limit,
        "knowledge": list(draft.knowledge),
        "fallback_reason": draft.fallback_reason,
        "safe": draft.safe,
    }


def _sentiment(label: str | None) -> Sentiment:
    if label == "negative":
        return "negative"
    if label == "positive":
        return "positive"
    return "neutral"
