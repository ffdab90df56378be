"""X's v2 post objects as repbot mentions; post ids and times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repbot.models import Author, Mention, Metrics, Thread

TWEPOCH_MS = 1288834974657
TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "in_reply_to_user_id",
    "lang",
    "public_metrics",
    "referenced_tweets",
]
USER_FIELDS = ["name", "username", "public_metrics", "verified", "verified_type"]
EXPANSIONS = ["author_id"]


def snowflake_at(epoch_seconds: float) -> int:
    """The smallest post id X could assign at ``epoch_seconds``."""
    return max(int(epoch_seconds * 1000) - TWEPOCH_MS, 0) << 22


def to_mention(tweet: Any, users: dict[Any, Any], brand_id: str | None) -> Mention | None:
    """One v2 post object as a mention (``None`` for the brand's own posts).

    ``users`` are the answer's ``includes.users`` by id; raises on a post that does not map.
    """
    if not isinstance(tweet, dict):
        raise TypeError("post is not an object")
    tweet_id = str(tweet["id"])
    if not tweet_id.isdigit():
        raise ValueError(f"id {tweet_id!r} is not numeric")
    text = tweet["text"]
    if not isinstance(text, str):
        raise TypeError("text is not a string")
    author_id = tweet.get("author_id")
    if author_id is not None and author_id == brand_id:
        return None
    user = users.get(author_id)
    refs = tweet.get("referenced_tweets") or []
    parent = next((r["id"] for r in refs if r.get("type") == "replied_to"), None)
    metrics = tweet.get("public_metrics") or {}
    handle = user["username"] if user else (author_id or "unknown")
    raw: dict[str, Any] = {"data": tweet}
    if user:
        raw["includes"] = {"users": [user]}
    return Mention(
        platform="x",
        external_id=tweet_id,
        url=f"https://x.com/{handle}/status/{tweet_id}" if user else web_url(tweet_id),
        kind="reply" if parent else "post",
        author=_author(user, author_id),
        text=text,
        created_at=datetime.fromisoformat(str(tweet["created_at"]).replace("Z", "+00:00")),
        thread=Thread(parent=parent, root=tweet.get("conversation_id")),
        language=_language(tweet.get("lang")),
        metrics=Metrics(
            likes=int(metrics.get("like_count", 0)),
            reposts=int(metrics.get("retweet_count", 0)) + int(metrics.get("quote_count", 0)),
            replies=int(metrics.get("reply_count", 0)),
        ),
        raw=raw,
    )


def status_url(handle: str | None, tweet_id: str) -> str:
    """The web address of post ``tweet_id`` by ``handle`` (any handle works on x.com)."""
    return f"https://x.com/{handle}/status/{tweet_id}" if handle else web_url(tweet_id)


def _author(user: dict[str, Any] | None, author_id: str | None) -> Author:
    if not user:
        return Author(id=author_id, handle=author_id or "unknown")
    followers = (user.get("public_metrics") or {}).get("followers_count")
    verified = bool(user.get("verified")) or user.get("verified_type") in (
        "blue",
        "business",
        "government",
    )
    return Author(
        id=str(user.get("id", author_id)),
        handle=str(user["username"]),
        display_name=user.get("name"),
        followers=int(followers) if followers is not None else None,
        verified=verified,
    )


def _language(lang: Any) -> str | None:
    if isinstance(lang, str) and lang and lang not in ("und", "zxx") and not lang.startswith("q"):
        return lang
    return None


def web_url(tweet_id: str) -> str:
    """The handle-free web address of a post."""
    return f"https://x.com/i/web/status/{tweet_id}"


def int_or_none(value: Any) -> int | None:
    """``value`` as an int, or ``None`` when it is absent or not a number."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
