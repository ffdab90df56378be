"""Options of a ``bluesky`` source."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from repbot.connector import ConnectorConfig
from repbot.secrets import is_blank

WINDOW = 300.0
"""Bluesky's rate-limit window for reads: 3,000 requests per 5 minutes."""


class BlueskyConfig(ConnectorConfig):
    """Options of a ``bluesky`` source (see docs/CONNECTORS.md)."""

    handle: str = Field(description="The brand account's handle, e.g. acme.bsky.social.")
    app_password: SecretStr = Field(
        description="An app password of that account (Settings → Privacy and security → App "
        "passwords), never the account password."
    )
    mentions: bool = Field(True, description="Read mention and reply notifications.")
    queries: list[str] = Field(
        default_factory=list, description="Post searches (app.bsky.feed.searchPosts, latest)."
    )
    page_size: int = Field(50, ge=1, le=100, description="Items per request (max 100).")
    max_pages_per_poll: int = Field(
        10, ge=1, description="Pages read in one poll before the rest waits for the next interval."
    )
    overlap: float = Field(
        30.0,
        ge=0,
        description="Items indexed this many seconds before the previous poll are re-read "
        "(search indexes posts a little late).",
    )
    initial_lookback: float = Field(
        3600.0, ge=0, description="Seconds of history read on the first run (0: none)."
    )
    requests_per_5min: int = Field(
        3000, ge=1, description="Requests per 5 minutes this source may send (Bluesky's limit)."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    api_base_url: str | None = Field(
        None, description="PDS/AppView base URL (null: https://bsky.social; a simulator in tests)."
    )

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if "." not in value or " " in value:
            raise ValueError("handle must be a domain name such as acme.bsky.social")
        return value

    @field_validator("app_password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        if is_blank(value):
            raise ValueError("app_password is empty")
        return value

    @model_validator(mode="after")
    def _something(self) -> BlueskyConfig:
        if not self.mentions and not self.queries:
            raise ValueError("nothing to listen to: enable mentions or add queries")
        return self
