"""Digests: what happened over a period, for Slack, ``repbot report`` and the console dashboard.

:func:`build_digest` reads the period's arrivals once (keyset pages) and gathers volumes by
platform, the sentiment trend (drawn with matplotlib's Agg backend into PNG charts), the top
issues (negative mentions and complaints grouped by their sentence embeddings, each group
named by its most common phrases, with a count and a trend), the KPI table and the SLA
breaches. :class:`DigestPoster` posts the daily and weekly digest to Slack with the charts
uploaded through ``files_upload_v2``.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from repbot.config import Config
from repbot.kpi import KpiReport, compute, window
from repbot.models import utcnow
from repbot.respond.textsim import Embedder, terms
from repbot.sla import clock_for
from repbot.spike import common_phrases
from repbot.store import Store
from repbot.store.ops import OpsRow

log = logging.getLogger(__name__)
SENTIMENTS = ("negative", "neutral", "positive")
MAX_ISSUE_TEXTS = 2000
"""Most negative mentions grouped into issues (the newest ones)."""
SIMILAR = 0.55
"""Cosine similarity at which a complaint joins a group (an embedder's ``similar`` overrides)."""
_HASH_DIM = 512


@dataclass(frozen=True)
class Issue:
    """A group of similar complaints."""

    name: str
    count: int
    earlier: int
    later: int
    examples: list[str]

    @property
    def trend(self) -> str:
        """``rising``, ``falling`` or ``steady``: the period's second half against its first."""
        if self.later > self.earlier * 1.5:
            return "rising"
        if self.earlier > self.later * 1.5:
            return "falling"
        return "steady"


@dataclass
class Digest:
    """Everything a digest or report shows."""

    title: str
    since: datetime
    until: datetime
    total: int = 0
    platforms: dict[str, int] = field(default_factory=dict)
    sentiment: dict[str, Counter[str]] = field(default_factory=dict)
    """Per time slot label (a day, or an hour for periods up to two days), counts per label."""
    issues: list[Issue] = field(default_factory=list)
    kpis: KpiReport | None = None
    breaches: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, bytes] = field(default_factory=dict)
    """PNG images: ``sentiment`` (trend) and ``volume`` (by platform)."""


class HashingEmbedder:
    """A lexical stand-in for the sentence encoder: hashed stemmed terms, L2-normalised."""

    similar = 0.4
    """Word overlap scores lower than meaning does: the grouping threshold for these vectors."""

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Return a ``(len(texts), 512)`` array of unit-length rows."""
        out = np.zeros((len(texts), _HASH_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                digest = hashlib.blake2s(term.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % _HASH_DIM] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (out / np.maximum(norms, 1e-9)).astype(np.float32)
        return unit


def build_digest(
    store: Store,
    config: Config,
    since: datetime,
    until: datetime,
    *,
    embedder: Embedder | None = None,
    title: str = "repbot digest",
    top: int = 5,
    draw: bool = True,
) -> Digest:
    """The digest of the mentions that arrived in ``[since, until)`` (with its charts unless
    ``draw`` is False: :func:`charts` can then draw them in a worker thread)."""
    digest = Digest(title, since, until)
    hourly = until - since <= timedelta(days=2)
    zone = ZoneInfo(config.brand.timezone)
    slot_format = "%m-%d %H:00" if hourly else "%Y-%m-%d"
    step, slot_at = timedelta(hours=1 if hourly else 24), since
    while slot_at < until:  # every slot shows, the quiet ones as zero
        digest.sentiment[slot_at.astimezone(zone).strftime(slot_format)] = Counter()
        slot_at += step
    digest.sentiment[(until - timedelta(microseconds=1)).astimezone(zone).strftime(slot_format)] = (
        Counter()
    )
    rows: list[OpsRow] = []
    negative: list[OpsRow] = []
    for row in window(store, since, until):
        rows.append(row)
        digest.total += 1
        digest.platforms[row.platform] = digest.platforms.get(row.platform, 0) + 1
        slot = row.ingested_at.astimezone(zone).strftime(slot_format)
        digest.sentiment.setdefault(slot, Counter())[row.sentiment or "unclassified"] += 1
        if row.sentiment == "negative" or row.intent == "complaint":
            negative.append(row)
    sla = config.alerts.sla
    digest.kpis = compute(rows, since, until, sla, clock_for(sla, config.brand.timezone))
    digest.breaches = store.alerts_between(since, until, ["sla_breach"])
    midpoint = since + (until - since) / 2
    digest.issues = top_issues(negative[-MAX_ISSUE_TEXTS:], midpoint, embedder, top)
    if draw:
        digest.charts = charts(digest)
    return digest


def top_issues(
    rows: Sequence[OpsRow], midpoint: datetime, embedder: Embedder | None, top: int
) -> list[Issue]:
    """Groups similar complaints (greedy, by cosine to each group's centroid)."""
    if not rows:
        return []
    embedder = embedder or HashingEmbedder()
    vectors = embedder.embed([r.text for r in rows])
    similar = float(getattr(embedder, "similar", SIMILAR))
    groups: list[list[int]] = []
    centroids: list[npt.NDArray[np.float32]] = []
    for index, vector in enumerate(vectors):
        scores = [float(c @ vector) for c in centroids]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= similar:
            groups[best].append(index)
            members = vectors[groups[best]].mean(axis=0)
            centroids[best] = members / max(float(np.linalg.norm(members)), 1e-9)
        else:
            groups.append([index])
            centroids.append(vector)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return [_issue([rows[i] for i in g], midpoint) for g in groups[:top]]


def _issue(members: list[OpsRow], midpoint: datetime) -> Issue:
    phrases = common_phrases((r.text for r in members), 3)
    name = ", ".join(p for p, _ in phrases) or members[0].text[:40]
    later = sum(1 for r in members if r.ingested_at >= midpoint)
    examples = [r.text[:140] for r in sorted(members, key=lambda r: -r.followers)[:2]]
    return Issue(name, len(members), len(members) - later, later, examples)


def charts(digest: Digest) -> dict[str, bytes]:
    """The digest's PNG charts (matplotlib, Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out: dict[str, bytes] = {}
    slots = sorted(digest.sentiment)
    figure = Figure(figsize=(8, 3.2), dpi=100)
    axes = figure.subplots()
    bottom = np.zeros(len(slots))
    colours = {"negative": "#d9534f", "neutral": "#aaaaaa", "positive": "#5cb85c"}
    for label in (*SENTIMENTS, "unclassified"):
        values = np.array([digest.sentiment[s].get(label, 0) for s in slots], dtype=float)
        if values.any() or label != "unclassified":
            axes.bar(slots, values, bottom=bottom, label=label, color=colours.get(label, "#ddd"))
            bottom += values
    axes.set_title("Mentions by sentiment")
    axes.legend(loc="upper left", fontsize=8)
    axes.xaxis.set_tick_params(labelrotation=45, labelsize=7)
    figure.tight_layout()
    out["sentiment"] = _png(figure)
    figure = Figure(figsize=(5, 3), dpi=100)
    axes = figure.subplots()
    names = sorted(digest.platforms, key=lambda p: -digest.platforms[p])
    axes.barh(names, [digest.platforms[n] for n in names], color="#337ab7")
    axes.set_title("Mentions by platform")
    figure.tight_layout()
    out["volume"] = _png(figure)
    return out


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def summary(digest: Digest) -> str:
    """The digest as Slack mrkdwn text."""
    lines = [
        f"*{digest.title}*: {digest.since:%Y-%m-%d %H:%M} to {digest.until:%Y-%m-%d %H:%M} UTC",
        f"{digest.total} mentions: "
        + (", ".join(f"{p} {n}" for p, n in sorted(digest.platforms.items())) or "none"),
    ]
    if digest.kpis is not None:
        lines.append(f"Response times in {digest.kpis.clock}:")
        for stage, stats in digest.kpis.overall.items():
            if stats.count:
                p50, p90 = duration_text(stats.p50), duration_text(stats.p90)
                lines.append(
                    f"time to {stage}: p50 {p50}, p90 {p90},"
                    f" {stats.within or 0:.0%} within target (n={stats.count})"
                )
    if digest.issues:
        lines.append("*Top issues*")
        lines += [f"• {i.name}: {i.count} ({i.trend})" for i in digest.issues]
    lines.append(f"SLA breaches: {len(digest.breaches)}")
    return "\n".join(lines)


def duration_text(seconds: float | None) -> str:
    """Seconds as a short human duration (``-`` for None)."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class DigestPoster:
    """Posts the daily (and, on Mondays, weekly) digest at ``alerts.digest.hour`` local time."""

    def __init__(
        self,
        store: Store,
        config: Config,
        embedder: Embedder | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store, self.config, self.embedder, self.now = store, config, embedder, now

    def due(self) -> list[tuple[str, timedelta]]:
        """The digests due now and not posted yet: ``(name, period)`` pairs."""
        cfg = self.config.alerts.digest
        local = self.now().astimezone(ZoneInfo(self.config.brand.timezone))
        if local.hour < cfg.hour:
            return []
        wanted = []
        if cfg.daily:
            wanted.append(("daily", timedelta(days=1), local.strftime("%Y-%m-%d")))
        if cfg.weekly and local.weekday() == 0:
            wanted.append(("weekly", timedelta(days=7), local.strftime("%G-W%V")))
        return [
            (name, period)
            for name, period, stamp in wanted
            if self.store.kv_get(f"digest:{name}") != stamp
        ]

    async def run_once(self) -> int:
        """Post every due digest; returns how many were posted."""
        posted = 0
        for name, period in self.due():
            await self.post(name, period)
            posted += 1
        return posted

    async def post(self, name: str, period: timedelta) -> None:
        """Build the ``name`` digest over the last ``period`` and post it with its charts."""
        from repbot.alerts import slack_client

        cfg = self.config.alerts.digest
        channel = cfg.channel or self.config.alerts.slack_channel
        slack = self.config.approval.slack
        until = self.now()
        digest = build_digest(
            self.store, self.config, until - period, until, embedder=self.embedder,
            title=f"repbot {name} digest", top=cfg.top_issues,
        )  # fmt: skip
        if channel and slack is not None and slack.bot_token is not None:
            client = slack_client(self.config)
            answer = await client.chat_postMessage(channel=channel, text=summary(digest))
            await client.files_upload_v2(
                channel=channel,
                thread_ts=answer.get("ts"),
                file_uploads=[
                    {"content": png, "filename": f"{chart}.png", "title": f"{name} {chart}"}
                    for chart, png in digest.charts.items()
                ],
            )
        local = until.astimezone(ZoneInfo(self.config.brand.timezone))
        stamp = local.strftime("%Y-%m-%d" if name == "daily" else "%G-W%V")
        self.store.kv_set(f"digest:{name}", stamp)
