"""Slack approval against a local fake Slack Web API and signed payloads on /slack/events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from repbot import workflow
from repbot.approval import blocks
from repbot.approval.config import SlackConfig
from repbot.approval.slack import SlackApproval
from repbot.models import State, utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item, signed_body
from repbot.testing.slack import (
    FakeSlack,
    block_actions_payload,
    sign,
    view_submission_payload,
)
from repbot.workflow import RetryPolicy

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL, URGENT = "CAPPROVE", "CURGENT"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "slack"


class Harness:
    """A store, the fake Slack, SlackApproval and a test client for /slack/events."""

    def __init__(
        self,
        store: SqliteStore,
        fake: FakeSlack,
        slack: SlackApproval,
        client: TestClient[Any, Any],
    ) -> None:
        self.store, self.fake, self.slack, self.client = store, fake, slack, client

    async def send(self, payload: dict[str, Any], **headers: str) -> Any:
        body, signed = signed_body(payload, SECRET)
        resp = await self.client.post("/slack/events", data=body, headers={**signed, **headers})
        await self.slack.drain()
        return resp

    async def click(self, item_id: int, action_id: str, user: str = "UALICE", **kw: Any) -> Any:
        channel, ts = self.slack.message_for(item_id) or (CHANNEL, "1.1")
        value = kw.pop("value", str(item_id))
        payload = block_actions_payload(
            user=user, action_id=action_id, value=value, channel=channel, message_ts=ts, **kw
        )
        return await self.send(payload)

    def last_view(self) -> dict[str, Any]:
        call = self.fake.calls_to("views.open")[-1]
        view: dict[str, Any] = call.args["view"]
        return view

    def message(self, item_id: int) -> dict[str, Any]:
        channel, ts = self.slack.message_for(item_id) or ("", "")
        return self.fake.messages[(channel, ts)]


def _text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    store = SqliteStore(tmp_path / "repbot.db")
    async with FakeSlack(usergroups={"SREVIEWERS": ["UBOB"]}) as fake:
        cfg = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-test-token"),
            signing_secret=SecretStr(SECRET),
            channel=CHANNEL,
            urgent_channel=URGENT,
            urgent_threshold=0.8,
            approvers=["UALICE", "SREVIEWERS"],
            api_base_url=fake.base_url,
        )
        slack = SlackApproval(cfg, store, brand_tz="Europe/Paris")
        app = web.Application()
        app.router.add_post("/slack/events", slack.handle_http)
        async with TestClient(TestServer(app)) as client:
            yield Harness(store, fake, slack, client)
        await slack.stop()
    store.close()


async def test_delivers_awaiting_items_as_block_kit(harness: Harness) -> None:
    calm = seed_item(harness.store, urgency=0.3, rating=2, platform="trustpilot", limit=2000)
    urgent = seed_item(harness.store, urgency=0.95, text="Your app deleted my <data> & photos")
    await harness.slack.sync()
    await harness.slack.sync()

    posts = harness.fake.calls_to("chat.postMessage")
    assert [p.args["channel"] for p in posts] == [URGENT, CHANNEL]
    calm_text = _text_of(harness.message(calm))
    for expected in ("trustpilot", "Dana (@dana)", "12.3k followers", "★★☆☆☆", "Draft reply"):
        assert expected in calm_text
    assert "negative sentiment +0.30" in calm_text and "/2000 characters" in calm_text
    urgent_blocks = harness.message(urgent)["blocks"]
    assert "&lt;data&gt; &amp; photos" in json.dumps(urgent_blocks)
    actions = next(b for b in urgent_blocks if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [
        blocks.ACTION_APPROVE,
        blocks.ACTION_EDIT,
        blocks.ACTION_REJECT,
        blocks.ACTION_SNOOZE,
        blocks.ACTION_RELABEL,
    ]


async def test_approve_records_decision_and_updates_message_until_posted(harness: Harness) -> None:
    item_id = seed_item(harness.store, draft="Thanks, Dana! Fixing it now.")
    await harness.slack.sync()
    resp = await harness.click(item_id, blocks.ACTION_APPROVE)
    assert resp.status == 200

    item = harness.store.get(item_id)
    assert item.state is State.APPROVED and item.final_text == "Thanks, Dana! Fixing it now."
    assert item.decided_by == "slack:UALICE"
    assert "Approved* by <@UALICE>" in _text_of(harness.message(item_id))

    harness.store.begin_post(item_id)
    harness.store.complete_post(item_id, "r1", "https://x.example/reply/1")
    await harness.slack.sync()
    assert "https://x.example/reply/1|View the reply" in _text_of(harness.message(item_id))
    updates = len(harness.fake.calls_to("chat.update"))
    await harness.slack.sync()
    assert len(harness.fake.calls_to("chat.update")) == updates


async def test_usergroup_member_may_approve(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    await harness.click(item_id, blocks.ACTION_APPROVE, user="UBOB")
    assert harness.store.get(item_id).state is State.APPROVED
    assert harness.fake.calls_to("usergroups.users.list")[0].args["usergroup"] == "SREVIEWERS"


async def test_edit_opens_prefilled_modal_and_submission_approves_edited_text(
    harness: Harness,
) -> None:
    item_id = seed_item(harness.store, draft="Original draft", limit=40)
    await harness.slack.sync()
    await harness.click(item_id, blocks.ACTION_EDIT)
    view = harness.last_view()
    field = next(b for b in view["blocks"] if b["type"] == "input")
    assert field["element"]["initial_value"] == "Original draft"
    assert "40 characters" in field["hint"]["text"]

    too_long = view_submission_payload(user="UALICE", view=view, value="x" * 41)
    resp = await harness.send(too_long)
    assert (await resp.json())["response_action"] == "errors"
    assert harness.store.get(item_id).state is State.AWAITING_APPROVAL

    await harness.send(view_submission_payload(user="UALICE", view=view, value="Edited reply"))
    item = harness.store.get(item_id)
    assert item.state is State.APPROVED and item.final_text == "Edited reply"
    assert harness.store.decisions(item_id)[0].action == "edit"
    assert "Edited and approved" in _text_of(harness.message(item_id))


async def test_reject_with_reason(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    await harness.click(item_id, blocks.ACTION_REJECT)
    view = harness.last_view()
    assert view["callback_id"] == blocks.CALLBACK_REJECT
    await harness.send(view_submission_payload(user="UALICE", view=view, value="Troll account"))
    item = harness.store.get(item_id)
    assert item.state is State.REJECTED
    assert harness.store.decisions(item_id)[0].reason == "Troll account"
    assert "Rejected* by <@UALICE>" in _text_of(harness.message(item_id))


async def test_snooze_then_wake_posts_a_new_message(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    first = harness.slack.message_for(item_id)
    await harness.click(item_id, blocks.ACTION_SNOOZE, selected=f"{item_id}:1h")
    item = harness.store.get(item_id)
    assert item.state is State.SNOOZED and item.snooze_until is not None
    assert timedelta(minutes=59) < item.snooze_until - utcnow() <= timedelta(hours=1)
    assert "Snoozed* by <@UALICE>" in _text_of(harness.message(item_id))

    harness.store.wake_snoozed(utcnow() + timedelta(hours=2))
    await harness.slack.sync()
    assert len(harness.fake.calls_to("chat.postMessage")) == 2
    second = harness.slack.message_for(item_id)
    assert second != first
    assert "Draft reply" in _text_of(harness.message(item_id))


async def test_non_approver_is_refused_ephemerally_and_audited(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    await harness.click(item_id, blocks.ACTION_APPROVE, user="UEVE")
    assert harness.store.get(item_id).state is State.AWAITING_APPROVAL
    (ephemeral,) = harness.fake.calls_to("chat.postEphemeral")
    assert ephemeral.args["user"] == "UEVE" and "approvers" in ephemeral.args["text"]
    refused = [e for e in harness.store.audit_log(item_id) if e["event"] == "refused"]
    assert refused and refused[0]["actor"] == "slack:UEVE"


async def test_bad_signature_is_401(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    payload = block_actions_payload(
        user="UALICE",
        action_id=blocks.ACTION_APPROVE,
        value=str(item_id),
        channel=CHANNEL,
        message_ts="1.1",
    )
    body, headers = signed_body(payload, "wrong-secret")
    resp = await harness.client.post("/slack/events", data=body, headers=headers)
    assert resp.status == 401
    assert harness.store.get(item_id).state is State.AWAITING_APPROVAL


async def test_stale_timestamp_is_401(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    payload = block_actions_payload(
        user="UALICE",
        action_id=blocks.ACTION_APPROVE,
        value=str(item_id),
        channel=CHANNEL,
        message_ts="1.1",
    )
    body, headers = signed_body(payload, SECRET, timestamp=int(time.time()) - 301)
    resp = await harness.client.post("/slack/events", data=body, headers=headers)
    assert resp.status == 401
    assert harness.store.get(item_id).state is State.AWAITING_APPROVAL


async def test_same_payload_three_times_records_one_decision(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    channel, ts = harness.slack.message_for(item_id) or ("", "")
    payload = block_actions_payload(
        user="UALICE",
        action_id=blocks.ACTION_APPROVE,
        value=str(item_id),
        channel=channel,
        message_ts=ts,
        action_ts="1700000000.000001",
    )
    for retry in ("", "1", "2"):
        extra = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        resp = await harness.send(payload, **(extra if retry else {}))
        assert resp.status == 200
    assert len(harness.store.decisions(item_id)) == 1
    assert harness.fake.calls_to("chat.postEphemeral") == []


async def test_two_approvers_at_once_one_decision_other_told(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    await asyncio.gather(
        harness.click(item_id, blocks.ACTION_APPROVE, user="UALICE"),
        harness.click(item_id, blocks.ACTION_SNOOZE, user="UBOB", selected=f"{item_id}:4h"),
    )
    await harness.slack.drain()
    assert len(harness.store.decisions(item_id)) == 1
    (told,) = harness.fake.calls_to("chat.postEphemeral")
    assert "already" in told.args["text"]


async def test_slack_unreachable_then_back_delivers_everything(harness: Harness) -> None:
    await harness.fake.stop()
    ids = [seed_item(harness.store) for _ in range(3)]
    await harness.slack.sync()
    assert all(harness.slack.message_for(i) is None for i in ids)
    await harness.fake.start()
    await harness.slack.sync()
    assert all(harness.slack.message_for(i) is not None for i in ids)
    assert len(harness.fake.calls_to("chat.postMessage")) == 3


async def test_decision_made_elsewhere_updates_the_message(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    workflow.decide(harness.store, item_id, "reject", "web", reason="dupe", channel="web")
    await harness.slack.sync()
    assert "Rejected* by web" in _text_of(harness.message(item_id))


async def test_failed_post_is_shown_and_can_be_marked_posted(harness: Harness) -> None:
    item_id = seed_item(harness.store)
    await harness.slack.sync()
    await harness.click(item_id, blocks.ACTION_APPROVE)
    harness.store.begin_post(item_id)
    failing = harness.store.get(item_id)
    workflow.post_failed(
        harness.store,
        failing,
        "403 Forbidden: account suspended",
        RetryPolicy(),
        utcnow(),
        transient=False,
    )
    await harness.slack.sync()
    assert "Posting failed:* 403 Forbidden" in _text_of(harness.message(item_id))

    await harness.click(item_id, blocks.ACTION_MARK_POSTED)
    view = harness.last_view()
    await harness.send(
        view_submission_payload(user="UALICE", view=view, value="https://x.example/r/9")
    )
    item = harness.store.get(item_id)
    assert item.state is State.POSTED and item.posted_url == "https://x.example/r/9"


async def test_manual_platform_shows_mark_as_posted(harness: Harness) -> None:
    item_id = seed_item(harness.store, platform="yelp", meta={"post_manually": True})
    await harness.slack.sync()
    await harness.click(item_id, blocks.ACTION_APPROVE)
    text = _text_of(harness.message(item_id))
    assert "Post manually" in text and blocks.ACTION_MARK_POSTED in text


async def test_two_person_rule_needs_a_second_distinct_approver(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "two.db")
    async with FakeSlack(usergroups={"SREVIEWERS": ["UBOB"]}) as fake:
        cfg = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-t"),
            signing_secret=SecretStr(SECRET),
            channel=CHANNEL,
            approvers=["UALICE", "SREVIEWERS"],
            two_person_threshold=0.8,
            api_base_url=fake.base_url,
        )
        slack = SlackApproval(cfg, store)
        app = web.Application()
        app.router.add_post("/slack/events", slack.handle_http)
        async with TestClient(TestServer(app)) as client:
            h = Harness(store, fake, slack, client)
            item_id = seed_item(store, urgency=0.9)
            await slack.sync()
            await h.click(item_id, blocks.ACTION_APPROVE, user="UALICE")
            assert store.get(item_id).state is State.AWAITING_APPROVAL
            assert "needs a second approver" in _text_of(h.message(item_id))
            await h.click(item_id, blocks.ACTION_APPROVE, user="UALICE")
            assert store.get(item_id).state is State.AWAITING_APPROVAL
            assert "second approver" in fake.calls_to("chat.postEphemeral")[0].args["text"]
            await h.click(item_id, blocks.ACTION_APPROVE, user="UBOB")
            item = store.get(item_id)
            assert item.state is State.APPROVED
            assert item.decided_by == "slack:UALICE+slack:UBOB"
        await slack.stop()
    store.close()


async def test_socket_mode_delivers_interactions_and_acks(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "socket.db")
    async with FakeSlack() as fake:
        cfg = SlackConfig(
            mode="socket",
            bot_token=SecretStr("xoxb-t"),
            app_token=SecretStr("xapp-1-t"),
            channel=CHANNEL,
            approvers=["UALICE"],
            api_base_url=fake.base_url,
        )
        slack = SlackApproval(cfg, store)
        await slack.start()
        try:
            await fake.wait_socket()
            item_id = seed_item(store)
            await slack.sync()
            channel, ts = slack.message_for(item_id) or ("", "")
            envelope = await fake.socket_send(
                block_actions_payload(
                    user="UALICE",
                    action_id=blocks.ACTION_APPROVE,
                    value=str(item_id),
                    channel=channel,
                    message_ts=ts,
                )
            )
            for _ in range(300):
                if store.get(item_id).state is State.APPROVED and fake.socket_acks:
                    break
                await asyncio.sleep(0.01)
            await slack.drain()
            assert store.get(item_id).state is State.APPROVED
            assert any(a.get("envelope_id") == envelope for a in fake.socket_acks)
        finally:
            await slack.stop()
    store.close()


def test_signature_matches_slack_test_vector() -> None:
    vector_file = SHARED / "signature" / "slack_signature_test_vector.json"
    if not vector_file.exists():
        pytest.skip("shared Slack fixtures are absent")
    vector = json.loads(vector_file.read_text())
    headers = sign(vector["signing_secret"], vector["body"], int(vector["timestamp"]))
    assert headers["X-Slack-Signature"] == vector["expected_signature"]


async def test_restart_between_click_and_post_posts_once(tmp_path: Path) -> None:
    from repbot.poster import Poster
    from repbot.sandbox import SandboxConfig, SandboxConnector

    db = tmp_path / "restart.db"
    payload: dict[str, Any] = {}
    async with FakeSlack() as fake:
        cfg = SlackConfig(
            mode="http",
            bot_token=SecretStr("xoxb-t"),
            signing_secret=SecretStr(SECRET),
            channel=CHANNEL,
            approvers=["UALICE"],
            api_base_url=fake.base_url,
        )
        for generation in range(2):
            store = SqliteStore(db)
            slack = SlackApproval(cfg, store)
            app = web.Application()
            app.router.add_post("/slack/events", slack.handle_http)
            async with TestClient(TestServer(app)) as client:
                h = Harness(store, fake, slack, client)
                if generation == 0:
                    item_id = seed_item(store)
                    await slack.sync()
                    channel, ts = slack.message_for(item_id) or ("", "")
                    payload = block_actions_payload(
                        user="UALICE",
                        action_id=blocks.ACTION_APPROVE,
                        value=str(item_id),
                        channel=channel,
                        message_ts=ts,
                        action_ts="1700000000.5",
                    )
                    await h.send(payload)
                    store.begin_post(item_id)  # the daemon dies after writing the intent
                else:
                    await slack.sync()  # no second message for the same draft
                    await h.send(payload, **{"X-Slack-Retry-Num": "1"})  # Slack retries
                    connector = SandboxConnector("demo", SandboxConfig(sandbox_dir=tmp_path / "sb"))
                    poster = Poster(store, {"demo": connector})
                    await poster.reconcile()
                    await poster.run_once()
                    posts = connector.sandbox().all()
                    await connector.aclose()
            await slack.stop()
            store.close()
        assert len(fake.calls_to("chat.postMessage")) == 1
    store = SqliteStore(db)
    assert len(store.decisions()) == 1 and store.get(1).state is State.POSTED
    assert [p["text"] for p in posts] == [store.get(1).final_text]
    store.close()
