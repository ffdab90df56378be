"""Turning a flat or nested record (a JSONL line, a CSV row, a webhook body) into a Mention."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from repbot.models import Mention

_AUTHOR_FIELDS = ("id", "handle", "display_name", "followers", "verified", "karma")


def record_to_mention(
    record: dict[str, Any], mapping: Mapping[str, str], platform: str, kind: str | None = None
) -> Mention:
    """A Mention from ``record``; ``mapping`` maps Mention fields to (dotted) record fields.

    Raises ``ValueError`` (or pydantic's ``ValidationError``) for a record that is not one.
    """

    def get(name: str) -> Any:
        return _lookup(record, mapping.get(name, name))

    author = get("author")
    author = dict(author) if isinstance(author, dict) else {"handle": author or ""}
    for name in _AUTHOR_FIELDS:
        value = get(f"author.{name}")
        if value not in (None, ""):
            author[name] = value
    data = {
        "platform": get("platform") or platform,
        "external_id": str(get("external_id") or get("id") or ""),
        "url": get("url") or None,
        "kind": get("kind") or kind or ("review" if get("rating") else "post"),
        "author": author,
        "text": get("text") or "",
        "title": get("title") or None,
        "rating": get("rating") or None,
        "created_at": get("created_at"),
        "metrics": get("metrics") or {},
        "raw": record,
    }
    if not data["external_id"]:
        raise ValueError("record has no external_id")
    return Mention.model_validate(data)


def _lookup(record: dict[str, Any], dotted: str) -> Any:
    if dotted in record:
        return record[dotted]
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
