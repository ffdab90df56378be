"""Yelp Fusion review excerpts as repbot mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from repbot.models import Author, Mention


def review_url(url: Any, review_id: str) -> str | None:
    """The review's address without Yelp's tracking parameters (``hrid`` kept)."""
    if not isinstance(url, str) or not url.startswith("http"):
        return None
    parts = urlsplit(url)
    hrid = parse_qs(parts.query).get("hrid", [review_id])[0]
    return f"{parts.scheme}://{parts.netloc}{parts.path}?hrid={hrid}"


def yelp_time(value: Any, zone: ZoneInfo) -> datetime:
    """Yelp's ``time_created`` (``2023-04-10 18:57:16``, local to ``zone``) as aware UTC."""
    if not isinstance(value, str):
        raise TypeError("time_created is not a string")
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


def to_mention(review: Any, business: str, zone: ZoneInfo) -> Mention:
    """One review excerpt as a mention; raises on a review that does not map.

    Yelp dates a review by its latest version, so ``updated_at`` is ``time_created``: an edited
    review comes back with the same id, a newer time and its new rating.
    """
    if not isinstance(review, dict):
        raise TypeError("review is not an object")
    review_id = review["id"]
    if not isinstance(review_id, str) or not review_id:
        raise ValueError("review id is missing")
    rating = review["rating"]
    if not isinstance(rating, int | float) or not 1 <= rating <= 5:
        raise ValueError(f"rating {rating!r} outside 1-5")
    text = review["text"]
    if not isinstance(text, str):
        raise TypeError("text is not a string")
    user = review.get("user") or {}
    created = yelp_time(review["time_created"], zone)
    return Mention(
        platform="yelp",
        external_id=review_id,
        url=review_url(review.get("url"), review_id),
        kind="review",
        author=Author(
            id=user.get("id"),
            handle=str(user.get("name") or user.get("id") or "anonymous"),
            display_name=user.get("name"),
        ),
        text=text,
        rating=round(rating),
        created_at=created,
        updated_at=created,
        community=business,
        raw=review,
    )
