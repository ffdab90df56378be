"""One set of approval rules for both surfaces: every rule through Slack and the web console.

The surfaces are wired as the daemon wires them (:func:`attach_approval` on one aiohttp app, one
SQLite store, a local fake Slack): Slack interactions are signed and posted to
``/slack/events``, console decisions are logged-in form posts with a CSRF token.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from repbot.approval import blocks
from repbot.approval.accounts import AccountService
from repbot.approval.config import WebConfig
from repbot.approval.service import NOT_APPROVER, SAME_PERSON
from repbot.approval.slack import SlackApproval
from repbot.approval.wiring import attach_approval
from repbot.config import parse_config
from repbot.models import State
from repbot.respond.limits import length_problem
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item, signed_body
from repbot.testing.slack import FakeSlack, block_actions_payload, view_submission_payload

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "console-token-for-tests"
CHANNEL = "CAPPROVE"
PEOPLE = {
    "slack": {"first": "UALICE", "second": "UBOB", "outsider": "UEVE"},
    "web": {"first": "alice", "second": "bob", "outsider": "mallory"},
}
RECORDED = {"slack": "slack:{}", "web": "web:{}"}


def _config(tmp_path: Path, fake: FakeSlack, web_approvers: str = "[alice, bob]") -> str:
    return f"""
brand:
  name: Orbit
  website: https://orbit.com
  support_url: https://orbit.com/help
  support_email: help@orbit.com
store: {{path: {tmp_path / "repbot.db"}}}
approval:
  web:
    token: {TOKEN}
    approvers: {web_approvers}
  slack:
    mode: http
    bot_token: xoxb-test
    signing_secret: {SECRET}
    channel: {CHANNEL}
    approvers: [UALICE, SREVIEWERS]
    two_person_threshold: 0.8
    api_base_url: {fake.base_url}
"""


class Surfaces:
    """Both surfaces on one app; each method acts as ``who`` and returns what they are told."""

    def __init__(self, store: SqliteStore, fake: FakeSlack, slack: SlackApproval) -> None:
        self.store, self.fake, self.slack = store, fake, slack
        self.client: TestClient[Any, Any] | None = None
        self._ts = itertools.count(1)
        self._web_user: str | None = None

    def recorded(self, surface: str, person: str) -> str:
        return RECORDED[surface].format(PEOPLE[surface][person])

    async def act(self, surface: str, verb: str, item_id: int, person: str, **kw: str) -> str:
        who = PEOPLE[surface][person]
        if surface == "slack":
            return await self._slack(verb, item_id, who, kw)
        return await self._web(verb, item_id, who, kw)

    # Slack
    async def _slack(self, verb: str, item_id: int, user: str, kw: dict[str, str]) -> str:
        await self.slack.sync()
        told = len(self.fake.calls_to("chat.postEphemeral"))
        if verb == "approve":
            await self._click(item_id, blocks.ACTION_APPROVE, user)
        elif verb == "snooze":
            await self._click(item_id, blocks.ACTION_SNOOZE, user, selected=f"{item_id}:1h")
        else:
            action = blocks.ACTION_EDIT if verb == "edit" else blocks.ACTION_REJECT
            opened = len(self.fake.calls_to("views.open"))
            await self._click(item_id, action, user)
            if len(self.fake.calls_to("views.open")) > opened:
                view = self.fake.calls_to("views.open")[-1].args["view"]
                value = kw.get("text") or kw.get("reason")
                payload = view_submission_payload(user=user, view=view, value=value)
                answer = await (await self._send(payload)).text()
                if "response_action" in answer:
                    errors: dict[str, str] = (await self._json(answer))["errors"]
                    return errors[blocks.INPUT_BLOCK]
        return " ".join(c.args["text"] for c in self.fake.calls_to("chat.postEphemeral")[told:])

    async def _click(self, item_id: int, action_id: str, user: str, **kw: str) -> None:
        channel, ts = self.slack.message_for(item_id) or (CHANNEL, "1.1")
        payload = block_actions_payload(
            user=user,
            action_id=action_id,
            value=str(item_id),
            channel=channel,
            message_ts=ts,
            action_ts=f"1700000000.{next(self._ts):06d}",
            **kw,
        )
        await self._send(payload)

    async def _send(self, payload: dict[str, Any]) -> Any:
        assert self.client is not None
        body, headers = signed_body(payload, SECRET)
        resp = await self.client.post("/slack/events", data=body, headers=headers)
        assert resp.status == 200
        await self.slack.drain()
        return resp

    @staticmethod
    async def _json(text: str) -> dict[str, Any]:
        import json

        parsed: dict[str, Any] = json.loads(text)
        return parsed

    # the console
    async def _web(self, verb: str, item_id: int, name: str, kw: dict[str, str]) -> str:
        assert self.client is not None
        csrf = await self._login(name)
        form = {"csrf": csrf, **kw}
        if verb == "snooze":
            form["until"] = "1h"
        resp = await self.client.post(
            f"/items/{item_id}/{verb}", data=form, headers={"Accept": "application/json"}
        )
        answer = await resp.json()
        assert resp.status == (200 if answer["ok"] else 409)
        return str(answer["message"])

    async def _login(self, name: str) -> str:
        assert self.client is not None
        if self._web_user != name:
            self.client.session.cookie_jar.clear()
            csrf = await self._csrf("/login")
            if self.store.user_get(name) is None:  # console people are accounts (approvers)
                AccountService(self.store).add(name, f"{name}-password", "approver", by="test")
            data = {"csrf": csrf, "name": name, "password": f"{name}-password", "next": "/"}
            resp = await self.client.post("/login", data=data, allow_redirects=False)
            assert resp.status == 303
            self._web_user = name
        return await self._csrf("/")

    async def _csrf(self, path: str) -> str:
        assert self.client is not None
        html = await (await self.client.get(path)).text()
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match
        return match.group(1)


async def _surfaces(
    tmp_path: Path, fake: FakeSlack, **kw: str
) -> tuple[Surfaces, TestClient[Any, Any]]:
    store = SqliteStore(tmp_path / "repbot.db")
    app = web.Application()
    slack = attach_approval(app, store, parse_config(_config(tmp_path, fake, **kw)))
    assert slack is not None
    surfaces = Surfaces(store, fake, slack)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    surfaces.client = client
    return surfaces, client


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[Surfaces]:
    async with FakeSlack(usergroups={"SREVIEWERS": ["UBOB"]}) as fake:
        surfaces, client = await _surfaces(tmp_path, fake)
        yield surfaces
        await client.close()
        await surfaces.slack.stop()
        surfaces.store.close()


SURFACES = pytest.mark.parametrize("surface", ["slack", "web"])


@SURFACES
async def test_non_approver_is_refused_and_audited(both: Surfaces, surface: str) -> None:
    item_id = seed_item(both.store, urgency=0.3)
    for verb in ("approve", "snooze"):
        assert await both.act(surface, verb, item_id, "outsider") == NOT_APPROVER
    assert both.store.get(item_id).state is State.AWAITING_APPROVAL
    assert both.store.decisions(item_id) == []
    refused = [e for e in both.store.audit_log(item_id) if e["event"] == "refused"]
    outsider = PEOPLE[surface]["outsider"]
    assert {e["actor"] for e in refused} == {f"{surface}:{outsider}"}


@SURFACES
async def test_two_person_rule_needs_two_distinct_people(both: Surfaces, surface: str) -> None:
    item_id = seed_item(both.store, urgency=0.9)
    await both.act(surface, "approve", item_id, "first")
    assert both.store.get(item_id).state is State.AWAITING_APPROVAL
    assert both.store.decisions(item_id) == []
    assert await both.act(surface, "approve", item_id, "first") == SAME_PERSON
    assert both.store.get(item_id).state is State.AWAITING_APPROVAL
    await both.act(surface, "approve", item_id, "second")
    item = both.store.get(item_id)
    assert item.state is State.APPROVED
    first, second = both.recorded(surface, "first"), both.recorded(surface, "second")
    assert item.decided_by == f"{first}+{second}"


@SURFACES
async def test_calm_draft_needs_one_approver(both: Surfaces, surface: str) -> None:
    item_id = seed_item(both.store, urgency=0.3)
    await both.act(surface, "approve", item_id, "first")
    item = both.store.get(item_id)
    assert item.state is State.APPROVED and item.decided_by == both.recorded(surface, "first")


@SURFACES
async def test_over_long_edit_is_refused_with_the_same_message(
    both: Surfaces, surface: str
) -> None:
    item_id = seed_item(both.store, urgency=0.3, limit=40)
    told = await both.act(surface, "edit", item_id, "first", text="x" * 41)
    assert told == length_problem("x" * 41, "x", 40)
    assert both.store.get(item_id).state is State.AWAITING_APPROVAL


@SURFACES
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Sorry! Details at https://evil.example/login", "link outside the allowlist"),
        ("Sorry! Write to refunds@evil.example", "e-mail address not the brand's"),
        ("Sorry, it was our fault and we'll fix it.", "forbidden phrase"),
    ],
)
async def test_edit_adding_what_guardrails_forbid_is_refused(
    both: Surfaces, surface: str, text: str, problem: str
) -> None:
    item_id = seed_item(both.store, urgency=0.3)
    told = await both.act(surface, "edit", item_id, "first", text=text)
    assert problem in told
    assert both.store.get(item_id).state is State.AWAITING_APPROVAL


@SURFACES
async def test_edit_within_the_rules_is_approved_as_edit(both: Surfaces, surface: str) -> None:
    item_id = seed_item(both.store, urgency=0.3)
    text = "Sorry! See https://orbit.com/help or write to help@orbit.com"
    await both.act(surface, "edit", item_id, "first", text=text)
    item = both.store.get(item_id)
    assert item.state is State.APPROVED and item.final_text == text
    assert both.store.decisions(item_id)[0].action == "edit"


@SURFACES
async def test_reject_and_snooze_are_recorded(both: Surfaces, surface: str) -> None:
    rejected, snoozed = seed_item(both.store, urgency=0.9), seed_item(both.store, urgency=0.9)
    await both.act(surface, "reject", rejected, "first", reason="Troll account")
    await both.act(surface, "snooze", snoozed, "first")
    assert both.store.get(rejected).state is State.REJECTED
    (decision,) = both.store.decisions(rejected)
    assert decision.reason == "Troll account"
    assert decision.actor == both.recorded(surface, "first")
    assert both.store.get(snoozed).state is State.SNOOZED


@SURFACES
async def test_race_loser_is_told_who_decided_first(both: Surfaces, surface: str) -> None:
    item_id = seed_item(both.store, urgency=0.3)
    await both.act(surface, "reject", item_id, "first", reason="spam")
    told = await both.act(surface, "approve", item_id, "second")
    first = PEOPLE[surface]["first"]
    assert "already rejected by" in told and first in told
    assert len(both.store.decisions(item_id)) == 1


async def test_a_console_user_and_a_slack_user_are_two_people(both: Surfaces) -> None:
    item_id = seed_item(both.store, urgency=0.9)
    await both.act("web", "approve", item_id, "first")
    assert both.store.get(item_id).state is State.AWAITING_APPROVAL
    await both.slack.sync()
    channel, ts = both.slack.message_for(item_id) or ("", "")
    assert "needs a second approver" in str(both.fake.messages[(channel, ts)]["blocks"])
    await both.act("slack", "approve", item_id, "second")
    assert both.store.get(item_id).decided_by == "web:alice+slack:UBOB"


async def test_console_name_alone_cannot_approve_an_urgent_draft(tmp_path: Path) -> None:
    """The issue's case: Slack approvers and a two-person threshold, a console user typing
    "mallory" (no approval.web.approvers: every console user may decide)."""
    async with FakeSlack() as fake:
        surfaces, client = await _surfaces(tmp_path, fake, web_approvers="null")
        item_id = seed_item(surfaces.store, urgency=0.95)
        told = await surfaces.act("web", "approve", item_id, "outsider")
        assert "needs a second approver" in told
        assert surfaces.store.get(item_id).state is State.AWAITING_APPROVAL
        queue = await (await client.get("/")).text()
        assert "First approval by web:mallory; needs a second approver." in queue
        await surfaces.act("web", "approve", item_id, "first")
        assert surfaces.store.get(item_id).decided_by == "web:mallory+web:alice"
        await client.close()
        await surfaces.slack.stop()
        surfaces.store.close()


@pytest.mark.parametrize("bad", [[], [""], ["a+b"], ["x" * 61], ["bad\nname"]])
def test_web_approvers_must_be_console_names(bad: list[str]) -> None:
    with pytest.raises(ValidationError):
        WebConfig(approvers=bad)


def test_web_approvers_default_to_everyone() -> None:
    assert WebConfig().approvers is None
    assert WebConfig(approvers=[" alice "]).approvers == ["alice"]


def test_edit_guard_refuses_only_what_the_edit_adds(tmp_path: Path) -> None:
    from repbot.approval.service import ApprovalService, EditGuard
    from repbot.brand import BrandConfig
    from repbot.respond.config import GuardrailConfig

    store = SqliteStore(tmp_path / "guard.db")
    draft = "Sorry! Our partner's status page is https://status.partner.com"
    item = store.get(seed_item(store, draft=draft))
    guard = EditGuard(BrandConfig(website="https://orbit.com"), GuardrailConfig())
    assert guard.added_problems(item, "Sorry!") == []
    assert any("partner" in p for p in guard._check(item, draft))  # the draft has one already
    service = ApprovalService(store, guard=guard)
    assert service.edit_problem(item, draft + " (updated hourly)") is None
    added = service.edit_problem(item, draft + " or https://evil.example")
    assert added is not None and "evil.example" in added and "partner" not in added
    store.close()
