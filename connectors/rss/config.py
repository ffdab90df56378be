"""Options of an ``rss`` source."""

from __future__ import annotations

from pydantic import Field, field_validator

from repbot.connector import ConnectorConfig


class RssConfig(ConnectorConfig):
    """Options of an ``rss`` source (see docs/CONNECTORS.md)."""

    feeds: list[str] = Field(
        min_length=1,
        description="Feed URLs (RSS 2.0, RSS 1.0 or Atom: news, blogs, Google Alerts feeds). "
        "A path starting with '/' is read from api_base_url.",
    )
    keywords: list[str] = Field(
        default_factory=list,
        description="Keep only entries whose title or summary contains one of these words "
        "(case-insensitive); empty keeps every entry.",
    )
    skip_existing: bool = Field(
        False,
        description="On the first run, remember the entries already in the feed without "
        "emitting them.",
    )
    max_feed_bytes: int = Field(
        5_000_000, ge=1_000, description="A feed document larger than this is skipped as malformed."
    )
    user_agent: str = Field(
        "repbot/0.1 (reputation monitor; feed reader)", description="Sent with every request."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    api_base_url: str | None = Field(
        None, description="Base URL that feed paths starting with '/' are read from (simulator)."
    )

    @field_validator("feeds")
    @classmethod
    def _feed_urls(cls, feeds: list[str]) -> list[str]:
        bad = [f for f in feeds if not f.startswith(("http://", "https://", "/"))]
        if bad:
            raise ValueError(f"feed URLs must start with http://, https:// or '/': {bad}")
        if len(set(feeds)) != len(feeds):
            raise ValueError("a feed is listed twice")
        return feeds

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, words: list[str]) -> list[str]:
        cleaned = [w.strip().lower() for w in words]
        if any(not w for w in cleaned):
            raise ValueError("keywords must not be blank")
        return cleaned
