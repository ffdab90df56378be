"""Options of a ``trustpilot`` source."""

from __future__ import annotations

from pydantic import Field, model_validator

from repbot.secrets import Secret

from .._listing import ListingConfig

CALLS_PER_5MIN = 833
"""Trustpilot's published limit per API key (besides 10,000 calls per hour)."""


class TrustpilotConfig(ListingConfig):
    """Options of a ``trustpilot`` source (see docs/CONNECTORS.md)."""

    business_unit_ids: list[str] = Field(
        min_length=1, description="Business unit ids whose reviews are read (one stream each)."
    )
    api_key: Secret = Field(description="The application's API key (reading, and OAuth).")
    api_secret: Secret | None = Field(None, description="The application's secret (replies).")
    username: str | None = Field(
        None, description="Business user e-mail for the password grant (else client credentials)."
    )
    password: Secret | None = Field(None, description="That business user's password.")
    author_business_user_id: str | None = Field(
        None, description="Business user id replies are posted as (required for replies)."
    )
    per_page: int = Field(100, ge=1, le=100, description="Reviews per request (1-100).")

    @model_validator(mode="after")
    def _coherent(self) -> TrustpilotConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        if self.password is not None and self.api_secret is None:
            raise ValueError("the password grant needs api_secret")
        return self

    def can_reply(self) -> bool:
        """Whether the options allow posting replies."""
        return self.api_secret is not None and self.author_business_user_id is not None
