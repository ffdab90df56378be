"""What review edits, replies made on the platform and conversations do to an item.

The store records the facts (a revision, an owner reply, a thread link); these rules decide
the moves, through the store's compare-and-set methods:

- **Edited** (a revision was stored): an item not yet decided (new, classified, awaiting
  approval, snoozed, failed, or skipped as not needing a reply) goes back to ``new``: it is
  re-classified and re-drafted, so the draft fits the new text. An approved, posting, posted
  or rejected item keeps its state; the console and Slack show the edit ("edited 1★ → 4★").
- **Answered on the platform** (``Mention.owner_reply``): an undecided item closes as
  ``skipped`` with :data:`ANSWERED` (an open draft is withdrawn: its Slack message and console
  entry show it closed); an approved or failed one becomes ``posted`` with the owner reply's
  link, like "Mark posted". The KPI post time is the owner reply's time (else when we saw it).
- **Conversations**: a new mention whose thread parent we hold is linked by the store. At
  classification, a new mention that has an open item to join (an undecided item of its
  conversation, or one by the same author on the same platform within
  ``responder.conversation_window``) joins it: it is skipped with ``joined conversation #N``
  and the open item is re-drafted with the whole thread in context. Otherwise it is drafted
  on its own, the conversation so far in context. Each turn keeps its own KPI clock
  (``ingested_at`` → ``posted_at``); a joined message's clock is its open item's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from repbot.models import Mention, State, utcnow
from repbot.store import IngestResult, Item, Store

ANSWERED = "answered on the platform"
JOINED = "joined conversation #{}"
UNDECIDED = frozenset(
    {State.NEW, State.CLASSIFIED, State.AWAITING_APPROVAL, State.SNOOZED, State.FAILED}
)
"""Items an edit re-drafts and an owner reply closes (nobody has approved a reply yet)."""
JOINABLE = frozenset({State.NEW, State.CLASSIFIED, State.AWAITING_APPROVAL, State.SNOOZED})
"""Open items a later message of the same conversation joins."""


def ingest(store: Store, source: str, mentions: list[Mention], cursor: str | None) -> IngestResult:
    """Store a page (see :meth:`Store.ingest`) and apply these rules, in one transaction."""
    with store.batch():
        result = store.ingest(source, mentions, cursor)
        for mention_id in result.revised_ids:
            revised(store, store.get(mention_id))
        for mention_id in result.answered_ids:
            answered(store, store.get(mention_id))
    return result


def revised(store: Store, item: Item) -> None:
    """An edited item that nobody has decided on goes back to ``new``."""
    redraft = item.state in UNDECIDED - {State.NEW} or (
        item.state is State.SKIPPED and not _closed_by_rule(item)
    )
    if redraft:
        store.reopen(item.id, "redraft_after_edit", "pipeline", to=State.NEW, expected={item.state})


def answered(store: Store, item: Item, now: datetime | None = None) -> None:
    """Close an item whose reply was made on the platform."""
    owner = item.mention.owner_reply
    if owner is None or _edited_after(item.mention, owner.created_at):
        return  # no reply, or the customer wrote again after it: that edit is unanswered
    at = owner.created_at or now or utcnow()
    url = owner.url or item.mention.url
    if item.state in UNDECIDED - {State.FAILED}:
        to = State.SKIPPED
    elif item.state in (State.APPROVED, State.FAILED):
        to = State.POSTED
    else:
        return  # posting (reconciliation finds it), closed already: nothing to withdraw
    store.close_answered(item.id, ANSWERED, at, url, to=to, expected={item.state})


def join_target(store: Store, item: Item, window: float) -> int | None:
    """The open item ``item`` (new) joins instead of getting a draft of its own, if any."""
    if item.conversation_id is not None:
        found = store.open_in_conversation(item.conversation_id, JOINABLE, item.id)
        if found is not None:
            return found
    if window <= 0:
        return None
    mention = item.mention
    since = mention.created_at - timedelta(seconds=window)
    return store.open_by_author(mention.platform, mention.author.handle, since, JOINABLE, item.id)


def join(store: Store, item: Item, target_id: int) -> None:
    """``item`` joins ``target_id``'s conversation; the target is re-drafted with it."""
    with store.batch():
        store.join_conversation(item.id, target_id)
        store.skip(item.id, JOINED.format(target_id), expected={State.NEW})
        target = store.get(target_id)
        if target.state is not State.NEW:
            store.reopen(
                target_id, "redraft_for_followup", "pipeline", to=State.NEW, expected={target.state}
            )


def _edited_after(mention: Mention, replied_at: datetime | None) -> bool:
    """Whether the author edited ``mention`` after the brand's reply on the platform."""
    return bool(mention.updated_at and replied_at and mention.updated_at > replied_at)


def _closed_by_rule(item: Item) -> bool:
    reason = item.skip_reason or ""
    return reason == ANSWERED or reason.startswith(JOINED.format(""))
