"""Rows the operations modules (KPIs, SLA, crisis detector, digests) read from a time window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OpsRow:
    """One mention as KPIs, SLA checks, the crisis detector and digests see it."""

    id: int
    source: str
    platform: str
    kind: str
    state: str
    ingested_at: datetime
    text: str
    author: str
    followers: int = 0
    url: str | None = None
    rating: int | None = None
    sentiment: str | None = None
    intent: str | None = None
    urgency: float | None = None
    first_look_at: datetime | None = None
    drafted_at: datetime | None = None
    decided_at: datetime | None = None
    posted_at: datetime | None = None
    decided_by: str | None = None
