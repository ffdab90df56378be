"""Replies made on the platform close the item instead of drafting (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from repbot import followups, workflow
from repbot.approval import blocks
from repbot.approval.config import WebConfig
from repbot.approval.web import setup_console
from repbot.config import parse_config
from repbot.connector import Connector, ConnectorConfig
from repbot.models import Mention, OwnerReply, PostedReply, State
from repbot.pipeline import Pipeline
from repbot.poster import Poster
from repbot.respond import Responder
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item
from repbot.testing.fakes import KeywordClassifier

ANSWER_AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
OWNER = OwnerReply(
    text="Sorry Karen, we have spoken to the branch.",
    created_at=ANSWER_AT,
    url="https://g.example/r/1#reply",
)


def review(**overrides: Any) -> Mention:
    data: dict[str, Any] = {
        "platform": "google_business",
        "external_id": "rev-1",
        "kind": "review",
        "author": {"handle": "Karen W."},
        "text": "Waited 40 minutes and nobody helped. Awful branch.",
        "rating": 1,
        "created_at": ANSWER_AT - timedelta(hours=2),
    }
    data.update(overrides)
    return Mention.model_validate(data)


def test_a_new_mention_answered_on_the_platform_closes(
    repbot_store: SqliteStore, tmp_path: Path
) -> None:
    (mid,) = followups.ingest(repbot_store, "g", [review(owner_reply=OWNER)], None).new_ids
    item = repbot_store.get(mid)
    assert (item.state, item.skip_reason) == (State.SKIPPED, followups.ANSWERED)
    assert item.posted_url == OWNER.url
    row = repbot_store.conn.execute("SELECT posted_at FROM mentions WHERE id = ?", (mid,))
    assert datetime.fromisoformat(row.fetchone()[0]) == ANSWER_AT  # the KPI clock's end
    assert repbot_store.response_times()["post"]["count"] == 1


async def test_it_is_never_drafted(repbot_store: SqliteStore, tmp_path: Path) -> None:
    config = parse_config(f"brand: {{name: Orbit}}\nstore: {{path: {tmp_path / 'x.db'}}}\n")
    responder = Responder(config.responder, config.brand)
    pipeline = Pipeline(repbot_store, config, KeywordClassifier(), responder)
    followups.ingest(repbot_store, "g", [review(owner_reply=OWNER)], None)
    await pipeline.drain()
    assert repbot_store.queue([State.AWAITING_APPROVAL]) == []


def test_an_open_draft_is_withdrawn_when_the_reply_appears(repbot_store: SqliteStore) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1)
    repbot_store.slack_intend(mid, "C1")
    item = repbot_store.get(mid)
    repbot_store.slack_sent(
        mid, channel="C1", ts="1.1", state=item.state, version=None, sig=None, is_open=True
    )
    again = item.mention.model_copy(update={"owner_reply": OWNER})
    result = followups.ingest(repbot_store, "demo", [again], None)
    assert (result.answered_ids, result.duplicates) == ([mid], 1)
    closed = repbot_store.get(mid)
    assert (closed.state, closed.skip_reason) == (State.SKIPPED, followups.ANSWERED)
    assert [m.mention_id for m in repbot_store.slack_changed(10)] == [mid]  # re-rendered
    assert followups.ingest(repbot_store, "demo", [again], None).answered_ids == []


def test_an_approved_item_answered_elsewhere_counts_as_posted(repbot_store: SqliteStore) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1)
    workflow.decide(repbot_store, mid, "approve", "U1", text="Sorry, call us.")
    again = repbot_store.get(mid).mention.model_copy(update={"owner_reply": OWNER})
    followups.ingest(repbot_store, "demo", [again], None)
    item = repbot_store.get(mid)
    assert (item.state, item.posted_url) == (State.POSTED, OWNER.url)


def test_a_posted_item_is_left_alone(repbot_store: SqliteStore) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1)
    workflow.decide(repbot_store, mid, "approve", "U1", text="Sorry, call us.")
    workflow.begin_post(repbot_store, mid)
    workflow.complete_post(repbot_store, mid, "r-1", "https://g.example/ours")
    again = repbot_store.get(mid).mention.model_copy(update={"owner_reply": OWNER})
    followups.ingest(repbot_store, "demo", [again], None)
    item = repbot_store.get(mid)
    assert (item.state, item.posted_url) == (State.POSTED, "https://g.example/ours")


class _Config(ConnectorConfig):
    pass


class OwnerReplyConnector(Connector):
    """A platform that shows the brand's reply (made in its UI) and must not be posted to."""

    type_name: ClassVar[str] = "owner_reply_test"
    can_reply: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__("g", _Config())
        self.replies = 0

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        self.replies += 1
        return PostedReply(external_id="ours")

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        return PostedReply(external_id="owner-reply-1", url=OWNER.url)


async def test_reconciliation_takes_a_reply_found_on_the_platform_as_posted(
    repbot_store: SqliteStore,
) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1, source="g")
    workflow.decide(repbot_store, mid, "approve", "U1", text="Sorry, call us.")
    workflow.begin_post(repbot_store, mid)  # the intent was written, then the daemon died
    connector = OwnerReplyConnector()
    assert await Poster(repbot_store, {"g": connector}).reconcile() == 1
    item = repbot_store.get(mid)
    assert (item.state, item.posted_url, connector.replies) == (State.POSTED, OWNER.url, 0)


async def test_the_console_shows_why_it_closed(repbot_store: SqliteStore) -> None:
    mid = seed_item(repbot_store, platform="google_business", rating=1)
    again = repbot_store.get(mid).mention.model_copy(update={"owner_reply": OWNER})
    followups.ingest(repbot_store, "demo", [again], None)
    app = web.Application()
    setup_console(app, repbot_store, WebConfig(enabled=True), server_host="127.0.0.1")
    async with TestClient(TestServer(app)) as client:
        html = await (await client.get(f"/items/{mid}")).text()
    assert f"Closed: {followups.ANSWERED}" in html and str(OWNER.url) in html
    rendered = str(blocks.message_blocks(repbot_store.get(mid), tz="UTC"))
    assert f"*Closed:* {followups.ANSWERED}" in rendered and "Approved" not in rendered


def test_a_review_edited_after_the_platform_reply_stays_open(repbot_store: SqliteStore) -> None:
    edited = review(
        owner_reply=OWNER,
        text="Still nobody called me back. Still 1 star.",
        updated_at=ANSWER_AT + timedelta(days=1),
    )
    (mid,) = followups.ingest(repbot_store, "g", [edited], None).new_ids
    assert repbot_store.get(mid).state is State.NEW  # the edit is unanswered: it gets a draft
