"""Mastodon statuses as repbot mentions; status ids and times; reply length."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from repbot.connectors.rss.mapping import html_text
from repbot.models import Author, Mention, Metrics, Thread


def id_at(epoch_seconds: float) -> int:
    """The smallest status id Mastodon assigns at ``epoch_seconds`` (ms timestamp << 16)."""
    return max(int(epoch_seconds * 1000), 0) << 16


def status_id(status: Any) -> str:
    """A status's id as a string of digits; raises when it has none."""
    value = str(status["id"])
    if not value.isdigit():
        raise ValueError(f"status id {value!r} is not numeric")
    return value


def to_mention(status: Any, own_account_id: str | None) -> Mention | None:
    """One status as a mention (``None`` for the brand's own statuses and boosts of them).

    Raises on a status that does not map.
    """
    if not isinstance(status, dict):
        raise TypeError("status is not an object")
    if status.get("reblog"):
        status = status["reblog"]
    account = status["account"]
    if own_account_id is not None and str(account["id"]) == own_account_id:
        return None
    sid = status_id(status)
    parent = status.get("in_reply_to_id")
    spoiler = str(status.get("spoiler_text") or "")
    text = html_text(str(status["content"]))
    return Mention(
        platform="mastodon",
        external_id=sid,
        url=status.get("url") or status.get("uri"),
        kind="reply" if parent else "post",
        author=Author(
            id=str(account["id"]),
            handle=str(account["acct"]),
            display_name=account.get("display_name") or None,
            followers=_int(account.get("followers_count")),
        ),
        text=f"{spoiler}\n{text}".strip() if spoiler else text,
        created_at=_when(status["created_at"]),
        thread=Thread(parent=str(parent) if parent else None),
        language=_language(status.get("language")),
        metrics=Metrics(
            likes=_int(status.get("favourites_count")) or 0,
            reposts=_int(status.get("reblogs_count")) or 0,
            replies=_int(status.get("replies_count")) or 0,
        ),
        raw={"status": _plain(status)},
    )


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _language(value: Any) -> str | None:
    if isinstance(value, str) and value.isalpha() and 2 <= len(value) <= 3:
        return value.lower()
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _plain(value: Any) -> Any:
    """Mastodon.py's typed objects (dicts with datetimes) as JSON-ready values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
