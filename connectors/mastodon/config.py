"""Options of a ``mastodon`` source."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from repbot.connector import ConnectorConfig
from repbot.secrets import is_blank

WINDOW = 300.0
"""Mastodon's default API limit: 300 requests per account per 5 minutes."""


class MastodonConfig(ConnectorConfig):
    """Options of a ``mastodon`` source (see docs/CONNECTORS.md)."""

    api_base_url: str = Field(
        description="The brand account's instance, e.g. https://mastodon.social "
        "(Mastodon.py's own setting; a local simulator in tests)."
    )
    access_token: SecretStr = Field(
        description="Access token of the brand account (scopes read:notifications, "
        "read:statuses, read:search, read:accounts, write:statuses)."
    )
    notifications: bool = Field(True, description="Read mention notifications (mentions, replies).")
    hashtags: list[str] = Field(
        default_factory=list, description="Hashtags (without #) whose public timeline is read."
    )
    queries: list[str] = Field(
        default_factory=list,
        description="Full-text status searches (needs an instance with search enabled).",
    )
    page_size: int = Field(40, ge=1, le=40, description="Items per request (max 40).")
    max_pages_per_poll: int = Field(
        10, ge=1, description="Pages read in one poll before the rest waits for the next interval."
    )
    overlap: float = Field(
        60.0,
        ge=0,
        description="Hashtag and search statuses created this many seconds before the previous "
        "poll are re-read (federated posts arrive late).",
    )
    skip_existing: bool = Field(
        False, description="First run: remember the newest existing item without emitting any."
    )
    requests_per_5min: int = Field(
        300, ge=1, description="Requests per 5 minutes this source may send (Mastodon's default)."
    )
    min_ratelimit_remaining: int = Field(
        2, ge=0, description="Stop and wait for the reset when fewer requests remain."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    user_agent: str = Field(
        "repbot/0.1 (reputation monitor)", description="Sent with every request."
    )

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if is_blank(value):
            raise ValueError("access_token is empty")
        return value

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        cleaned = [t.strip().removeprefix("#") for t in tags]
        if any(not t or not t.replace("_", "").isalnum() for t in cleaned):
            raise ValueError("hashtags are letters, digits and underscores (no #, no spaces)")
        return cleaned

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("api_base_url must be an http(s) URL, e.g. https://mastodon.social")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _something(self) -> MastodonConfig:
        if not (self.notifications or self.hashtags or self.queries):
            raise ValueError("nothing to listen to: enable notifications or add hashtags/queries")
        return self
