"""Algolia HN Search hits (stories and comments) as repbot mentions."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from repbot.models import Author, Mention, Metrics, Thread

_TAG = re.compile(r"<[^>]+>")
_PARAGRAPH = re.compile(r"<p>", re.IGNORECASE)


def item_url(item_id: str) -> str:
    """The item's page on Hacker News."""
    return f"https://news.ycombinator.com/item?id={item_id}"


def plain_text(markup: Any) -> str:
    """HN's HTML (``<p>``, ``<a>``, ``<i>``, entities) as plain text."""
    if not isinstance(markup, str):
        return ""
    return html.unescape(_TAG.sub("", _PARAGRAPH.sub("\n\n", markup))).strip()


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, int | str) and str(value).isdigit() else None


def to_mention(hit: Any) -> Mention:
    """One hit as a mention (a story is a ``post``, a comment a ``comment``); raises when the
    hit does not map."""
    if not isinstance(hit, dict):
        raise TypeError("hit is not an object")
    item_id = _id(hit["objectID"])
    if item_id is None:
        raise ValueError(f"objectID {hit['objectID']!r} is not numeric")
    created = hit["created_at_i"]
    if not isinstance(created, int):
        raise TypeError("created_at_i is not an integer")
    tags = hit.get("_tags") or []
    is_comment = "comment" in tags or hit.get("comment_text") is not None
    author = str(hit["author"])
    if is_comment:
        text, title = plain_text(hit.get("comment_text")), hit.get("story_title")
        thread = Thread(parent=_id(hit.get("parent_id")), root=_id(hit.get("story_id")))
    else:
        text = plain_text(hit.get("story_text")) or str(hit.get("url") or "")
        title, thread = hit.get("title"), Thread()
    return Mention(
        platform="hackernews",
        external_id=item_id,
        url=item_url(item_id),
        kind="comment" if is_comment else "post",
        author=Author(id=author, handle=author),
        text=text,
        title=title if isinstance(title, str) else None,
        created_at=datetime.fromtimestamp(created, UTC),
        thread=thread,
        metrics=Metrics(
            upvotes=int(hit.get("points") or 0), replies=int(hit.get("num_comments") or 0)
        ),
        community="Hacker News",
        raw=hit,
    )
