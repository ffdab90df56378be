"""The data contracts shared by every part of repbot: mentions, pages and states."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["post", "reply", "comment", "review", "dm", "article", "survey"]
MAX_TEXT_CHARS = 20_000
MAX_COUNT = 2**53 - 1  # exact as a float and in JSON readers; platforms' counters never reach it


def storable(value: Any) -> Any:
    """``value`` with every string in it (dict keys too) made storable as UTF-8 text.

    Lone surrogates (an emoji cut in half, as platforms send them) become U+FFFD, a split
    surrogate pair is joined, and NUL characters are dropped. Dicts, lists and tuples are
    walked; everything else is returned unchanged.
    """
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def storable_text(text: str) -> str:
    """``text`` made storable (see :func:`storable`)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class _Storable(BaseModel):
    """A frozen model whose input strings are made storable before validation."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _storable_input(cls, data: Any) -> Any:
        return storable(data)


def _clamp_count(value: int | None) -> int | None:
    return None if value is None else max(-MAX_COUNT, min(MAX_COUNT, value))


class Author(_Storable):
    """Who wrote a mention, with the reach signals the urgency score uses."""

    id: str | None = None
    handle: str = ""
    display_name: str | None = None
    followers: int | None = None
    verified: bool = False
    karma: int | None = None

    _counts = field_validator("followers", "karma")(_clamp_count)


class Metrics(_Storable):
    """Engagement counters as the platform reported them (clamped to +-``MAX_COUNT``)."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    upvotes: int = 0

    _counts = field_validator("likes", "reposts", "replies", "upvotes")(_clamp_count)


class Thread(_Storable):
    """Where a mention sits in a conversation."""

    parent: str | None = None
    root: str | None = None


class OwnerReply(_Storable):
    """The brand's reply already present on the platform (made in its own UI, or by us).

    A connector sets :attr:`Mention.owner_reply` when the platform shows one; the core then
    closes the mention instead of drafting, and reconciliation uses the same look-up.
    """

    text: str = ""
    created_at: datetime | None = None
    url: str | None = None


class Mention(_Storable):
    """One thing someone said about the brand, normalised across platforms.

    ``(platform, external_id)`` is unique; ``raw`` keeps the original payload for audit. Every
    string, ``raw`` included, is made storable on the way in (see :func:`storable`).
    """

    platform: str
    external_id: str
    url: str | None = None
    kind: Kind = "post"
    author: Author = Field(default_factory=Author)
    text: str = ""
    title: str | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    created_at: datetime
    thread: Thread = Field(default_factory=Thread)
    language: str | None = None
    metrics: Metrics = Field(default_factory=Metrics)
    community: str | None = None
    community_size: int | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None
    """When the author last edited it (reviews): a newer value is a revision of the mention."""
    owner_reply: OwnerReply | None = None

    _counts = field_validator("community_size")(_clamp_count)

    @field_validator("platform", "external_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("text", "title")
    @classmethod
    def _cap_text(cls, value: str | None) -> str | None:
        return value[:MAX_TEXT_CHARS] if value is not None else None

    @field_validator("created_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if not datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime(2100, 1, 1, tzinfo=UTC):
            raise ValueError(f"date out of range: {value.isoformat()}")
        return value


class Page(BaseModel):
    """What one ``Connector.fetch`` returns: new mentions, the next cursor, skipped records."""

    mentions: list[Mention] = Field(default_factory=list)
    cursor: str | None = None
    malformed: int = 0
    has_more: bool = False


class PostedReply(BaseModel):
    """The result of posting a reply on a platform."""

    external_id: str
    url: str | None = None


class State(enum.StrEnum):
    """The lifecycle of one mention (see docs/ARCHITECTURE.md)."""

    NEW = "new"
    CLASSIFIED = "classified"
    DRAFTED = "drafted"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    POSTING = "posting"
    POSTED = "posted"
    REJECTED = "rejected"
    SNOOZED = "snoozed"
    SKIPPED = "skipped"
    FAILED = "failed"


# Which state may follow which is repbot.workflow.TRANSITIONS (the workflow owns the rules).


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)
