""" "I'm on it" claims: one person per item, shown in both surfaces, expiring after
``approval.claim_minutes``; someone else's live claim needs a takeover before a decision, and a
decision releases the claim. The clock is injected: no sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from repbot.approval import blocks
from repbot.approval.service import ApprovalService, Request, claimed_message
from repbot.models import State, utcnow
from repbot.store.sqlite import SqliteStore
from repbot.testing.approval import seed_item


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _service(store: SqliteStore, clock: Clock) -> ApprovalService:
    return ApprovalService(store, claim_minutes=15, undo_seconds=0, now=clock)


def _req(item_id: int, verb: str, who: str, **kw: str) -> Request:
    return Request(item_id, verb, f"web:{who}", "web", actor=who, **kw)  # type: ignore[arg-type]


async def test_claim_blocks_others_until_it_expires(repbot_store: SqliteStore) -> None:
    clock = Clock()
    service = _service(repbot_store, clock)
    item_id = seed_item(repbot_store)
    claimed = await service.decide(_req(item_id, "claim", "alice"))
    assert claimed.outcome == "accepted" and claimed.claim is not None
    assert claimed.claim.expires == clock.now + timedelta(minutes=15)

    clock.now += timedelta(minutes=4)
    edit = await service.decide(_req(item_id, "edit", "bob", text="Bob's reply."))
    assert edit.outcome == "refused" and edit.reason.startswith("alice is on it (claimed 4 min")
    assert (await service.decide(_req(item_id, "claim", "bob"))).outcome == "refused"
    assert repbot_store.get(item_id).state is State.AWAITING_APPROVAL

    clock.now += timedelta(minutes=11)  # 15 minutes after the claim: it has expired
    assert service.claim_of(item_id) is None
    assert (await service.decide(_req(item_id, "edit", "bob", text="Bob's reply."))).outcome == (
        "accepted"
    )


async def test_takeover_is_explicit_and_audited(repbot_store: SqliteStore) -> None:
    clock = Clock()
    service = _service(repbot_store, clock)
    item_id = seed_item(repbot_store)
    await service.decide(_req(item_id, "claim", "alice"))
    taken = await service.decide(_req(item_id, "takeover", "bob"))
    assert taken.outcome == "accepted" and taken.claim is not None
    assert taken.claim.actor == "bob"
    refused = await service.decide(_req(item_id, "approve", "alice"))
    assert refused.outcome == "refused" and "bob is on it" in refused.reason
    trail = [
        (e["actor"], e["detail"]["taken_from"])
        for e in repbot_store.audit_log(item_id)
        if e["event"] == "claimed"
    ]
    assert trail == [("alice", None), ("bob", "alice")]


async def test_the_claimant_decides_and_that_releases_the_claim(
    repbot_store: SqliteStore,
) -> None:
    clock = Clock()
    service = _service(repbot_store, clock)
    item_id = seed_item(repbot_store)
    await service.decide(_req(item_id, "claim", "alice"))
    again = await service.decide(_req(item_id, "claim", "alice"))  # refreshing one's own claim
    assert again.outcome == "accepted"
    assert (await service.decide(_req(item_id, "reject", "alice", reason="spam"))).changed
    assert service.claim_of(item_id) is None
    events = [e["event"] for e in repbot_store.audit_log(item_id)]
    assert events.count("claimed") == 2 and events[-1] == "claim_released"
    lost = await service.decide(_req(item_id, "claim", "bob"))
    assert (lost.outcome, lost.state, lost.decided_by) == (
        "already_decided",
        State.REJECTED,
        "alice",
    )


async def test_two_claims_at_once_one_wins(repbot_store: SqliteStore) -> None:
    clock = Clock()
    item_id = seed_item(repbot_store)
    first = repbot_store.claim(
        item_id,
        "web:alice",
        "alice",
        now=clock.now,
        expires=clock.now + timedelta(minutes=1),
        holder=None,
    )
    # bob read "no claim" before alice's landed: the compare-and-set keeps alice's
    second = repbot_store.claim(
        item_id,
        "web:bob",
        "bob",
        now=clock.now,
        expires=clock.now + timedelta(minutes=1),
        holder=None,
    )
    assert first.identity == second.identity == "web:alice"


def test_claims_are_shown_in_slack(repbot_store: SqliteStore) -> None:
    clock = Clock()
    item_id = seed_item(repbot_store)
    claim = repbot_store.claim(
        item_id,
        "slack:U1",
        "slack:U1",
        now=clock.now,
        expires=clock.now + timedelta(minutes=15),
        holder=None,
    )
    item = repbot_store.get(item_id)
    rendered = str(blocks.message_blocks(item, tz="UTC", claim=claim))
    assert "Claimed by <@U1>" in rendered and blocks.ACTION_TAKEOVER in rendered
    assert blocks.ACTION_CLAIM in str(blocks.message_blocks(item, tz="UTC"))
    assert claimed_message(claim, clock.now + timedelta(minutes=4)) == (
        "slack:U1 is on it (claimed 4 min ago); take it over to decide."
    )
