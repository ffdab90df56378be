"""Options of an ``app_store`` source."""

from __future__ import annotations

from pydantic import Field, model_validator

from repbot.secrets import Secret

from .._listing import ListingConfig

REQUESTS_PER_HOUR = 3_600
"""App Store Connect's published per-key limit (reported in the ``X-Rate-Limit`` header)."""
MAX_TOKEN_LIFETIME = 1_200.0
"""Apple refuses tokens that live longer than 20 minutes."""


class AppStoreConfig(ListingConfig):
    """Options of an ``app_store`` source (see docs/CONNECTORS.md)."""

    issuer_id: str = Field(description="Issuer id of the API key (App Store Connect > Keys).")
    key_id: str = Field(description="Key id of the API key (the .p8 file's AuthKey_<id>).")
    private_key: Secret | None = Field(None, description="The .p8 key's PEM text.")
    private_key_path: str | None = Field(None, description="Path of the .p8 key file.")
    app_ids: list[str] = Field(
        min_length=1, description="Apple ids of the apps whose reviews are read."
    )
    territories: list[str] = Field(
        default_factory=list, description="Only reviews from these territories (USA, GBR...)."
    )
    limit: int = Field(200, ge=1, le=200, description="Reviews per request (1-200).")
    token_lifetime: float = Field(
        MAX_TOKEN_LIFETIME, gt=60, le=MAX_TOKEN_LIFETIME, description="Seconds a token lives."
    )

    @model_validator(mode="after")
    def _one_key(self) -> AppStoreConfig:
        if (self.private_key is None) == (self.private_key_path is None):
            raise ValueError("set exactly one of private_key and private_key_path")
        return self
