"""Hacker News connector: stories and comments matching the configured queries.

Each query is a stream over Algolia's ``search_by_date`` (newest first), filtered with
``numericFilters=created_at_i>X`` where X is where the last sweep ended (lowered by the
overlap), so a steady poll is one request per query and returns only new items. Bursts follow
``page`` up to ``nbPages``. Hacker News has no API to post: replies are made by hand from the
link.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from repbot.connector import ConnectorConfig
from repbot.errors import ConnectorError
from repbot.models import Mention
from repbot.platforms import HandleSyntax, Limit, Platform

from .._listing import Listed, ListingConnector, Stream
from .client import HackerNewsClient
from .config import REQUESTS_PER_HOUR, RESULT_WINDOW, HackerNewsConfig
from .mapping import to_mention


class HackerNewsConnector(ListingConnector):
    """Listens to Hacker News through Algolia search (no replies)."""

    type_name: ClassVar[str] = "hackernews"
    platform: ClassVar[str] = "hackernews"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform(
            "hackernews",
            "forum",
            Limit(2_000),
            HandleSyntax(re.compile(r"[A-Za-z0-9_-]{2,15}"), "{handle}", 15),
            can_reply=False,
            emoji=":large_orange_square:",
        ),
    )
    can_reply: ClassVar[bool] = False
    Config: ClassVar[type[ConnectorConfig]] = HackerNewsConfig
    client: HackerNewsClient

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, HackerNewsConfig)
        self.cfg = config
        self.client = HackerNewsClient(config)
        self._excluded = {a.lower() for a in config.exclude_authors}

    def stream_keys(self) -> list[str]:
        """One stream per query."""
        return list(self.cfg.queries)

    async def read(self, key: str, stream: Stream, token: str | None) -> Listed:
        """One page of hits created after the sweep's floor.

        ``token`` is ``page`` or ``page:until``: Algolia serves only the first 1,000 hits of a
        search, so a larger burst continues with a new search bounded by the oldest hit read.
        """
        page, until = _token(token)
        after = stream.floor if stream.primed or self.cfg.initial_lookback else None
        body: Any = (await self.client.search(key, after, page, until)).body
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise ConnectorError(f"Hacker News search {key!r}: unexpected answer")
        hits = [h for h in body["hits"] if not self._excluded_author(h)]
        return Listed(hits, self._next(body, page, until))

    def _next(self, body: dict[str, Any], page: int, until: int | None) -> str | None:
        hits, per_page = body["hits"], self.cfg.hits_per_page
        listed = body.get("nbPages")
        pages = listed if isinstance(listed, int) else 0
        window = RESULT_WINDOW // per_page
        if not hits or (page + 1 >= pages and pages < window):
            return None
        if page + 1 < min(pages, window):
            return f"{page + 1}:{until}" if until is not None else str(page + 1)
        total = body.get("nbHits")
        if not isinstance(total, int) or total <= (page + 1) * per_page:
            return None
        stamps = [h.get("created_at_i") for h in hits if isinstance(h, dict)]
        oldest = min((s for s in stamps if isinstance(s, int)), default=None)
        if oldest is None:
            return None
        # Inclusive, so that hits sharing the oldest second are not lost; strict when a whole
        # window shares one second, so that the walk still moves on.
        return f"0:{oldest if oldest != until else oldest - 1}"

    def _excluded_author(self, hit: Any) -> bool:
        return isinstance(hit, dict) and str(hit.get("author", "")).lower() in self._excluded

    def parse(self, key: str, item: Any) -> Mention:
        """A hit as a mention."""
        return to_mention(item)

    def min_poll_interval(self) -> float:
        """Shortest interval keeping steady polls within a hundredth of Algolia's hourly limit."""
        return 3_600.0 * len(self.cfg.queries) / (REQUESTS_PER_HOUR / 100)


def _token(token: str | None) -> tuple[int, int | None]:
    if not token:
        return 0, None
    page, _, until = token.partition(":")
    return int(page), int(until) if until else None
