"""Business Profile v4 ``Review`` objects to mentions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repbot.errors import MalformedRecord
from repbot.models import Author, Mention, OwnerReply

from .._google import parse_time

PLATFORM = "google_business"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
_TRANSLATED = "(Translated by Google)"
_ORIGINAL = "(Original)"


@dataclass(frozen=True)
class Location:
    """What the listing says about one location: its name and public Maps page."""

    ident: str
    title: str | None = None
    url: str | None = None


def updated(review: Any) -> datetime | None:
    """The review's ``updateTime`` (else ``createTime``), or ``None`` when unreadable."""
    if not isinstance(review, dict):
        return None
    return parse_time(review.get("updateTime")) or parse_time(review.get("createTime"))


def rating(value: Any) -> int | None:
    """``"ONE"``..``"FIVE"`` as 1..5; unspecified is ``None``; anything else is malformed."""
    if value in (None, "STAR_RATING_UNSPECIFIED"):
        return None
    if value not in STARS:
        raise MalformedRecord(f"unknown starRating {str(value)[:40]!r}")
    return STARS[value]


def original_text(comment: str) -> str:
    """The reviewer's own words of a comment Google machine-translated for the owner.

    Translated comments read ``(Translated by Google) <translation>\\n\\n(Original)\\n<text>``.
    """
    if comment.startswith(_TRANSLATED) and _ORIGINAL in comment:
        return comment.split(_ORIGINAL, 1)[1].strip()
    return comment


def to_mention(review: dict[str, Any], location: Location) -> Mention:
    """One review as a mention; raises MalformedRecord (or ValueError) when it cannot map."""
    name = review.get("name")
    created = parse_time(review.get("createTime"))
    if not isinstance(name, str) or "/reviews/" not in name or created is None:
        raise MalformedRecord("review without name or createTime")
    changed = parse_time(review.get("updateTime"))
    reviewer = review.get("reviewer")
    reviewer = reviewer if isinstance(reviewer, dict) else {}
    anonymous = bool(reviewer.get("isAnonymous"))
    display = None if anonymous else _text(reviewer.get("displayName"))
    return Mention(
        platform=PLATFORM,
        external_id=name,
        url=location.url,
        kind="review",
        author=Author(handle=display or "", display_name=display),
        text=original_text(_text(review.get("comment")) or ""),
        rating=rating(review.get("starRating")),
        created_at=created,
        updated_at=changed if changed is not None and changed > created else None,
        community=location.title,
        owner_reply=owner_reply(review, location),
        raw=review,
    )


def owner_reply(review: dict[str, Any], location: Location) -> OwnerReply | None:
    """The owner's ``reviewReply`` already on the review, if any."""
    reply = review.get("reviewReply")
    if not isinstance(reply, dict) or not _text(reply.get("comment")):
        return None
    return OwnerReply(
        text=str(reply["comment"]),
        created_at=parse_time(reply.get("updateTime")),
        url=location.url,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
