"""Presentation helpers shared by the Slack messages and the web console."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from repbot.models import State, utcnow
from repbot.poster import MANUAL
from repbot.respond.limits import limit_for
from repbot.store.base import Item

SnoozeChoice = Literal["1h", "4h", "tomorrow"]
SNOOZE_LABELS: dict[str, str] = {"1h": "1 hour", "4h": "4 hours", "tomorrow": "Tomorrow 9:00"}
STATE_LABELS: dict[State, str] = {
    State.AWAITING_APPROVAL: "Awaiting approval",
    State.APPROVED: "Approved",
    State.POSTING: "Posting",
    State.POSTED: "Posted",
    State.REJECTED: "Rejected",
    State.SNOOZED: "Snoozed",
    State.FAILED: "Failed",
    State.SKIPPED: "Skipped",
    State.NEW: "New",
    State.CLASSIFIED: "Classified",
    State.DRAFTED: "Drafted",
}


def snooze_until(choice: str, tz: str, now: datetime | None = None) -> datetime:
    """When a snooze chosen as ``1h``, ``4h`` or ``tomorrow`` (9:00 in ``tz``) ends, in UTC."""
    now = now or utcnow()
    if choice == "1h":
        return now + timedelta(hours=1)
    if choice == "4h":
        return now + timedelta(hours=4)
    if choice == "tomorrow":
        zone = ZoneInfo(tz)
        local_day = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(local_day, time(9, 0), tzinfo=zone).astimezone(now.tzinfo)
    raise ValueError(f"unknown snooze choice {choice!r}")


def length_limit(item: Item) -> int:
    """The maximum reply length for the item's platform (from the draft's metadata if set)."""
    limit = item.draft_meta.get("limit")
    if isinstance(limit, int) and limit > 0:
        return limit
    return limit_for(item.mention.platform).chars


def stars(rating: int | None) -> str:
    """``★★★☆☆`` for a 1–5 rating, empty when there is none."""
    if not rating:
        return ""
    return "★" * rating + "☆" * (5 - rating)


def reach(item: Item) -> str:
    """A short description of the author's audience, e.g. ``12.3k followers · verified``."""
    author = item.mention.author
    parts = []
    if author.followers is not None:
        parts.append(f"{compact_number(author.followers)} followers")
    if author.karma is not None:
        parts.append(f"{compact_number(author.karma)} karma")
    if author.verified:
        parts.append("verified")
    return " · ".join(parts)


def compact_number(value: int) -> str:
    """``1234`` → ``1.2k``, ``2500000`` → ``2.5M``."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(value)


def author_name(item: Item) -> str:
    """Display name and handle of the mention's author."""
    author = item.mention.author
    handle = f"@{author.handle}" if author.handle else ""
    if author.display_name and handle:
        return f"{author.display_name} ({handle})"
    return author.display_name or handle or "unknown author"


def top_factors(item: Item, n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` urgency factors with the largest absolute contribution."""
    return sorted(item.explanation, key=lambda fc: abs(fc[1]), reverse=True)[:n]


def factors_text(item: Item, n: int = 3) -> str:
    """``negative +0.30, followers +0.20`` for the top urgency factors."""
    return ", ".join(
        f"{factor} {contribution:+.2f}" for factor, contribution in top_factors(item, n)
    )


def urgency_text(item: Item) -> str:
    """``0.82`` or ``n/a``."""
    return "n/a" if item.urgency is None else f"{item.urgency:.2f}"


def draft_notes(item: Item) -> list[str]:
    """The responder's notes to the approver about the draft (holding reply, no knowledge,
    based on an approved reply), from the draft's metadata."""
    notes = item.draft_meta.get("notes")
    if not isinstance(notes, list):
        return []
    return [str(note) for note in notes if isinstance(note, str) and note]


def needs_manual_post(item: Item) -> bool:
    """Whether the item's platform cannot post, so a human posts it and confirms."""
    flags = (
        item.draft_meta.get("post_manually"),
        item.analysis.get("post_manually"),
        item.last_error == MANUAL,
    )
    return item.state is State.APPROVED and any(bool(flag) for flag in flags)


def local_time(value: datetime | None, tz: str) -> str:
    """``2026-11-22 14:05 CET`` in the configured zone, empty for None."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) link (never ``javascript:`` and friends), else None."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


# issue 14: review edits, conversations, the demo sandbox
SANDBOX_NOTE = "sandbox (demo only): nothing was posted on the platform"


def revision_text(item: Item) -> str:
    """``edited 1★ → 4★ after our reply`` for an edited mention, empty when never edited."""
    if not item.revisions:
        return ""
    now = item.mention.rating
    change = (
        f" {item.original_rating}★ → {now}★"
        if item.original_rating and now and item.original_rating != now
        else ""
    )
    times = f" ({item.revisions} times)" if item.revisions > 1 else ""
    after = " after our reply" if item.state is State.POSTED else ""
    return f"edited{change}{after}{times}"
