"""Options of a ``hackernews`` source."""

from __future__ import annotations

from pydantic import Field

from repbot.durations import Duration

from .._listing import ListingConfig

REQUESTS_PER_HOUR = 10_000
"""Algolia's published limit for the HN Search API, per client IP."""
RESULT_WINDOW = 1_000
"""Algolia returns at most this many hits of one search (page x hitsPerPage)."""


class HackerNewsConfig(ListingConfig):
    """Options of a ``hackernews`` source (see docs/CONNECTORS.md)."""

    queries: list[str] = Field(
        min_length=1, description="Search queries (Algolia full text; one stream each)."
    )
    tags: str = Field(
        "(story,comment)", description="Algolia tags filter: stories and comments by default."
    )
    hits_per_page: int = Field(100, ge=1, le=1000, description="Hits per request (1-1000).")
    exclude_authors: list[str] = Field(
        default_factory=list, description="HN user names whose items are ignored (the brand's)."
    )
    refresh_interval: Duration | None = Field(
        None, description="Unused: search results are not edited in place (null)."
    )
