"""The data contracts shared by every part of repbot: mentions, pages and states."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["post", "reply", "comment", "review", "dm", "article", "survey"]
MAX_TEXT_CHARS = 20_000


class Author(BaseModel):
    """Who wrote a mention, with the reach signals the urgency score uses."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    handle: str = ""
    display_name: str | None = None
    followers: int | None = None
    verified: bool = False
    karma: int | None = None


class Metrics(BaseModel):
    """Engagement counters as the platform reported them."""

    model_config = ConfigDict(frozen=True)

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    upvotes: int = 0


class Thread(BaseModel):
    """Where a mention sits in a conversation."""

    model_config = ConfigDict(frozen=True)

    parent: str | None = None
    root: str | None = None


class Mention(BaseModel):
    """One thing someone said about the brand, normalised across platforms.

    ``(platform, external_id)`` is unique; ``raw`` keeps the original payload for audit.
    """

    model_config = ConfigDict(frozen=True)

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

    @field_validator("platform", "external_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("text")
    @classmethod
    def _cap_text(cls, value: str) -> str:
        return value[:MAX_TEXT_CHARS]

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


TRANSITIONS: dict[State, frozenset[State]] = {
    State.NEW: frozenset({State.CLASSIFIED, State.SKIPPED, State.FAILED}),
    State.CLASSIFIED: frozenset({State.DRAFTED, State.SKIPPED, State.FAILED}),
    State.DRAFTED: frozenset({State.AWAITING_APPROVAL, State.SKIPPED, State.FAILED}),
    State.AWAITING_APPROVAL: frozenset(
        {State.APPROVED, State.REJECTED, State.SNOOZED, State.AWAITING_APPROVAL, State.FAILED}
    ),
    State.SNOOZED: frozenset({State.AWAITING_APPROVAL, State.APPROVED, State.REJECTED}),
    State.APPROVED: frozenset({State.POSTING, State.POSTED, State.FAILED}),
    State.POSTING: frozenset({State.POSTED, State.APPROVED, State.FAILED}),
    State.FAILED: frozenset(
        {State.NEW, State.CLASSIFIED, State.APPROVED, State.POSTED, State.SKIPPED}
    ),
    State.POSTED: frozenset(),
    State.REJECTED: frozenset({State.AWAITING_APPROVAL}),
    State.SKIPPED: frozenset({State.NEW}),
}


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)
