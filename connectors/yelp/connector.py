"""Yelp connector: review excerpts of each configured business through Yelp Fusion.

``GET /v3/businesses/{id}/reviews`` returns the newest reviews (three excerpts of up to 160
characters on standard plans), so a poll is one request per business. Yelp has no API to reply:
``can_reply`` is false and the core offers "post manually" with the review's link.
"""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from repbot.connector import ConnectorConfig
from repbot.errors import ConnectorError
from repbot.models import Mention
from repbot.platforms import Limit, Platform
from repbot.secrets import register_secret

from .._listing import Listed, ListingConnector, Stream
from .client import YelpClient
from .config import YelpConfig
from .mapping import to_mention


class YelpConnector(ListingConnector):
    """Listens to Yelp reviews of the configured businesses (no replies)."""

    type_name: ClassVar[str] = "yelp"
    platform: ClassVar[str] = "yelp"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("yelp", "review", Limit(5_000), None, can_reply=False, emoji=":fork_and_knife:"),
    )
    can_reply: ClassVar[bool] = False
    Config: ClassVar[type[ConnectorConfig]] = YelpConfig
    client: YelpClient

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, YelpConfig)
        self.cfg = config
        register_secret(config.api_key.get_secret_value())
        self.zone = ZoneInfo(config.timezone)
        self.client = YelpClient(config)

    def stream_keys(self) -> list[str]:
        """One stream per business."""
        return list(self.cfg.business_ids)

    async def read(self, key: str, stream: Stream, token: str | None) -> Listed:
        """The business's newest reviews; ``token`` is the next offset (paging plans only)."""
        offset = int(token or 0)
        body: Any = (await self.client.reviews(key, offset)).body
        if not isinstance(body, dict) or not isinstance(body.get("reviews"), list):
            raise ConnectorError(f"Yelp reviews of {key}: unexpected answer")
        reviews = body["reviews"]
        total = body.get("total")
        end = offset + len(reviews)
        more = self.cfg.paginate and len(reviews) == self.cfg.limit
        if isinstance(total, int):
            more = more and end < total
        return Listed(reviews, str(end) if more else None)

    def parse(self, key: str, item: Any) -> Mention:
        """A review excerpt as a mention."""
        return to_mention(item, key, self.zone)

    def min_poll_interval(self, calls_per_day: int = 500) -> float:
        """Shortest interval keeping steady polls within half of a daily quota."""
        return 86_400.0 * len(self.cfg.business_ids) / (calls_per_day / 2)
