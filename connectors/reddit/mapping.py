"""Reddit's listing children (``t1`` comments, ``t3`` submissions) as repbot mentions."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from repbot.models import Author, Mention, Metrics, Thread

WEB = "https://www.reddit.com"


def to_mention(
    child: dict[str, Any],
    username: str | None,
    karma: Callable[[str], int | None],
    size: Callable[[str], int | None],
) -> Mention | None:
    """One listing child as a mention (``None`` for the account's own posts).

    ``karma`` and ``size`` look up an author's karma and a subreddit's subscribers by fullname
    (``None``: unknown); raises on a child that does not map.
    """
    kind, data = child["kind"], child["data"]
    if kind not in ("t1", "t3"):
        raise ValueError(f"unexpected kind {kind!r}")
    author = str(data.get("author") or "[deleted]")
    if username and author.lower() == username.lower():
        return None
    fullname = str(data["name"])
    author_karma = karma(str(data.get("author_fullname")))
    community_size = size(str(data.get("subreddit_id")))
    common = {
        "platform": "reddit",
        "external_id": fullname,
        "author": Author(
            id=data.get("author_fullname"),
            handle=author,
            karma=author_karma,
        ),
        "created_at": datetime.fromtimestamp(float(data["created_utc"]), UTC),
        "community": data.get("subreddit"),
        "community_size": community_size,
        "raw": child,
    }
    if kind == "t3":
        return Mention(
            **common,
            kind="post",
            url=absolute(data.get("permalink")),
            title=str(data.get("title", "")),
            text=str(data.get("selftext") or data.get("url") or ""),
            metrics=Metrics(
                upvotes=int(data.get("score", 0)), replies=int(data.get("num_comments", 0))
            ),
        )
    link_id = data.get("link_id") or link_from_context(data.get("context"))
    permalink = data.get("permalink") or str(data.get("context") or "").split("?")[0] or None
    body = data["body"]
    if not isinstance(body, str):
        raise TypeError("body is not a string")
    return Mention(
        **common,
        kind="comment",
        url=absolute(permalink),
        title=data.get("link_title"),
        text=body,
        thread=Thread(parent=data.get("parent_id"), root=link_id),
        metrics=Metrics(upvotes=int(data.get("score", 0))),
    )


def karma(user: dict[str, Any]) -> int | None:
    """Link plus comment karma of a user_data entry (finite numbers only; ``None``: unknown)."""
    parts = [user.get("link_karma"), user.get("comment_karma")]
    finite = [p for p in parts if isinstance(p, int) or (isinstance(p, float) and math.isfinite(p))]
    values = [int(p) for p in finite]
    return sum(values) if values else None


def created(child: Any) -> float | None:
    """Creation time of a listing child with a name, else ``None`` (malformed)."""
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        return None
    value = child["data"].get("created_utc")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not child["data"].get("name"):
        return None
    return float(value)


def name_of(child: Any) -> str:
    """A listing child's fullname (or id) for logs and dedupe; ``"?"`` if it has none."""
    if isinstance(child, dict) and isinstance(child.get("data"), dict):
        return str(child["data"].get("name") or child["data"].get("id") or "?")
    return "?"


def link_from_context(context: Any) -> str | None:
    """The submission fullname in an inbox item's ``context`` path."""
    parts = str(context or "").split("/")
    if "comments" in parts and parts.index("comments") + 1 < len(parts):
        return f"t3_{parts[parts.index('comments') + 1]}"
    return None


def comment_url(data: dict[str, Any]) -> str | None:
    """The web address of a comment, from its permalink or its ids."""
    permalink = data.get("permalink")
    if permalink:
        return absolute(str(permalink))
    subreddit, link_id, comment_id = data.get("subreddit"), data.get("link_id"), data.get("id")
    if subreddit is not None and link_id and comment_id:
        return f"{WEB}/r/{subreddit}/comments/{str(link_id).removeprefix('t3_')}/_/{comment_id}/"
    return None


def absolute(permalink: str | None) -> str | None:
    """A permalink made absolute on reddit.com."""
    if not permalink:
        return None
    return permalink if permalink.startswith("http") else f"{WEB}{permalink}"
