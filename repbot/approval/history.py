"""The customer's history in Slack: a threaded reply under an item's message, posted once.

Identity is kept simple (see docs/APPROVAL.md): the same platform and the same handle, or the
identical handle on every platform when ``approval.history_across_platforms`` is set.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from repbot.approval import render
from repbot.approval.blocks import escape
from repbot.store.base import Store
from repbot.store.queueing import HistoryEntry

log = logging.getLogger(__name__)
LIMIT = 20
_MARK = "slack:history:{id}"
_TEXT_MAX = 160


def history_mrkdwn(entries: list[HistoryEntry], tz: str) -> str:
    """The history as Slack mrkdwn, newest first: one line per mention, its reply and decisions."""
    lines = [f"*This customer's history* ({len(entries)} earlier, newest first)"]
    for e in entries:
        when = render.local_time(e.created_at, tz)
        lines.append(
            f"• #{e.mention_id} {e.platform} {e.kind} · {when} · {e.state.value.replace('_', ' ')}:"
            f" {escape(_short(e.text))}"
        )
        if e.reply:
            lines.append(f"    ↳ replied: {escape(_short(e.reply))}")
        for d in e.decisions[:3]:
            lines.append(f"    ↳ {d.action.replace('_', ' ')} by {escape(d.actor)}")
    return "\n".join(lines)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _TEXT_MAX else flat[: _TEXT_MAX - 1] + "…"


async def post_history_thread(
    client: Any,
    store: Store,
    item_id: int,
    *,
    channel: str,
    ts: str,
    tz: str = "UTC",
    across_platforms: bool = False,
) -> bool:
    """Reply in the thread of ``ts`` with the customer's history; whether it was posted.

    At most once per item: the mark is written before the post, so a retry, a redelivery or a
    crash never posts it twice (a failed post is logged and not retried).
    """
    mark = _MARK.format(id=item_id)
    if store.kv_get(mark) is not None:
        return False
    entries = store.customer_history(item_id, limit=LIMIT, across_platforms=across_platforms)
    if not entries:
        return False
    store.kv_set(mark, ts)
    try:
        await client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=history_mrkdwn(entries, tz),
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackApiError, aiohttp.ClientError) as exc:
        log.warning("Slack history reply for item %s not posted: %s", item_id, type(exc).__name__)
        return False
    return True
