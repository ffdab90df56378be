"""Block Kit builders for the approval messages and modals.

Every interactive element carries the mention id; modals carry ``{"id", "channel", "ts"}`` as
JSON in ``private_metadata`` so a submission can update the message it came from.
"""

from __future__ import annotations

import json
from typing import Any

from repbot import platforms
from repbot.approval import render
from repbot.models import State
from repbot.respond import limits
from repbot.store.base import Decision, Item

Block = dict[str, Any]

ACTION_APPROVE = "repbot_approve"
ACTION_EDIT = "repbot_edit"
ACTION_REJECT = "repbot_reject"
ACTION_SNOOZE = "repbot_snooze"
ACTION_MARK_POSTED = "repbot_mark_posted"
CALLBACK_EDIT = "repbot_edit_submit"
CALLBACK_REJECT = "repbot_reject_submit"
CALLBACK_POSTED = "repbot_posted_submit"
INPUT_BLOCK = "repbot_input"
INPUT_ACTION = "value"
DRAFT_EVENT = "repbot_draft"
"""The ``metadata.event_type`` of every draft message."""

_SECTION_MAX = 2900


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
    if mention.title:
        lines.append(f"*{escape(mention.title)}*")
    factors = render.factors_text(item)
    signal = (
        f"Sentiment: *{item.sentiment or 'n/a'}* · Urgency: *{render.urgency_text(item)}*"
        + (f" ({escape(factors)})" if factors else "")
        + (f" · Intent: {escape(item.intent)}" if item.intent else "")
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
        ],
    }


def _mark_posted_actions(item_id: int) -> Block:
    return {
        "type": "actions",
        "block_id": f"repbot_manual_{item_id}",
        "elements": [_button("Mark as posted", ACTION_MARK_POSTED, str(item_id), "primary")],
    }


def message_blocks(
    item: Item, *, tz: str, last: Decision | None = None, pending: dict[str, Any] | None = None
) -> list[Block]:
    """The whole approval message for ``item`` in its current state."""
    blocks = header_blocks(item)
    if item.state is State.AWAITING_APPROVAL:
        text = pending.get("text") if pending else item.draft
        blocks.append(_draft_block(item, "Draft reply", text))
        if pending:
            who = actor_mrkdwn(str(pending.get("actor")))
            blocks.append(
                _context(f":hourglass: First approval by {who}; needs a second approver.")
            )
        blocks.append(approval_actions(item.id))
        return blocks
    blocks.extend(status_blocks(item, tz=tz, last=last))
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
        return [_section(f":outbox_tray: *Posted* · {link}")]
    if item.state is State.FAILED:
        error = escape(item.last_error or "unknown error")
        return [_section(f":warning: *Posting failed:* {error}"), _mark_posted_actions(item.id)]
    if render.needs_manual_post(item):
        where = _link(item.mention.url, "the mention") or "the platform"
        note = f":raised_hand: *Post manually:* copy the final reply and answer on {where}."
        return [_section(note), _mark_posted_actions(item.id)]
    if item.last_error:
        return [_context(f":repeat: Posting will be retried: {escape(item.last_error)}")]
    return [_context(":hourglass_flowing_sand: Posting…")]


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
    return _modal(CALLBACK_EDIT, "Edit and approve", "Approve", meta, [context, field])


def reject_modal(item: Item, meta: str) -> Block:
    """The Reject modal with an optional reason."""
    field = _input("Reason (optional)", initial=None, multiline=True, optional=True)
    return _modal(CALLBACK_REJECT, "Reject draft", "Reject", meta, [field])


def posted_modal(item: Item, meta: str) -> Block:
    """The Mark-as-posted modal with an optional link to the reply."""
    field = _input("Link to the reply (optional)", initial=None, multiline=False, optional=True)
    return _modal(CALLBACK_POSTED, "Mark as posted", "Confirm", meta, [field])
