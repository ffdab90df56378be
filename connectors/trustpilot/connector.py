"""Trustpilot connector: each business unit's reviews, newest first; replies via the private API.

Reading uses the public ``GET /v1/business-units/{id}/reviews`` with the API key
(``orderBy=createdat.desc``, ``page``/``perPage``). A review's ``updatedAt`` marks an edit and its
``companyReply`` a reply already on Trustpilot; both make the review come back (see
:mod:`repbot.connectors._listing`). Replies go to ``POST /v1/private/reviews/{id}/reply`` with
an OAuth business-user token; a new reply replaces the previous one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from repbot.connector import ConnectorConfig
from repbot.errors import ConnectorError, PostError
from repbot.models import Mention, PostedReply
from repbot.platforms import Limit, Platform
from repbot.secrets import register_secret

from .._listing import Listed, ListingConnector, Stream, as_post_error
from .client import TrustpilotClient
from .config import CALLS_PER_5MIN, TrustpilotConfig
from .mapping import owner_reply, review_url, to_mention


class TrustpilotConnector(ListingConnector):
    """Listens to Trustpilot reviews of the configured business units and replies to them."""

    type_name: ClassVar[str] = "trustpilot"
    platform: ClassVar[str] = "trustpilot"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("trustpilot", "review", Limit(2_000), None, can_reply=True, emoji=":star:"),
    )
    can_reply: ClassVar[bool] = True
    Config: ClassVar[type[ConnectorConfig]] = TrustpilotConfig
    client: TrustpilotClient

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, TrustpilotConfig)
        self.cfg = config
        for secret in (config.api_key, config.api_secret, config.password):
            register_secret(secret.get_secret_value() if secret else None)
        self.client = TrustpilotClient(config)

    def stream_keys(self) -> list[str]:
        """One stream per business unit."""
        return list(self.cfg.business_unit_ids)

    async def read(self, key: str, stream: Stream, token: str | None) -> Listed:
        """One page of the unit's reviews; ``token`` is the page number."""
        page = int(token or 1)
        body: Any = (await self.client.reviews(key, page)).body
        if not isinstance(body, dict) or not isinstance(body.get("reviews"), list):
            raise ConnectorError(f"Trustpilot reviews of {key}: unexpected answer")
        links = body.get("links") or []
        more = any(isinstance(x, dict) and x.get("rel") == "next-page" for x in links)
        return Listed(body["reviews"], str(page + 1) if more and body["reviews"] else None)

    def parse(self, key: str, item: Any) -> Mention:
        """A review as a mention."""
        return to_mention(item, key)

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Post (or replace) the company reply to a review."""
        if not self.cfg.can_reply():
            raise PostError(
                "Trustpilot replies need api_secret and author_business_user_id", transient=False
            )
        try:
            await self.client.reply(mention.external_id, text)
        except ConnectorError as exc:
            raise as_post_error(exc) from exc
        return PostedReply(
            external_id=f"{mention.external_id}:reply", url=review_url(mention.external_id)
        )

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """The company reply the review shows now, if any."""
        answer = await self.client.review(mention.external_id)
        if answer.status == 404 or not isinstance(answer.body, dict):
            return None
        url = review_url(mention.external_id)
        if owner_reply(answer.body, url) is None:
            return None
        return PostedReply(external_id=f"{mention.external_id}:reply", url=url)

    def min_poll_interval(self) -> float:
        """Shortest interval keeping steady polls within a tenth of the 5-minute limit."""
        return 300.0 * len(self.cfg.business_unit_ids) / (CALLS_PER_5MIN / 10)
