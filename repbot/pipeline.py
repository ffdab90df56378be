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
from typing import Any, Literal

from repbot import followups
from repbot.classify import (
    Analysis,
    BrandContext,
    Classifier,
    IntentResult,
    SentimentResult,
    analyze,
    score_urgency,
)
from repbot.classify.intent_model import IntentPredictor
from repbot.config import Config
from repbot.errors import InvalidTransition
from repbot.models import State, storable_text, utcnow
from repbot.respond import Draft, DraftContext, Responder
from repbot.respond.draft import Sentiment, ThreadTurn
from repbot.secrets import redact
from repbot.store import Item, Store
from repbot.workflow import RetryPolicy, record_failure

log = logging.getLogger(__name__)
REPEAT_WINDOW = timedelta(hours=24)
THREAD_TURNS = 10
"""Messages of a conversation a follow-up's draft sees."""
CLASSIFY_BUDGET = 3.0
"""Seconds of classification per pass before a draft batch, while a backlog lasts."""


class Pipeline:
    """Classifies and drafts whatever is pending, a batch at a time."""

    timing: Callable[[str, float, int], None] | None = None
    """Called with (stage, seconds, items) after each classify batch and each draft (metrics)."""

    def __init__(
        self,
        store: Store,
        config: Config,
        classifier: Classifier,
        responder: Responder,
        *,
        clock: Callable[[], datetime] = utcnow,
        intent_model: IntentPredictor | Literal["default"] | None = "default",
    ) -> None:
        self.store = store
        self.config = config
        self.classifier = classifier
        self.intent_model = intent_model
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
        pending = self.store.pending(State.NEW, self.config.pipeline.batch_size, self.clock())
        items = [item for item in pending if not self._joined(item)]
        if not items:
            return len(pending)
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
            return len(pending)
        for item, analysis in zip(items, analyses, strict=True):
            self._store_analysis(item, analysis)
        return len(pending)

    def _joined(self, item: Item) -> bool:
        """Join ``item`` to an open item of its conversation (see :mod:`repbot.followups`)."""
        window = self.config.responder.conversation_window
        try:
            target = followups.join_target(self.store, item, window)
            if target is None:
                return False
            followups.join(self.store, item, target)
        except InvalidTransition as exc:  # one of them moved meanwhile: draft it on its own
            log.info("conversation not joined mention=%d: %s", item.id, exc)
            return False
        log.info("joined conversation mention=%d into=%d", item.id, target)
        return True

    async def _analyze(
        self, items: list[Item], repeats: dict[str, int], now: datetime
    ) -> list[Analysis]:
        mentions = [item.mention for item in items]
        started = time.perf_counter()
        analyses = await asyncio.to_thread(
            analyze,
            mentions,
            self.classifier,
            self.config.urgency,
            self.brand,
            repeats,
            now,
            self.intent_model,
        )
        if self.timing is not None:
            self.timing("classify", time.perf_counter() - started, len(items))
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
            thread=self._thread(item),
        )
        started = time.perf_counter()
        draft = await self.responder.draft(context)
        if self.timing is not None:
            self.timing("draft", time.perf_counter() - started, 1)
        self.store.set_draft(item.id, draft.text, draft_meta(draft))

    def _thread(self, item: Item) -> tuple[ThreadTurn, ...]:
        """The other messages of ``item``'s conversation and our replies, oldest first."""
        if item.conversation_id is None:
            return ()
        turns: list[ThreadTurn] = []
        for turn in self.store.conversation(item.id, THREAD_TURNS):
            if turn.mention_id != item.id:
                turns.append(ThreadTurn(turn.author, turn.text, ours=False))
            if turn.reply:
                turns.append(ThreadTurn(self.config.brand.name, turn.reply, ours=True))
        return tuple(turns)

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
        "notes": list(draft.notes),
        "based_on": draft.based_on,
    }


def _sentiment(label: str | None) -> Sentiment:
    if label == "negative":
        return "negative"
    if label == "positive":
        return "positive"
    return "neutral"
