"""Bluesky notifications and post views as repbot mentions; ``at://`` URIs and times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from repbot.models import Author, Mention, Metrics, Thread

POST = "app.bsky.feed.post"


def when(value: Any) -> float:
    """An atproto datetime string as epoch seconds; raises when it is not one."""
    if not isinstance(value, str):
        raise TypeError("datetime is not a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(epoch: float) -> str:
    """Epoch seconds in atproto's datetime format."""
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def web_url(uri: str, handle: str) -> str:
    """The bsky.app address of post ``uri`` (``at://did/app.bsky.feed.post/rkey``)."""
    rkey = uri.rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


def to_mention(item: Any, own_did: str | None) -> Mention | None:
    """A notification or a post view as a mention (``None`` for the brand's own posts).

    Both carry ``uri``, ``cid``, ``author``, ``record`` and ``indexedAt``; raises on an item
    that does not map.
    """
    if not isinstance(item, dict):
        raise TypeError("item is not an object")
    uri, cid, author, record = item["uri"], item["cid"], item["author"], item["record"]
    if not (isinstance(uri, str) and uri.startswith("at://") and f"/{POST}/" in uri):
        raise ValueError(f"not a post uri: {uri!r}")
    if not isinstance(cid, str) or not cid:
        raise ValueError("post has no cid")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("record has no text")
    if own_did is not None and author["did"] == own_did:
        return None
    indexed = when(item["indexedAt"])
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
    langs = record.get("langs")
    return Mention(
        platform="bluesky",
        external_id=uri,
        url=web_url(uri, str(author["handle"])),
        kind="reply" if reply else "post",
        author=Author(
            id=str(author["did"]),
            handle=str(author["handle"]),
            display_name=author.get("displayName") or None,
            followers=author.get("followersCount"),
        ),
        text=record["text"],
        created_at=_created(record.get("createdAt"), indexed),
        thread=Thread(
            parent=reply["parent"]["uri"] if reply else None,
            root=reply["root"]["uri"] if reply else None,
        ),
        language=_language(langs),
        metrics=Metrics(
            likes=int(item.get("likeCount") or 0),
            reposts=int(item.get("repostCount") or 0) + int(item.get("quoteCount") or 0),
            replies=int(item.get("replyCount") or 0),
        ),
        raw={
            k: item[k]
            for k in ("uri", "cid", "author", "record", "indexedAt", "reason")
            if k in item
        },
    )


def _created(value: Any, indexed: float) -> datetime:
    """``createdAt`` (the author's clock) unless absent or implausible, else ``indexedAt``."""
    try:
        created = when(value)
    except (TypeError, ValueError):
        created = indexed
    if not 946_684_800 <= created <= indexed + 600:
        created = indexed
    return datetime.fromtimestamp(created, UTC)


def _language(langs: Any) -> str | None:
    if isinstance(langs, list) and langs and isinstance(langs[0], str):
        primary = langs[0].split("-")[0].lower()
        return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None
    return None


def strong_ref(raw: dict[str, Any]) -> dict[str, str]:
    """The ``{uri, cid}`` of a stored mention's post."""
    return {"uri": str(raw["uri"]), "cid": str(raw["cid"])}


def reply_root(raw: dict[str, Any]) -> dict[str, str]:
    """The thread root a reply to this post must name: its own root, or the post itself."""
    record = raw.get("record") or {}
    reply = record.get("reply") if isinstance(record, dict) else None
    root = reply.get("root") if isinstance(reply, dict) else None
    if isinstance(root, dict) and root.get("uri") and root.get("cid"):
        return {"uri": str(root["uri"]), "cid": str(root["cid"])}
    return strong_ref(raw)
