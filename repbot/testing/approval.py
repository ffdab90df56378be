"""Helpers for tests and benchmarks of the approval flow: seeded items, signed Slack bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from repbot.models import Author, Mention, utcnow
from repbot.store.base import Store
from repbot.testing.slack import sign

_counter = iter(range(1, 10**9))


def seed_item(
    store: Store,
    *,
    platform: str = "x",
    text: str = "My order #123 never arrived and support is silent.",
    draft: str = "Sorry about that! Please DM us your order number and we will fix it today.",
    urgency: float = 0.5,
    sentiment: str = "negative",
    intent: str = "complaint",
    handle: str = "dana",
    followers: int = 12_300,
    rating: int | None = None,
    limit: int = 280,
    meta: dict[str, Any] | None = None,
    source: str = "demo",
) -> int:
    """Ingest, classify and draft one mention so it is ``awaiting_approval``; returns its id."""
    n = next(_counter)
    mention = Mention(
        platform=platform,
        external_id=f"ext-{n}-{utcnow().timestamp()}",
        url=f"https://{platform}.example/status/{n}",
        kind="review" if rating else "post",
        author=Author(handle=handle, display_name=handle.title(), followers=followers),
        text=text,
        rating=rating,
        created_at=utcnow(),
    )
    (item_id,) = store.ingest(source, [mention], None).new_ids
    store.set_classified(
        item_id,
        {
            "label": sentiment,
            "intent": intent,
            "urgency": urgency,
            "explanation": [["negative sentiment", 0.3], ["reach", 0.15], ["question", -0.05]],
        },
    )
    store.set_draft(item_id, draft, {"limit": limit, "mode": "template", **(meta or {})})
    return item_id


def signed_body(
    payload: dict[str, Any], secret: str, timestamp: int | None = None
) -> tuple[str, dict[str, str]]:
    """An interaction body (``payload=<json>``) and the headers Slack would sign it with."""
    body = urlencode({"payload": json.dumps(payload)})
    return body, sign(secret, body, timestamp)
