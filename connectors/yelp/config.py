"""Options of a ``yelp`` source."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from repbot.durations import Duration
from repbot.secrets import Secret

from .._listing import ListingConfig

EXCERPTS = 3
"""Reviews Yelp Fusion returns per business on standard plans (each an excerpt)."""


class YelpConfig(ListingConfig):
    """Options of a ``yelp`` source (see docs/CONNECTORS.md)."""

    api_key: Secret = Field(description="Yelp Fusion API key (sent as a Bearer token).")
    business_ids: list[str] = Field(
        min_length=1, description="Business ids or aliases whose reviews are read."
    )
    locale: str | None = Field(None, description="Review locale, e.g. en_US (null: Yelp's).")
    limit: int = Field(
        EXCERPTS, ge=1, le=50, description="Reviews per request (plans beyond standard: to 50)."
    )
    paginate: bool = Field(
        False, description="Follow offset pages (only plans that return more than 3 reviews)."
    )
    timezone: str = Field(
        "America/Los_Angeles", description="Time zone of Yelp's time_created (Pacific time)."
    )
    refresh_interval: Duration | None = Field(
        None, description="Unused: every poll already reads all the reviews Yelp shows."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
