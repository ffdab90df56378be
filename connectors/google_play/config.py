"""Options of a ``google_play`` source and the Reply to Reviews API's published quota."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from repbot.connector import ConnectorConfig
from repbot.connectors.google_business.config import Overlap
from repbot.durations import Duration

GET_QUOTA_PER_HOUR = 200
"""Reply to Reviews API: 200 GET requests (lists and single reviews) per hour per app."""
POST_QUOTA_PER_DAY = 2000
"""Reply to Reviews API: 2,000 replies per day per app."""


class GooglePlayConfig(ConnectorConfig):
    """Options of a ``google_play`` source (see docs/CONNECTORS.md)."""

    package_name: str = Field(description="The app's package name, e.g. 'com.acme.app'.")
    service_account_file: str = Field(
        description="Path of the service account's JSON key (relative: to the working directory)."
    )
    translation_language: str | None = Field(
        None, description="Ask Google to translate reviews into this language, e.g. 'en'."
    )
    page_size: int = Field(100, ge=1, le=100, description="Reviews per request (at most 100).")
    overlap: Overlap = Field(
        900.0,
        description="Reviews modified this many seconds before the newest one seen are "
        "re-read (at most one page).",
    )
    initial_lookback: Duration = Field(
        7 * 86400.0,
        description="How far back the first poll reads (the API only returns the last week).",
    )
    max_pages_per_poll: int = Field(10, ge=1, description="Pages read in one fetch.")
    requests_per_hour: int = Field(
        GET_QUOTA_PER_HOUR - 20,
        ge=1,
        description="GET requests per hour this source may send (the quota is 200 per app).",
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    token_uri: str | None = Field(
        None, description="OAuth token endpoint (null: the key file's token_uri)."
    )
    api_base_url: str | None = Field(
        None,
        description="Base URL of a local simulator (null: Google); also the token endpoint "
        "(its /token) unless token_uri is set.",
    )

    @field_validator("package_name")
    @classmethod
    def _package(cls, value: str) -> str:
        value = value.strip()
        parts = value.split(".")
        if len(parts) < 2 or not all(p and (p[0].isalpha() or p[0] == "_") for p in parts):
            raise ValueError("not an Android package name (e.g. 'com.acme.app')")
        if not all(c.isalnum() or c in "._" for c in value):
            raise ValueError("not an Android package name (e.g. 'com.acme.app')")
        return value

    @model_validator(mode="after")
    def _simulator(self) -> GooglePlayConfig:
        if self.api_base_url:
            self.api_base_url = self.api_base_url.rstrip("/")
            self.token_uri = self.token_uri or f"{self.api_base_url}/token"
        return self
