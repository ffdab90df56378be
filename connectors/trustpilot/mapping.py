"""Trustpilot review objects as repbot mentions."""

from __future__ import annotations

from typing import Any

from repbot.models import Author, Mention, Metrics, OwnerReply

from .._listing import parse_time


def review_url(review_id: str) -> str:
    """The public page of a review."""
    return f"https://www.trustpilot.com/reviews/{review_id}"


def owner_reply(review: dict[str, Any], url: str) -> OwnerReply | None:
    """The company reply shown on a review, if any (its last edit time counts)."""
    reply = review.get("companyReply")
    if not isinstance(reply, dict) or not reply.get("text"):
        return None
    when = reply.get("updatedAt") or reply.get("createdAt")
    return OwnerReply(
        text=str(reply["text"]), created_at=parse_time(when) if when else None, url=url
    )


def to_mention(review: Any, unit: str) -> Mention:
    """One review as a mention; raises on a review that does not map."""
    if not isinstance(review, dict):
        raise TypeError("review is not an object")
    review_id = review["id"]
    if not isinstance(review_id, str) or not review_id:
        raise ValueError("review id is missing")
    stars = review["stars"]
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValueError(f"stars {stars!r} outside 1-5")
    consumer = review.get("consumer") or {}
    url = review_url(review_id)
    updated = review.get("updatedAt")
    return Mention(
        platform="trustpilot",
        external_id=review_id,
        url=url,
        kind="review",
        author=Author(
            id=consumer.get("id"),
            handle=str(consumer.get("displayName") or consumer.get("id") or "anonymous"),
            display_name=consumer.get("displayName"),
        ),
        text=str(review.get("text") or ""),
        title=review.get("title") or None,
        rating=stars,
        created_at=parse_time(review["createdAt"]),
        updated_at=parse_time(updated) if updated else None,
        language=review.get("language") or None,
        metrics=Metrics(likes=int(review.get("numberOfLikes") or 0)),
        community=unit,
        owner_reply=owner_reply(review, url),
        raw=review,
    )
