"""Options of a ``google_business`` source and the Business Profile API's published quota."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from repbot.connector import ConnectorConfig
from repbot.durations import Duration, parse_duration
from repbot.secrets import Secret


def _overlap(value: Any) -> float:
    return 0.0 if value in (0, "0") else parse_duration(value)


Overlap = Annotated[float, BeforeValidator(_overlap)]
"""Seconds (or a duration string such as ``15m``); 0 turns the overlap off."""

TOKEN_URI = "https://oauth2.googleapis.com/token"
QUOTA_PER_MINUTE = 300
"""Business Profile APIs: 300 requests per minute per project (the default quota)."""


class GoogleBusinessConfig(ConnectorConfig):
    """Options of a ``google_business`` source (see docs/CONNECTORS.md)."""

    client_id: str = Field(description="OAuth 2.0 client id (Google Cloud console).")
    client_secret: Secret = Field(description="Its client secret.")
    refresh_token: Secret = Field(
        description="Refresh token of a user who manages the locations (scope business.manage)."
    )
    account: str = Field(description="Business Profile account: 'accounts/123' or '123'.")
    locations: list[str] = Field(
        default_factory=list,
        description="Location ids ('locations/456' or '456') to watch; empty: every location "
        "of the account.",
    )
    page_size: int = Field(50, ge=1, le=50, description="Reviews per request (at most 50).")
    initial_lookback: Duration = Field(
        7 * 86400.0, description="How far back the first poll of a location reads (seconds)."
    )
    overlap: Overlap = Field(
        900.0,
        description="Reviews updated this long before the newest one seen are re-read (they "
        "may be published late); on a quiet location that is still one request.",
    )
    max_requests_per_fetch: int = Field(
        50, ge=1, description="Requests per fetch; a round over many locations continues."
    )
    requests_per_minute: int = Field(
        QUOTA_PER_MINUTE // 2,
        ge=1,
        description="Requests per minute this source may send (half the project quota).",
    )
    locations_refresh: Duration = Field(
        6 * 3600.0, description="How often the account's location list is re-read."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    token_uri: str = Field(TOKEN_URI, description="OAuth token endpoint.")
    api_base_url: str | None = Field(
        None,
        description="Base URL of a local simulator for both APIs (null: Google); also the "
        "token endpoint (its /token) unless token_uri is set.",
    )

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        ident = value.strip().removeprefix("accounts/")
        if not ident or "/" in ident:
            raise ValueError("account must be 'accounts/<id>' or '<id>'")
        return f"accounts/{ident}"

    @field_validator("locations")
    @classmethod
    def _locations(cls, values: list[str]) -> list[str]:
        ids = []
        for value in values:
            ident = value.strip().rsplit("locations/", 1)[-1]
            if not ident or "/" in ident:
                raise ValueError(f"location {value!r} must be 'locations/<id>' or '<id>'")
            ids.append(ident)
        return ids

    @model_validator(mode="after")
    def _simulator(self) -> GoogleBusinessConfig:
        if self.api_base_url:
            self.api_base_url = self.api_base_url.rstrip("/")
            if self.token_uri == TOKEN_URI:
                self.token_uri = f"{self.api_base_url}/token"
        return self
