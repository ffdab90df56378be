"""App Store connector: customer reviews of each app, and responses to them.

Reading is ``GET /v1/apps/{id}/customerReviews?sort=-createdDate&include=response`` with cursor
paging through ``links.next``; a review's included response is the owner reply (written in App
Store Connect, or by us). Replying is ``POST /v1/customerReviewResponses``: Apple keeps one
response per review, and a new one replaces it.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

from repbot.connector import ConnectorConfig
from repbot.errors import ConnectorError
from repbot.models import Mention, PostedReply
from repbot.platforms import Limit, Platform
from repbot.secrets import register_secret

from .._listing import Listed, ListingConnector, Stream, as_post_error
from .client import AppStoreClient
from .config import REQUESTS_PER_HOUR, AppStoreConfig
from .mapping import next_cursor, responses_by_review, to_mention


class AppStoreConnector(ListingConnector):
    """Listens to App Store customer reviews of the configured apps and responds to them."""

    type_name: ClassVar[str] = "app_store"
    platform: ClassVar[str] = "app_store"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("app_store", "review", Limit(5_970), None, can_reply=True, emoji=":apple:"),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = AppStoreConfig
    client: AppStoreClient

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        # The client library loads with the source (start-up), never in the middle of a poll.
        importlib.import_module("jwt")
        assert isinstance(config, AppStoreConfig)
        self.cfg = config
        register_secret(config.private_key.get_secret_value() if config.private_key else None)
        # The core sets base_dir (the config file's folder) after construction.
        self.client = AppStoreClient(config, lambda: self.base_dir)

    def stream_keys(self) -> list[str]:
        """One stream per app."""
        return list(self.cfg.app_ids)

    async def read(self, key: str, stream: Stream, token: str | None) -> Listed:
        """One page of the app's reviews; ``token`` is the ``links.next`` cursor."""
        body: Any = (await self.client.reviews(key, token)).body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ConnectorError(f"App Store Connect reviews of app {key}: unexpected answer")
        responses = responses_by_review(body.get("included"))
        items = [{"data": r, "response": _response_of(r, responses)} for r in body["data"]]
        return Listed(items, next_cursor(body.get("links")))

    def parse(self, key: str, item: Any) -> Mention:
        """A listed review as a mention."""
        return to_mention(item, key)

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Create (or replace) the review's response."""
        try:
            answer = await self.client.respond(mention.external_id, text)
            response_id = str(answer.body["data"]["id"])
        except ConnectorError as exc:
            raise as_post_error(exc) from exc
        except (KeyError, TypeError) as exc:
            raise as_post_error(
                ConnectorError("App Store Connect answered without a response id")
            ) from exc
        return PostedReply(external_id=response_id, url=mention.url)

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """The review's response as App Store Connect shows it now, if any."""
        answer = await self.client.response_of(mention.external_id)
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        if answer.status == 404 or not isinstance(data, dict) or "id" not in data:
            return None
        return PostedReply(external_id=str(data["id"]), url=mention.url)

    def min_poll_interval(self) -> float:
        """Shortest interval keeping steady polls within a tenth of the hourly limit."""
        return 3_600.0 * len(self.cfg.app_ids) / (REQUESTS_PER_HOUR / 10)


def _response_of(review: Any, responses: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if not isinstance(review, dict):
        return None
    related = ((review.get("relationships") or {}).get("response") or {}).get("data")
    if not isinstance(related, dict):
        return None
    return responses.get(str(related.get("id")))
