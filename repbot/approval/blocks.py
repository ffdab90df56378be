"""Block Kit builders for the approval messages and modals.

Every interactive element carries the mention id; modals carry ``{"id", "channel", "ts"}`` as
JSON in ``private_metadata`` so a submission can update the message it came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from repbot import platforms
from repbot.approval import render
from repbot.models import State
from repbot.respond import limits
from repbot.store.base import Claim, Decision, Item
from repbot.store.threads import Turn

Block = dict[str, Any]

ACTION_APPROVE = "repbot_approve"
ACTION_EDIT = "repbot_edit"
ACTION_REJECT = "repbot_reject"
ACTION_SNOOZE = "repbot_snooze"
ACTION_MARK_POSTED = "repbot_mark_posted"
ACTION_UNDO = "repbot_undo"
ACTION_CLAIM = "repbot_claim"
ACTION_TAKEOVER = "repbot_takeover"
ACTION_RELABEL = "repbot_relabel"
CALLBACK_EDIT = "repbot_edit_submit"
CALLBACK_REJECT = "repbot_reject_submit"
CALLBACK_POSTED = "repbot_posted_submit"
INPUT_BLOCK = "repbot_input"
INPUT_ACTION = "value"
OVERRIDE_BLOCK = "repbot_override"
OVERRIDE_ACTION = "confirm"
OVERRIDE_VALUE = "override"
DRAFT_EVENT = "repbot_draft"
"""The ``metadata.event_type`` of every draft message."""

_SECTION_MAX = 2900
_POSTING: Block = {
    "type": "context",
    "elements": [{"type": "mrkdwn", "text": ":hourglass_flowing_sand: Posting…"}],
}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str, limit: int = _SECTION_MAX) -> str:
    """``text`` as an mrkdwn block quote, escaped and cut to fit a section."""
    body = escape(text.strip() or "(empty)")
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return "\n".join(f">{line}" for line in body.splitlines())


def actor_mrkdwn(actor: str | None) -> str:
    """A Slack mention for ``slack:U…`` actors, the plain name otherwise."""
    if not actor:
        return "someone"
    return "+".join(
        f"<@{part.removeprefix('slack:')}>" if part.startswith("slack:") else escape(part)
        for part in actor.split("+")
    )


def _link(url: str | None, label: str) -> str | None:
    safe = render.safe_url(url)
    return f"<{safe.replace('|', '%7C').replace('>', '%3E')}|{escape(label)}>" if safe else None


def _text(kind: str, text: str) -> Block:
    return {"type": kind, "text": text} if kind == "mrkdwn" else {"type": kind, "text": text[:150]}


def _section(text: str) -> Block:
    return {"type": "section", "text": _text("mrkdwn", text[:3000])}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_text("mrkdwn", text[:3000])]}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": _text("plain_text", label),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def header_blocks(item: Item) -> list[Block]:
    """Platform and link, author with reach, the mention (with stars), sentiment and urgency."""
    mention = item.mention
    emoji = platforms.platform(mention.platform).emoji
    title = f"{mention.platform} {mention.kind} · urgency {render.urgency_text(item)}"
    link = _link(mention.url, f"Open on {mention.platform}") or escape(mention.platform)
    author = escape(render.author_name(item))
    reach = render.reach(item)
    who = f"*{author}*" + (f" · {reach}" if reach else "")
    lines = [f"{emoji} {link} · {who}"]
    if mention.rating:
        lines.append(f"{render.stars(mention.rating)} ({mention.rating}/5)")
    if item.revisions:
        lines.append(f":pencil2: _{escape(render.revision_text(item))}_")
    if mention.title:
        lines.append(f"*{escape(mention.title)}*")
    factors = render.factors_text(item)
    signal = (
        f"Sentiment: *{item.sentiment or 'n/a'}* · Urgency: *{render.urgency_text(item)}*"
        + (f" ({escape(factors)})" if factors else "")
        + (f" · Intent: {escape(item.intent)}" if item.intent else "")
        + (" · :rotating_light: needs a senior approver" if item.analysis.get("senior") else "")
    )
    return [
        {"type": "header", "text": _text("plain_text", title)},
        _section("\n".join(lines)),
        _section(quote(mention.text)),
        _context(signal),
    ]


def _draft_block(item: Item, label: str, text: str | None) -> Block:
    body = text or ""
    limit = render.length_limit(item)
    return _section(f"*{label}* ({len(body)}/{limit} characters)\n{quote(body)}")


def _snooze_select(item_id: int) -> Block:
    return {
        "type": "static_select",
        "action_id": ACTION_SNOOZE,
        "placeholder": _text("plain_text", "Snooze…"),
        "options": [
            {"text": _text("plain_text", label), "value": f"{item_id}:{choice}"}
            for choice, label in render.SNOOZE_LABELS.items()
        ],
    }


def _relabel_select(item_id: int) -> Block:
    from repbot.classify.feedback import RELABELS

    return {
        "type": "static_select",
        "action_id": ACTION_RELABEL,
        "placeholder": _text("plain_text", "Relabel…"),
        "options": [
            {"text": _text("plain_text", words), "value": f"{item_id}:{label}"}
            for label, words in RELABELS.items()
        ],
    }


def approval_actions(item_id: int) -> Block:
    """The Approve / Edit / Reject / Snooze row."""
    value = str(item_id)
    return {
        "type": "actions",
        "block_id": f"repbot_actions_{item_id}",
        "elements": [
            _button("Approve", ACTION_APPROVE, value, "primary"),
            _button("Edit", ACTION_EDIT, value),
            _button("Reject", ACTION_REJECT, value, "danger"),
            _snooze_select(item_id),
            _relabel_select(item_id),
        ],
    }


def claim_actions(item_id: int, claim: Claim | None) -> Block:
    """The "I'm on it" button (or "Take over" while someone holds a claim)."""
    value = str(item_id)
    button = (
        _button("Take over", ACTION_TAKEOVER, value)
        if claim
        else _button("I'm on it", ACTION_CLAIM, value)
    )
    return {"type": "actions", "block_id": f"repbot_claim_{item_id}", "elements": [button]}


def claim_context(claim: Claim, tz: str) -> Block:
    """``:raising_hand: claimed by @alice · since 14:05 (until 14:20)``."""
    since = render.local_time(claim.claimed_at, tz)
    until = render.local_time(claim.expires, tz)
    return _context(
        f":raising_hand: Claimed by {actor_mrkdwn(claim.actor)} · since {since} (until {until})"
    )


def undo_blocks(item: Item, undo_until: datetime, now: datetime) -> list[Block]:
    """``Posting in N s · Undo``: the reply waits out its undo window."""
    seconds = max(0, int((undo_until - now).total_seconds() + 0.999))
    return [
        {
            "type": "section",
            "block_id": f"repbot_undo_{item.id}",
            "text": _text("mrkdwn", f":hourglass_flowing_sand: Posting in {seconds} s"),
            "accessory": _button("Undo", ACTION_UNDO, str(item.id), "danger"),
        }
    ]


def _mark_posted_actions(item_id: int) -> Block:
    return {
        "type": "actions",
        "block_id": f"repbot_manual_{item_id}",
        "elements": [_button("Mark as posted", ACTION_MARK_POSTED, str(item_id), "primary")],
    }


def message_blocks(
    item: Item,
    *,
    tz: str,
    last: Decision | None = None,
    pending: dict[str, Any] | None = None,
    claim: Claim | None = None,
    undo_until: datetime | None = None,
    now: datetime | None = None,
    conversation: Sequence[Turn] = (),
) -> list[Block]:
    """The whole approval message for ``item`` in its current state; ``claim`` is its live
    claim, ``undo_until`` the end of its undo window while that is open, ``conversation``
    the thread it belongs to (shown compactly)."""
    blocks = header_blocks(item)
    if len(conversation) > 1:
        blocks.insert(3, _context(conversation_text(item, conversation)))
    if item.state is State.AWAITING_APPROVAL:
        text = pending.get("text") if pending else item.draft
        blocks.append(_draft_block(item, "Draft reply", text))
        notes = render.draft_notes(item)
        if notes:
            blocks.append(_context(" · ".join(f":memo: {escape(n)}" for n in notes)))
        if last is not None and last.action == "undo":
            who = actor_mrkdwn(last.actor)
            blocks.append(_context(f":leftwards_arrow_with_hook: Undone by {who}; edit kept."))
        if pending:
            who = actor_mrkdwn(str(pending.get("actor")))
            blocks.append(
                _context(f":hourglass: First approval by {who}; needs a second approver.")
            )
        if claim is not None:
            blocks.append(claim_context(claim, tz))
        blocks.append(approval_actions(item.id))
        blocks.append(claim_actions(item.id, claim))
        return blocks
    blocks.extend(status_blocks(item, tz=tz, last=last))
    if undo_until is not None:
        if blocks[-1] == _POSTING:
            blocks.pop()
        blocks.extend(undo_blocks(item, undo_until, now or undo_until))
    return blocks


def status_blocks(item: Item, *, tz: str, last: Decision | None) -> list[Block]:
    """What happened to a decided item: who, when, the final text, the post or its error."""
    who = actor_mrkdwn(last.actor if last else item.decided_by)
    when = render.local_time(last.created_at, tz) if last else ""
    state = item.state
    if state is State.REJECTED:
        reason = f": {escape(last.reason)}" if last and last.reason else ""
        return [_section(f":x: *Rejected* by {who} at {when}{reason}")]
    if state is State.SNOOZED:
        until = render.local_time(item.snooze_until, tz)
        return [_section(f":zzz: *Snoozed* by {who} until {until}; it will come back here.")]
    if state is State.AWAITING_APPROVAL:
        return [_context("Back in the queue: see the newer message.")]
    if state in (State.SKIPPED, State.NEW, State.CLASSIFIED):  # withdrawn (issue 14)
        why = escape(item.skip_reason or "the mention changed: a new draft follows")
        link = _link(item.posted_url, "their reply")
        return [_section(f":heavy_check_mark: *Closed:* {why}" + (f" · {link}" if link else ""))]
    verb = "Edited and approved" if last and last.action == "edit" else "Approved"
    if last and last.action == "posted_manually":
        verb = "Marked as posted"
    blocks = [
        _section(f":white_check_mark: *{verb}* by {who} at {when}"),
        _draft_block(item, "Final reply", item.final_text),
    ]
    blocks.extend(_outcome_blocks(item))
    return blocks


def _outcome_blocks(item: Item) -> list[Block]:
    if item.state is State.POSTED:
        link = _link(item.posted_url, "View the reply") or escape(item.posted_url or "(no link)")
        posted = [_section(f":outbox_tray: *Posted* · {link}")]
        sandbox = [_context(f":test_tube: {render.SANDBOX_NOTE}")] if item.sandbox_post else []
        return posted + sandbox
    if item.state is State.FAILED:
        error = escape(item.last_error or "unknown error")
        return [_section(f":warning: *Posting failed:* {error}"), _mark_posted_actions(item.id)]
    if render.needs_manual_post(item):
        where = _link(item.mention.url, "the mention") or "the platform"
        note = f":raised_hand: *Post manually:* copy the final reply and answer on {where}."
        return [_section(note), _mark_posted_actions(item.id)]
    if item.last_error:
        return [_context(f":repeat: Posting will be retried: {escape(item.last_error)}")]
    return [_POSTING]


def conversation_text(item: Item, conversation: Sequence[Turn]) -> str:
    """The conversation so far, one compact line per message and reply."""
    lines = [f":speech_balloon: *Conversation* ({len(conversation)} messages)"]
    for turn in conversation:
        here = " _(this one)_" if turn.mention_id == item.id else ""
        lines.append(f"• *{escape(turn.author)}*{here}: {escape(turn.text[:150])}")
        if turn.reply:
            lines.append(f"   ↳ _us_: {escape(turn.reply[:150])}")
    return "\n".join(lines)


def fallback_text(item: Item) -> str:
    """The notification text shown where blocks cannot be (push notifications)."""
    state = render.STATE_LABELS.get(item.state, item.state.value)
    return f"[{state}] {item.mention.platform} mention by {escape(render.author_name(item))}"


def delivery_metadata(item_id: int, episode: str) -> dict[str, Any]:
    """The message ``metadata`` naming one delivery of a draft (found again in history)."""
    return {
        "event_type": DRAFT_EVENT,
        "event_payload": {"mention_id": item_id, "episode": episode},
    }


def delivery_key(message: dict[str, Any], bot_id: str) -> tuple[int, str] | None:
    """``(mention_id, episode)`` named by a history message we posted, else None."""
    if bot_id and message.get("bot_id") != bot_id:
        return None  # another app's message cannot vouch for a delivery
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != DRAFT_EVENT:
        return None
    payload = meta.get("event_payload")
    if not isinstance(payload, dict):
        return None
    mention_id, episode = payload.get("mention_id"), payload.get("episode")
    if type(mention_id) is not int or not isinstance(episode, str):
        return None
    return mention_id, episode


def metadata(item_id: int, channel: str | None, ts: str | None) -> str:
    """The ``private_metadata`` a modal carries back on submission."""
    return json.dumps({"id": item_id, "channel": channel, "ts": ts})


def _modal(callback: str, title: str, submit: str, meta: str, blocks: list[Block]) -> Block:
    return {
        "type": "modal",
        "callback_id": callback,
        "title": _text("plain_text", title[:24]),
        "submit": _text("plain_text", submit),
        "close": _text("plain_text", "Cancel"),
        "private_metadata": meta,
        "blocks": blocks,
    }


def _input(
    label: str,
    *,
    initial: str | None,
    multiline: bool,
    optional: bool,
    hint: str = "",
    max_length: int | None = None,
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    block: Block = {
        "type": "input",
        "block_id": INPUT_BLOCK,
        "optional": optional,
        "label": _text("plain_text", label),
        "element": element,
    }
    if hint:
        block["hint"] = _text("plain_text", hint)
    return block


def override_input() -> Block:
    """The optional "approve despite the guardrails" checkbox of the Edit modal."""
    option = {
        "text": _text("plain_text", "Approve even if the guardrails flag my edit"),
        "description": _text("plain_text", "Recorded in the audit trail."),
        "value": OVERRIDE_VALUE,
    }
    return {
        "type": "input",
        "block_id": OVERRIDE_BLOCK,
        "optional": True,
        "label": _text("plain_text", "Guardrail override"),
        "element": {"type": "checkboxes", "action_id": OVERRIDE_ACTION, "options": [option]},
    }


def edit_modal(item: Item, meta: str) -> Block:
    """The Edit modal, prefilled with the draft and showing the platform's length limit."""
    limit = render.length_limit(item)
    field = _input(
        "Reply",
        initial=item.draft,
        multiline=True,
        optional=False,
        hint=f"{item.mention.platform} allows at most {limit} characters.",
        max_length=min(limits.input_max(item.mention.platform, limit), 3000),
    )
    context = _context(
        f"Replying to {escape(render.author_name(item))}:\n{quote(item.mention.text, 1500)}"
    )
    return _modal(
        CALLBACK_EDIT, "Edit and approve", "Approve", meta, [context, field, override_input()]
    )


def reject_modal(item: Item, meta: str) -> Block:
    """The Reject modal with an optional reason."""
    field = _input("Reason (optional)", initial=None, multiline=True, optional=True)
    return _modal(CALLBACK_REJECT, "Reject draft", "Reject", meta, [field])


def posted_modal(item: Item, meta: str) -> Block:
    """The Mark-as-posted modal with an optional link to the reply."""
    field = _input("Link to the reply (optional)", initial=None, multiline=False, optional=True)
    return _modal(CALLBACK_POSTED, "Mark as posted", "Confirm", meta, [field])
