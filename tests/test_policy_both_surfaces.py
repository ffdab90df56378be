"""One policy in both surfaces: every approval rule is run through Slack (signed interactions
on ``/slack/events``, a local fake Slack) and through the console (signed-in accounts, CSRF
form posts), and each rule must end the same way in both.

The outcome of a rule is what it leaves behind (states, audit events, the kind of answer the
person got), never the surface's wording; the expected outcome is written once per rule.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from repbot.approval import blocks
from repbot.approval.accounts import AccountService
from repbot.approval.service import NOT_APPROVER, SAME_PERSON, UNDO_OVER
from repbot.approval.slack import SlackApproval
from repbot.approval.wiring import attach_approval
from repbot.config import parse_config
from repbot.models import utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item, signed_body
from repbot.testing.slack import FakeSlack, block_actions_payload, view_submission_payload

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "CAPPROVE"
PASSWORD = "a long enough password 123"
PEOPLE = {
    "slack": {"first": "UALICE", "second": "UBOB", "outsider": "UEVE"},
    "web": {"first": "alice", "second": "bob", "outsider": "mallory"},
}
BAD_EMAIL = "Sorry! Write to refunds@evil.example and we will sort it."
_SLACK_BUTTONS = {
    "approve": blocks.ACTION_APPROVE,
    "claim": blocks.ACTION_CLAIM,
    "takeover": blocks.ACTION_TAKEOVER,
    "undo": blocks.ACTION_UNDO,
}


def _config(tmp_path: Path, fake: FakeSlack) -> str:
    return f"""
brand:
  name: Orbit
  website: https://orbit.com
  support_url: https://orbit.com/help
  support_email: help@orbit.com
store: {{path: {tmp_path / "repbot.db"}}}
approval:
  undo_seconds: 300
  claim_minutes: 15
  web:
    approvers: [alice, bob]
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
    """Both surfaces on one app; :meth:`act` acts as someone and returns what they were told."""

    def __init__(self, store: SqliteStore, fake: FakeSlack, slack: SlackApproval) -> None:
        self.store, self.fake, self.slack = store, fake, slack
        self.client: TestClient[Any, Any] | None = None
        self._ts = itertools.count(1)
        self._signed_in: str | None = None

    async def act(self, surface: str, verb: str, item_id: int, person: str, **kw: Any) -> str:
        who = PEOPLE[surface].get(person, person)
        if surface == "slack":
            return await self._slack(verb, item_id, who, kw)
        return await self._web(verb, item_id, who, kw)

    # Slack
    async def _slack(self, verb: str, item_id: int, user: str, kw: dict[str, Any]) -> str:
        await self.slack.sync()
        told = len(self.fake.calls_to("chat.postEphemeral"))
        if verb in _SLACK_BUTTONS:
            await self._click(item_id, _SLACK_BUTTONS[verb], user)
        elif verb == "reject":
            return await self._modal(item_id, blocks.ACTION_REJECT, user, kw.get("reason"), told)
        elif verb == "edit":
            return await self._modal(
                item_id, blocks.ACTION_EDIT, user, kw["text"], told, kw.get("override", False)
            )
        return self._told(told)

    def _told(self, since: int) -> str:
        return " ".join(c.args["text"] for c in self.fake.calls_to("chat.postEphemeral")[since:])

    async def _modal(
        self,
        item_id: int,
        action: str,
        user: str,
        value: str | None,
        told: int,
        override: bool = False,
    ) -> str:
        opened = len(self.fake.calls_to("views.open"))
        await self._click(item_id, action, user)
        if len(self.fake.calls_to("views.open")) == opened:
            return self._told(told)
        view = self.fake.calls_to("views.open")[-1].args["view"]
        payload = view_submission_payload(user=user, view=view, value=value)
        if override:
            values = payload["view"]["state"]["values"]
            values[blocks.OVERRIDE_BLOCK] = {
                blocks.OVERRIDE_ACTION: {
                    "type": "checkboxes",
                    "selected_options": [{"value": blocks.OVERRIDE_VALUE}],
                }
            }
        answer = await (await self._send(payload)).text()
        if "response_action" in answer:
            errors: dict[str, str] = json.loads(answer)["errors"]
            return errors[blocks.INPUT_BLOCK]
        return self._told(told)

    async def _click(self, item_id: int, action_id: str, user: str) -> None:
        channel, ts = self.slack.message_for(item_id) or (CHANNEL, "1.1")
        payload = block_actions_payload(
            user=user,
            action_id=action_id,
            value=str(item_id),
            channel=channel,
            message_ts=ts,
            action_ts=f"1700000000.{next(self._ts):06d}",
        )
        await self._send(payload)

    async def _send(self, payload: dict[str, Any]) -> Any:
        assert self.client is not None
        body, headers = signed_body(payload, SECRET)
        resp = await self.client.post("/slack/events", data=body, headers=headers)
        assert resp.status == 200
        await self.slack.drain()
        return resp

    # the console
    async def _web(self, verb: str, item_id: int, name: str, kw: dict[str, Any]) -> str:
        assert self.client is not None
        form = {"csrf": await self._sign_in(name)}
        if verb == "edit":
            form["text"] = kw["text"]
            if kw.get("override"):
                form["override"] = "1"
        if verb == "reject" and kw.get("reason"):
            form["reason"] = kw["reason"]
        resp = await self.client.post(
            f"/items/{item_id}/{verb}", data=form, headers={"Accept": "application/json"}
        )
        answer = await resp.json()
        assert resp.status == (200 if answer["ok"] else 409)
        return "" if answer["ok"] else str(answer["message"])

    async def _sign_in(self, name: str) -> str:
        assert self.client is not None
        if self._signed_in != name:
            self.client.session.cookie_jar.clear()
            csrf = await self._csrf("/login")
            data = {"csrf": csrf, "name": name, "password": PASSWORD, "next": "/"}
            resp = await self.client.post("/login", data=data, allow_redirects=False)
            assert resp.status == 303, await resp.text()
            self._signed_in = name
        return await self._csrf("/")

    async def _csrf(self, path: str) -> str:
        assert self.client is not None
        html = await (await self.client.get(path)).text()
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match, html[:500]
        return match.group(1)

    # what a rule leaves behind
    def state(self, item_id: int) -> str:
        return self.store.get(item_id).state.value

    def events(self, item_id: int, *names: str) -> list[str]:
        return [e["event"] for e in self.store.audit_log(item_id) if e["event"] in names]


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[Surfaces]:
    async with FakeSlack(usergroups={"SREVIEWERS": ["UBOB"]}) as fake:
        store = SqliteStore(tmp_path / "repbot.db")
        accounts = AccountService(store)
        for name in ("alice", "bob", "mallory"):
            accounts.add(name, PASSWORD, "approver", by="test")
        accounts.add("dana", PASSWORD, "approver", slack_user_id="UALICE", by="test")
        app = web.Application()
        slack = attach_approval(app, store, parse_config(_config(tmp_path, fake)))
        assert slack is not None
        surfaces = Surfaces(store, fake, slack)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        surfaces.client = client
        yield surfaces
        await client.close()
        await slack.stop()
        store.close()


Rule = Callable[[Surfaces, str], Awaitable[tuple[Any, ...]]]


async def _not_approver(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store)
    told = await s.act(surface, "approve", item, "outsider")
    return s.state(item), NOT_APPROVER in told, s.events(item, "refused")


async def _two_person(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store, urgency=0.9)
    first = await s.act(surface, "approve", item, "first")
    again = await s.act(surface, "approve", item, "first")
    after_one = s.state(item)
    await s.act(surface, "approve", item, "second")
    return first, SAME_PERSON in again, after_one, s.state(item)


async def _guardrail_override(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store)
    refused = await s.act(surface, "edit", item, "first", text=BAD_EMAIL)
    before = s.state(item)
    await s.act(surface, "edit", item, "first", text=BAD_EMAIL, override=True)
    final = s.store.get(item)
    return (
        "e-mail" in refused,
        before,
        final.state.value,
        final.final_text,
        s.events(item, "guardrail_override"),
    )


async def _length(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store, limit=280)
    told = await s.act(surface, "edit", item, "first", text="x" * 300, override=True)
    return "280" in told, s.state(item), s.events(item, "guardrail_override")


async def _claim(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store)
    await s.act(surface, "claim", item, "first")
    blocked = await s.act(surface, "edit", item, "second", text="Second's words, thanks!")
    while_claimed = s.state(item)
    await s.act(surface, "takeover", item, "second")
    await s.act(surface, "edit", item, "second", text="Second's words, thanks!")
    claims = [
        e["detail"]["taken_from"] is not None
        for e in s.store.audit_log(item)
        if e["event"] == "claimed"
    ]
    return (
        "is on it" in blocked,
        while_claimed,
        s.state(item),
        claims,
        s.events(item, "claim_released"),
        s.store.claims([item], utcnow()),
    )


async def _undo_within(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store)
    await s.act(surface, "edit", item, "first", text="Edited: please DM us your order.")
    approved = s.state(item)
    await s.act(surface, "undo", item, "second")
    back = s.store.get(item)
    return approved, back.state.value, back.draft, back.final_text, s.events(item, "undo")


async def _undo_after(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store)
    await s.act(surface, "approve", item, "first")
    later = utcnow() + timedelta(seconds=301)
    s.slack.service.now = lambda: later  # the window has passed
    told = await s.act(surface, "undo", item, "first")
    return UNDO_OVER in told, s.state(item), s.events(item, "undo")


async def _race(s: Surfaces, surface: str) -> tuple[Any, ...]:
    item = seed_item(s.store)
    await s.act(surface, "reject", item, "first", reason="spam")
    told = await s.act(surface, "approve", item, "second")
    first = "UALICE" if surface == "slack" else "alice"
    return "already rejected" in told, first in told, s.state(item)


async def _linked_account(s: Surfaces, surface: str) -> tuple[Any, ...]:
    """dana's console account is linked to Slack's UALICE: one person, whichever surface."""
    item = seed_item(s.store, urgency=0.9)
    other = "web" if surface == "slack" else "slack"
    first_as = "dana" if surface == "web" else "first"
    then_as = "dana" if other == "web" else "first"
    await s.act(surface, "approve", item, first_as)
    again = await s.act(other, "approve", item, then_as)
    return SAME_PERSON in again, s.state(item)


RULES: dict[str, tuple[Rule, tuple[Any, ...]]] = {
    "approver list": (_not_approver, ("awaiting_approval", True, ["refused"])),
    "two-person rule": (_two_person, ("", True, "awaiting_approval", "approved")),
    "guardrail override": (
        _guardrail_override,
        (True, "awaiting_approval", "approved", BAD_EMAIL, ["guardrail_override"]),
    ),
    "platform length": (_length, (True, "awaiting_approval", [])),
    "claim and takeover": (
        _claim,
        (True, "awaiting_approval", "approved", [False, True], ["claim_released"], {}),
    ),
    "undo inside the window": (
        _undo_within,
        (
            "approved",
            "awaiting_approval",
            "Edited: please DM us your order.",
            None,
            ["undo"],
        ),
    ),
    "undo after the window": (_undo_after, (True, "approved", [])),
    "race loser is told who": (_race, (True, True, "rejected")),
    "linked console account": (_linked_account, (True, "awaiting_approval")),
}


@pytest.mark.parametrize("surface", ["slack", "web"])
@pytest.mark.parametrize("rule", list(RULES))
async def test_every_rule_ends_the_same_in_both_surfaces(
    both: Surfaces, rule: str, surface: str
) -> None:
    run, expected = RULES[rule]
    assert await run(both, surface) == expected


async def test_slack_undo_updates_the_same_message(both: Surfaces) -> None:
    item = seed_item(both.store)
    await both.act("slack", "approve", item, "first")
    shown = both.fake.calls_to("chat.update")[-1].args
    assert "Posting in" in json.dumps(shown["blocks"]) and blocks.ACTION_UNDO in json.dumps(
        shown["blocks"]
    )
    await both.act("slack", "undo", item, "second")
    await both.slack.sync()
    assert len(both.fake.calls_to("chat.postMessage")) == 1  # reopened in place, not re-posted
    reopened = json.dumps(both.fake.calls_to("chat.update")[-1].args["blocks"])
    assert "Undone by <@UBOB>" in reopened and blocks.ACTION_APPROVE in reopened
