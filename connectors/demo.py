"""The ``demo`` source: replays a bundled sample of brand mentions, no credentials needed.

The sample (connectors/data/demo_mentions.jsonl) is fictional traffic about "Orbit", a bank:
complaints, questions, praise, spam, an irrelevant namesake, reviews with star ratings and a
viral angry post, across every platform repbot listens to (reviews with star ratings). It also
shows issue 14's cases: a review the customer edits (1★ → 4★), a review already answered on
the platform, two messages from one customer minutes apart (one conversation), and a reply to
the brand's reply. Each poll releases ``per_poll`` of them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, ClassVar

from pydantic import Field

from repbot.models import Mention, Page, utcnow
from repbot.platforms import Platform
from repbot.sandbox import SandboxConfig, SandboxConnector

_URLS = {
    "x": "https://x.com/{handle}/status/{id}",
    "reddit": "https://www.reddit.com/r/personalfinance/comments/{id}/",
    "google_business": "https://maps.google.com/?cid=demo&review={id}",
    "trustpilot": "https://www.trustpilot.com/reviews/{id}",
    "app_store": "https://apps.apple.com/app/orbit/id000?review={id}",
    "google_play": "https://play.google.com/store/apps/details?id=demo.orbit&reviewId={id}",
    "yelp": "https://www.yelp.com/biz/orbit-demo?hrid={id}",
    "hackernews": "https://news.ycombinator.com/item?id={id}",
    "mastodon": "https://mastodon.social/@{handle}/{id}",
    "bluesky": "https://bsky.app/profile/{handle}/post/{id}",
    "rss": "https://news.example/orbit/{id}",
}


class DemoConfig(SandboxConfig):
    """Options of the ``demo`` source."""

    per_poll: int = Field(3, ge=1, le=1000, description="Mentions released per poll.")
    loop: bool = Field(False, description="Start again (with new ids) after the last one.")


def load_sample() -> list[dict[str, Any]]:
    """The bundled demo records."""
    text = (
        resources.files("repbot.connectors")
        .joinpath("data/demo_mentions.jsonl")
        .read_text(encoding="utf-8")
    )
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class DemoConnector(SandboxConnector):
    """Releases the bundled sample a few mentions per poll; replies go to the sandbox."""

    type_name: ClassVar[str] = "demo"
    platform: ClassVar[str] = "demo"
    platforms: ClassVar[tuple[Platform, ...]] = (
        Platform("demo", can_reply=True, emoji=":test_tube:"),
    )
    Config: ClassVar[type[DemoConfig]] = DemoConfig  # type: ignore[assignment]
    config: DemoConfig

    async def fetch(self, cursor: str | None) -> Page:
        sample = load_sample()
        position = int(cursor or 0)
        if position >= len(sample) and not self.config.loop:
            return Page(mentions=[], cursor=str(position))
        by_id = {r["id"]: r for r in sample if "edit_of" not in r}
        batch = [
            self._mention(sample[i % len(sample)], i // len(sample), by_id)
            for i in range(position, position + self.config.per_poll)
            if self.config.loop or i < len(sample)
        ]
        return Page(mentions=batch, cursor=str(position + len(batch)))

    def _mention(
        self, record: dict[str, Any], round_no: int, by_id: dict[str, dict[str, Any]]
    ) -> Mention:
        """A record as a mention: an ``edit_of`` record re-emits that review, edited; a
        ``replies_to`` record answers our (sandbox) reply to that mention, or the mention."""
        suffix = "" if round_no == 0 else f"-r{round_no}"
        original = by_id.get(record.get("edit_of", ""), record)
        mention = _mention(original, suffix)
        update: dict[str, Any] = {}
        if original is not record:
            update = {
                "text": record["text"],
                "rating": record.get("rating"),
                "updated_at": _ago(record),
            }
        if "replies_to" in record:
            parent = f"demo-{record['replies_to']}{suffix}"
            ours = self.sandbox().reply_to(parent)
            update["thread"] = {"parent": ours.external_id if ours else parent}
        if "owner_reply" in record:
            reply = record["owner_reply"]
            update["owner_reply"] = {"text": reply["text"], "created_at": _ago(reply)}
        return mention.model_validate({**mention.model_dump(), **update}) if update else mention


def _ago(record: dict[str, Any]) -> datetime:
    return utcnow() - timedelta(minutes=record.get("minutes_ago", 1))


def _mention(record: dict[str, Any], suffix: str) -> Mention:
    ident = f"{record['id']}{suffix}"
    platform = record["platform"]
    handle = record["author"]["handle"]
    return Mention.model_validate(
        {
            "platform": platform,
            "external_id": f"demo-{ident}",
            "url": _URLS.get(platform, "https://example.com/{id}").format(
                handle=handle.split("@")[0], id=f"demo{ident}"
            ),
            "kind": record["kind"],
            "author": record["author"],
            "text": record["text"],
            "title": record.get("title"),
            "rating": record.get("rating"),
            "created_at": _ago(record),
            "metrics": record.get("metrics") or {},
            "raw": record,
        }
    )
