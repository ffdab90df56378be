"""Options of an ``x`` source and the published limits of X's access tiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from repbot.connector import ConnectorConfig
from repbot.durations import Duration

WINDOW = 900.0
# Recent search refuses a since_id or start_time older than 7 days; stay a little inside.
SEARCH_HORIZON = 7 * 86400.0 - 120.0
Tier = Literal["free", "basic", "pro", "enterprise"]


@dataclass(frozen=True)
class TierLimits:
    """Published per-endpoint limits of an X API access tier (requests per 15 minutes)."""

    mentions: int | None
    search: int | None
    monthly_posts: int | None
    monthly_reads: int | None


TIERS: dict[str, TierLimits] = {
    "free": TierLimits(mentions=1, search=1, monthly_posts=500, monthly_reads=100),
    "basic": TierLimits(mentions=10, search=60, monthly_posts=3_000, monthly_reads=10_000),
    "pro": TierLimits(mentions=300, search=300, monthly_posts=300_000, monthly_reads=1_000_000),
    "enterprise": TierLimits(None, None, None, None),
}


class XConfig(ConnectorConfig):
    """Options of an ``x`` source (see docs/CONNECTORS.md)."""

    bearer_token: SecretStr | None = Field(
        None, description="App-only OAuth 2.0 bearer token, used for reading."
    )
    consumer_key: SecretStr | None = Field(None, description="OAuth 1.0a API key (posting).")
    consumer_secret: SecretStr | None = Field(None, description="OAuth 1.0a API key secret.")
    access_token: SecretStr | None = Field(
        None, description="OAuth 1.0a access token of the brand account (posting)."
    )
    access_token_secret: SecretStr | None = Field(None, description="Its access token secret.")
    brand_user_id: str | None = Field(None, description="Numeric id of the brand account.")
    brand_username: str | None = Field(None, description="Handle of the brand account, no @.")
    mentions: bool = Field(True, description="Poll the brand account's mentions timeline.")
    queries: list[str] = Field(
        default_factory=list, description="Recent-search queries (keywords, #tags, $cashtags)."
    )
    query_suffix: str = Field(
        "-is:retweet", description="Appended to every query, e.g. '-is:retweet lang:en'."
    )
    max_results: int = Field(100, ge=10, le=100, description="Posts per request (10-100).")
    max_pages_per_poll: int = Field(
        10, ge=1, description="Pages followed in one poll before yielding to the next interval."
    )
    overlap: float = Field(
        20.0,
        ge=0,
        description="Posts created this many seconds before the previous poll are re-read "
        "(at most one page), to catch posts that became visible late.",
    )
    initial_lookback: float = Field(
        3600.0, ge=0, description="Seconds of history read on the first run (0: none)."
    )
    backfill_interval: Duration | None = Field(
        6 * 3600.0, description="Seconds between backfill sweeps (null: never)."
    )
    backfill_window: Duration = Field(
        7 * 3600.0, description="How far back a backfill sweep reads (at most 7 days)."
    )
    backfill_max_pages: int = Field(
        3, ge=1, description="Pages of already-seen posts a backfill sweep reads, newest first."
    )
    tier: Tier = Field("basic", description="X API access tier; sets the default limits.")
    reads_per_15min: int | None = Field(
        None, ge=1, description="Requests per endpoint per 15 min (default: the tier's)."
    )
    monthly_read_cap: int | None = Field(
        None, ge=1, description="Posts read per month (default: the tier's)."
    )
    monthly_post_cap: int | None = Field(
        None, ge=0, description="Replies posted per month (default: the tier's)."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    api_base_url: str | None = Field(
        None, description="Base URL of a local simulator (null: the real API)."
    )

    @model_validator(mode="after")
    def _coherent(self) -> XConfig:
        problems = []
        if self.bearer_token is None and not self.has_user_context():
            problems.append(
                "set bearer_token (reading) or consumer_key, consumer_secret, access_token and "
                "access_token_secret (reading and posting)"
            )
        if not self.mentions and not self.queries:
            problems.append("nothing to listen to: enable mentions or add queries")
        named = self.brand_user_id or self.brand_username
        if self.mentions and not named and not self.has_user_context():
            problems.append("mentions needs brand_user_id or brand_username")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def has_user_context(self) -> bool:
        """Whether all four OAuth 1.0a user-context credentials are set."""
        keys = (
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
        )
        return all(k is not None for k in keys)
