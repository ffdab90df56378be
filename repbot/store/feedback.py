"""What an approver said a mention really is (a relabel or a labelled reject reason)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FeedbackLabel:
    """One human label of a mention: ``label`` is an intent name (``irrelevant`` for "not
    about us"); ``previous`` the intent the classifier had given it."""

    id: int
    mention_id: int
    label: str
    actor: str
    channel: str
    created_at: datetime
    text: str
    previous: str | None = None
    reason: str | None = None
