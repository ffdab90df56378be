"""Options of a ``reddit`` source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from repbot.connector import ConnectorConfig


class RedditConfig(ConnectorConfig):
    """Options of a ``reddit`` source (see docs/CONNECTORS.md)."""

    client_id: str = Field("", description="The app's client id (reddit.com/prefs/apps).")
    client_secret: SecretStr | None = Field(None, description="The app's secret.")
    username: str | None = Field(None, description="The brand's Reddit account (posting, inbox).")
    password: SecretStr | None = Field(None, description="Its password (script apps).")
    user_agent: str = Field(
        "python:repbot:0.1 (reputation monitor)",
        description="Descriptive User-Agent, e.g. 'python:acme-repbot:1.0 (by u/acme_support)'.",
    )
    queries: list[str] = Field(default_factory=list, description="Search queries (posts).")
    search_scope: Literal["all", "subreddits"] = Field(
        "all", description="Search all of Reddit or only the listed subreddits."
    )
    subreddits: list[str] = Field(
        default_factory=list, description="Subreddits whose new posts and comments are read."
    )
    submissions: bool = Field(True, description="Read new submissions of the subreddits.")
    comments: bool = Field(True, description="Read new comments of the subreddits.")
    inbox_mentions: bool = Field(True, description="Read u/username mentions (needs login).")
    backfill_limit: int = Field(
        0, ge=0, description="Items per stream read on the first run (0: start from now)."
    )
    overlap: float = Field(120.0, ge=0, description="Seconds re-read before the last item seen.")
    page_size: int = Field(100, ge=1, le=100, description="Items per request (max 100).")
    max_pages_per_poll: int = Field(10, ge=1, description="Pages read in one poll.")
    author_karma: bool = Field(True, description="Look up authors' karma (1 request per page).")
    community_size: bool = Field(True, description="Look up subreddit subscriber counts.")
    min_ratelimit_remaining: int = Field(
        2, ge=0, description="Stop and wait when fewer requests remain in the window."
    )
    timeout: float = Field(30.0, gt=0, description="HTTP timeout per request, seconds.")
    oauth_url: str = Field("https://oauth.reddit.com", description="API host (simulator: its URL).")
    reddit_url: str = Field("https://www.reddit.com", description="Token host (simulator too).")
    api_base_url: str | None = Field(
        None, description="Shortcut: sets oauth_url and reddit_url to one local simulator."
    )

    @model_validator(mode="after")
    def _coherent(self) -> RedditConfig:
        problems = []
        if not self.client_id or self.client_secret is None:
            problems.append("client_id and client_secret are required")
        if bool(self.username) != (self.password is not None):
            problems.append("set both username and password, or neither")
        if self.inbox_mentions and not self.username and not (self.queries or self.subreddits):
            problems.append("inbox_mentions needs username and password")
        has_inbox = self.inbox_mentions and bool(self.username)
        if not (self.queries or self.subreddits or has_inbox):
            problems.append("nothing to listen to: add queries, subreddits or inbox_mentions")
        if self.search_scope == "subreddits" and self.queries and not self.subreddits:
            problems.append("search_scope 'subreddits' needs subreddits")
        if problems:
            raise ValueError("; ".join(problems))
        if self.api_base_url:
            self.oauth_url = self.reddit_url = self.api_base_url.rstrip("/")
        return self
