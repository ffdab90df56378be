"""Records of review revisions and conversation turns, as the Store returns them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from repbot.models import State


@dataclass(frozen=True)
class Revision:
    """A previous version of a mention the author edited: what it said before ``seen_at``."""

    mention_id: int
    text: str
    title: str | None
    rating: int | None
    updated_at: datetime | None
    state: State
    """The item's state when the edit arrived (``posted``: the edit came after our reply)."""
    seen_at: datetime


@dataclass(frozen=True)
class Turn:
    """One message of a conversation and the brand's answer to it, if any."""

    mention_id: int
    author: str
    text: str
    rating: int | None
    created_at: datetime
    state: State
    reply: str | None
    """The reply made on the platform if there is one, else our posted reply; None while
    unanswered."""
    replied_at: datetime | None
