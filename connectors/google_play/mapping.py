"""Android Publisher v3 ``Review`` objects to mentions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from repbot.errors import MalformedRecord
from repbot.models import Author, Mention, Metrics, OwnerReply

PLATFORM = "google_play"


def timestamp(value: Any) -> datetime | None:
    """A ``Timestamp`` (``{"seconds": "1700000000", "nanos": 5}``) as an aware datetime."""
    if not isinstance(value, dict):
        return None
    try:
        seconds = int(value.get("seconds"))  # type: ignore[arg-type]
        nanos = int(value.get("nanos") or 0)
        return datetime.fromtimestamp(seconds + nanos / 1e9, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def comment(review: Any, kind: str) -> dict[str, Any] | None:
    """The review's first ``userComment`` or ``developerComment``."""
    comments = review.get("comments") if isinstance(review, dict) else None
    for entry in comments if isinstance(comments, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get(kind), dict):
            found: dict[str, Any] = entry[kind]
            return found
    return None


def modified(review: Any) -> datetime | None:
    """When the reviewer last changed the review, or ``None`` when unreadable."""
    user = comment(review, "userComment")
    return timestamp(user.get("lastModified")) if user else None


def review_url(package: str, review_id: str) -> str:
    """The review on the app's Play Store page."""
    return (
        f"https://play.google.com/store/apps/details?id={quote(package)}"
        f"&reviewId={quote(review_id, safe='')}"
    )


def to_mention(review: dict[str, Any], package: str) -> Mention:
    """One review as a mention; raises MalformedRecord (or ValueError) when it cannot map.

    Play gives no creation time: ``created_at`` and ``updated_at`` are the user comment's
    ``lastModified`` (an edit brings a newer one). A title written apart from the body comes
    joined to it by a tab.
    """
    review_id = review.get("reviewId")
    user = comment(review, "userComment")
    changed = timestamp(user.get("lastModified")) if user else None
    if not isinstance(review_id, str) or not review_id or user is None or changed is None:
        raise MalformedRecord("review without reviewId or userComment.lastModified")
    stars = user.get("starRating")
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise MalformedRecord(f"starRating {str(stars)[:20]!r} is not 1-5")
    title, _, body = str(user.get("text") or "").strip().rpartition("\t")
    name = review.get("authorName") if isinstance(review.get("authorName"), str) else None
    url = review_url(package, review_id)
    return Mention(
        platform=PLATFORM,
        external_id=review_id,
        url=url,
        kind="review",
        author=Author(handle=name or "", display_name=name or None),
        title=title.strip() or None,
        text=body.strip(),
        rating=stars,
        created_at=changed,
        updated_at=changed,
        metrics=Metrics(likes=_count(user.get("thumbsUpCount"))),
        community=package,
        owner_reply=owner_reply(review, url),
        raw=review,
    )


def owner_reply(review: dict[str, Any], url: str | None) -> OwnerReply | None:
    """The developer's reply already on the review, if any."""
    developer = comment(review, "developerComment")
    if developer is None or not isinstance(developer.get("text"), str) or not developer["text"]:
        return None
    return OwnerReply(
        text=developer["text"], created_at=timestamp(developer.get("lastModified")), url=url
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
