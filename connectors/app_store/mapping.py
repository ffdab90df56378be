"""App Store Connect customer reviews (JSON:API) as repbot mentions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from repbot.models import Author, Mention, OwnerReply

from .._listing import parse_time


def app_url(app_id: str) -> str:
    """Where the app's reviews are read on the web (reviews have no address of their own)."""
    return f"https://apps.apple.com/app/id{app_id}?see-all=reviews"


def next_cursor(links: Any) -> str | None:
    """The ``cursor`` parameter of a JSON:API ``links.next`` address."""
    if not isinstance(links, dict) or not isinstance(links.get("next"), str):
        return None
    values = parse_qs(urlsplit(links["next"]).query).get("cursor")
    return values[0] if values else None


def responses_by_review(included: Any) -> dict[str, dict[str, Any]]:
    """The included ``customerReviewResponses`` by the id the review refers to them with."""
    found: dict[str, dict[str, Any]] = {}
    for item in included if isinstance(included, list) else []:
        if isinstance(item, dict) and item.get("type") == "customerReviewResponses":
            found[str(item.get("id"))] = item
    return found


def owner_reply(response: Any) -> OwnerReply | None:
    """A ``customerReviewResponses`` resource as the owner reply (pending ones count)."""
    if not isinstance(response, dict):
        return None
    attributes = response.get("attributes") or {}
    text = attributes.get("responseBody")
    if not isinstance(text, str) or not text:
        return None
    modified = attributes.get("lastModifiedDate")
    return OwnerReply(text=text, created_at=parse_time(modified) if modified else None)


def to_mention(item: Any, app_id: str) -> Mention:
    """One listed review (``{"data": review, "response": resource or None}``) as a mention.

    App Store Connect reports one date per review, that of its current version: an edited
    review keeps its id and comes back newer, so ``updated_at`` is that date.
    """
    review, response = item["data"], item.get("response")
    if not isinstance(review, dict) or review.get("type") != "customerReviews":
        raise TypeError("not a customerReviews resource")
    review_id = review["id"]
    if not isinstance(review_id, str) or not review_id:
        raise ValueError("review id is missing")
    attributes = review["attributes"]
    rating = attributes["rating"]
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValueError(f"rating {rating!r} outside 1-5")
    created = parse_time(attributes["createdDate"])
    nickname = attributes.get("reviewerNickname")
    raw: dict[str, Any] = {"data": review}
    if response is not None:
        raw["included"] = [response]
    return Mention(
        platform="app_store",
        external_id=review_id,
        url=app_url(app_id),
        kind="review",
        author=Author(handle=str(nickname or "anonymous"), display_name=nickname),
        text=str(attributes.get("body") or ""),
        title=attributes.get("title") or None,
        rating=rating,
        created_at=created,
        updated_at=created,
        community=attributes.get("territory"),
        owner_reply=owner_reply(response),
        raw=raw,
    )
