"""Crisis / spike detector (``alerts.crisis``).

Every pass counts the mentions (and the negative ones) of the last ``interval``, overall and
per source, and compares them with the ``baseline_intervals`` before it: a spike is a volume
whose robust z-score (median and MAD, with a Poisson floor so a flat baseline does not alert
on one extra mention) reaches ``threshold`` and is at least ``min_ratio`` times the median, or
a negative share ``negative_delta`` (and ``threshold`` binomial standard errors) above the
baseline's, in both cases with at least
``min_volume`` mentions. An incident is one ``crisis`` alert (with the top examples and the most
common phrases), at most one ``crisis_update`` per ``update_every`` while it lasts, and one
``crisis_over`` once it has been quiet for ``over_after``. While any scope (overall or a
source) is in an incident or within ``cooldown`` after one, no other incident is opened (one
crisis, one alert). State lives in the store's key-value table, so a restart neither repeats
nor forgets an incident.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from repbot.alerts_config import CrisisConfig
from repbot.kpi import window
from repbot.models import utcnow
from repbot.store import Store
from repbot.store.ops import OpsRow

log = logging.getLogger(__name__)
OVERALL = "all"
_MAD_SCALE = 1.4826
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP_TEXT = (
    "a an and are as at be been but by can could did do does don't for from had has have i i'm"
    " im in is it it's its me my no not of on or our so that the their them then there this to"
    " too us was we were what when where which who why will with would you your just get got"
    " am all any been being than very really still again also now about after"
    " one more some here over into because they he she his her him"
)
_STOP = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True)
class Bucket:
    """One interval's counts."""

    total: int = 0
    negative: int = 0


def spike_reason(current: Bucket, baseline: Sequence[Bucket], cfg: CrisisConfig) -> str | None:
    """Why ``current`` is a spike against ``baseline`` (None: it is not)."""
    if current.total < cfg.min_volume or not baseline:
        return None
    totals = [b.total for b in baseline]
    median = statistics.median(totals)
    mad = statistics.median(abs(t - median) for t in totals)
    scale = max(_MAD_SCALE * mad, math.sqrt(max(median, 1.0)))
    if (current.total - median) / scale >= cfg.threshold and current.total >= cfg.min_ratio * max(
        median, 1.0
    ):
        return f"volume {current.total} against a usual {median:g} per interval"
    seen = sum(totals)
    usual = sum(b.negative for b in baseline) / seen if seen else 0.0
    share = current.negative / current.total
    spread = math.sqrt(max(usual * (1 - usual), 0.01) / current.total)  # binomial noise
    rise = share - usual
    if current.negative >= cfg.min_negative and rise >= max(
        cfg.negative_delta, cfg.threshold * spread
    ):
        return f"negative share {share:.0%} against a usual {usual:.0%}"
    return None


def common_phrases(texts: Iterable[str], k: int = 5) -> list[tuple[str, int]]:
    """The ``k`` most common phrases (two-word ones first when they repeat), counted once per
    text, with their counts."""
    pairs: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for text in texts:
        tokens = _WORD.findall(text.lower())
        pairs.update({f"{a} {b}" for a, b in itertools.pairwise(tokens) if _content(a, b)})
        words.update({t for t in tokens if _content(t)})
    chosen = [(p, n) for p, n in pairs.most_common(k) if n >= 2]
    covered = {w for p, _ in chosen for w in p.split()}
    for word, n in words.most_common():
        if len(chosen) >= k:
            break
        if word not in covered:
            chosen.append((word, n))
    return sorted(chosen, key=lambda pn: -pn[1])[:k]


def _content(*tokens: str) -> bool:
    return all(len(t) > 2 and t not in _STOP and not t.isdigit() for t in tokens)


class CrisisDetector:
    """Runs the detector over the store and records its alerts (``Store.add_alert``)."""

    def __init__(
        self,
        store: Store,
        cfg: CrisisConfig,
        link: Callable[[int], str],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store, self.cfg, self.link, self.now = store, cfg, link, now

    def run_once(self) -> list[str]:
        """One pass; returns the kinds of the alerts it recorded."""
        if not self.cfg.enabled:
            return []
        now = self.now()
        step = timedelta(seconds=self.cfg.interval)
        rows = list(window(self.store, now - step * (self.cfg.baseline_intervals + 1), now))
        current = [r for r in rows if r.ingested_at >= now - step]
        counts = self._counts(rows, now, step)
        scopes = [OVERALL, *sorted(set(counts) - {OVERALL})]
        sent: list[str] = []
        for scope in scopes:
            mine = current if scope == OVERALL else [r for r in current if r.source == scope]
            busy = any(self._busy(other, now) for other in scopes)
            sent += self._scope(scope, counts.get(scope, {}), mine, now, may_open=not busy)
        return sent

    def _busy(self, scope: str, now: datetime) -> bool:
        """True while ``scope`` is in an incident or its cool-down."""
        state = self._state(scope)
        over_at = _when(state.get("over_at"))
        cooling = over_at is not None and now - over_at < timedelta(seconds=self.cfg.cooldown)
        return state.get("state") == "active" or cooling

    def _counts(
        self, rows: list[OpsRow], now: datetime, step: timedelta
    ) -> dict[str, dict[int, Bucket]]:
        totals: Counter[tuple[str, int]] = Counter()
        negatives: Counter[tuple[str, int]] = Counter()
        for row in rows:
            index = int((now - row.ingested_at) / step)
            totals[(OVERALL, index)] += 1
            totals[(row.source, index)] += 1
            if row.sentiment == "negative":
                negatives[(OVERALL, index)] += 1
                negatives[(row.source, index)] += 1
        out: dict[str, dict[int, Bucket]] = {}
        for (scope, index), total in totals.items():
            out.setdefault(scope, {})[index] = Bucket(total, negatives[(scope, index)])
        return out

    def _scope(
        self,
        scope: str,
        counts: dict[int, Bucket],
        current: list[OpsRow],
        now: datetime,
        *,
        may_open: bool = True,
    ) -> list[str]:
        baseline = [counts.get(i, Bucket()) for i in range(1, self.cfg.baseline_intervals + 1)]
        now_bucket = counts.get(0, Bucket())
        reason = spike_reason(now_bucket, baseline, self.cfg)
        state = self._state(scope)
        if state.get("state") == "active":
            return self._ongoing(scope, state, reason, now_bucket, current, now)
        if reason is None:
            return []
        if not may_open:
            log.info("crisis signal during an incident or its cool-down scope=%s", scope)
            return []
        stamp = now.isoformat()
        self._save(scope, {"state": "active", "started": stamp, "signal": stamp, "update": stamp})
        self._alert(scope, "crisis", f"possible crisis: {reason}", now_bucket, current)
        return ["crisis"]

    def _ongoing(
        self,
        scope: str,
        state: dict[str, Any],
        reason: str | None,
        bucket: Bucket,
        current: list[OpsRow],
        now: datetime,
    ) -> list[str]:
        if reason is not None:
            state["signal"] = now.isoformat()
            last = _when(state.get("update")) or now
            if now - last < timedelta(seconds=self.cfg.update_every):
                self._save(scope, state)
                return []
            state["update"] = now.isoformat()
            self._save(scope, state)
            self._alert(scope, "crisis_update", f"crisis continues: {reason}", bucket, current)
            return ["crisis_update"]
        signal = _when(state.get("signal")) or now
        if now - signal < timedelta(seconds=self.cfg.over_after):
            return []
        started = _when(state.get("started")) or signal
        self._save(scope, {"state": "over", "over_at": now.isoformat()})
        minutes = int((now - started).total_seconds() // 60)
        self.store.add_alert(
            _label(scope), "crisis_over", f"crisis over after {minutes} min; volume back to usual"
        )
        return ["crisis_over"]

    def _alert(
        self, scope: str, kind: str, headline: str, bucket: Bucket, current: list[OpsRow]
    ) -> None:
        shown = sorted(current, key=lambda r: (r.sentiment != "negative", -r.followers, r.id))
        examples = [
            f"@{r.author} ({r.platform}): {_snippet(r.text)} {self.link(r.id)}"
            for r in shown[: self.cfg.examples]
        ]
        negative = [r.text for r in current if r.sentiment == "negative"]
        phrases = common_phrases(negative or [r.text for r in current])
        lines = [
            f"{headline} ({bucket.total} mentions, {bucket.negative} negative,"
            f" in the last {int(self.cfg.interval // 60)} min)",
            "phrases: " + ", ".join(f'"{p}" ({n})' for p, n in phrases),
            *examples,
        ]
        self.store.add_alert(_label(scope), kind, "\n".join(lines))

    def _state(self, scope: str) -> dict[str, Any]:
        raw = self.store.kv_get(f"crisis:{scope}")
        loaded = json.loads(raw) if raw else {}
        return loaded if isinstance(loaded, dict) else {}

    def _save(self, scope: str, state: dict[str, Any]) -> None:
        self.store.kv_set(f"crisis:{scope}", json.dumps(state))


def _label(scope: str) -> str:
    return "all sources" if scope == OVERALL else scope


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _snippet(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
