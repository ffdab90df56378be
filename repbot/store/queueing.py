"""Value types of the queue's read path: filters, keyset cursors, pages, search, history.

A page is a keyset walk in queue order (most urgent first, unscored last, then newest): the
cursor is the last item's ``(urgency, id)``, so a page costs the same at any history size and an
item inserted mid-walk never shifts or repeats the items already walked. A search walks the
full-text index newest first, so its cursor is the last item's id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from repbot.models import State

if TYPE_CHECKING:
    from repbot.store.base import Decision, Item

SEARCH_MAX = 200
_TERM = re.compile(r"\w", re.UNICODE)


class SearchError(ValueError):
    """A search the user typed cannot be run (said in words fit to show them)."""


@dataclass(frozen=True)
class QueueFilter:
    """Which items a queue page shows; ``states`` None means every state."""

    states: tuple[State, ...] | None = (State.AWAITING_APPROVAL,)
    platform: str | None = None
    intent: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class QueueCursor:
    """Where the next page starts: just after the item with this urgency and id."""

    urgency: float | None
    id: int

    def encode(self) -> str:
        """The cursor as URL-safe text (``0.75_123``, ``-_123`` when unscored)."""
        urgency = "-" if self.urgency is None else repr(self.urgency)
        return f"{urgency}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> QueueCursor:
        """The cursor ``raw`` names; raises ValueError when it is not one."""
        head, sep, tail = raw.partition("_")
        if not sep or not tail.isdigit() or len(tail) > 18 or len(head) > 40:
            raise ValueError("not a queue cursor")
        urgency = None if head == "-" else float(head)
        if urgency is not None and not 0.0 <= urgency <= 1.0:
            raise ValueError("not a queue cursor")
        return cls(urgency, int(tail))


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and the cursor of the next (None on the last page)."""

    items: list[Item]
    next: QueueCursor | None


@dataclass(frozen=True)
class HistoryEntry:
    """One earlier mention by the same customer, with what was replied and decided."""

    mention_id: int
    platform: str
    kind: str
    created_at: datetime
    text: str
    state: State
    reply: str | None
    posted_url: str | None
    decisions: list[Decision] = field(default_factory=list)


def fts_query(text: str) -> str:
    """``text`` as an FTS5 query: every word must match (the last one as a prefix).

    Every term is quoted, so FTS5 operators, quotes and parentheses typed by a user are searched
    for as words rather than parsed. Raises SearchError when nothing searchable is left.
    """
    if len(text) > SEARCH_MAX:
        raise SearchError(f"search is too long (at most {SEARCH_MAX} characters)")
    printable = "".join(ch if ch.isprintable() else " " for ch in text)  # NUL ends FTS5 strings
    terms = [t for t in printable.split() if _TERM.search(t)]
    if not terms:
        raise SearchError("search needs at least one letter or digit")
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    quoted[-1] += "*"
    return " ".join(quoted)
