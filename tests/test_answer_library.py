"""Approved and edited replies become an answer library (issue 15, "answers from accumulated data").

A new mention like one already answered gets a draft based on that reply, shown as "based on
the reply approved for #123"; a reply naming something specific to its customer is not reused.
"""

from __future__ import annotations

import json

import pytest
from test_respond_helpers import HashEmbedder, brand, mention

from repbot import workflow
from repbot.approval import blocks, render
from repbot.models import Author
from repbot.pipeline import draft_meta
from repbot.respond import DraftContext, Responder, ResponderConfig
from repbot.store import SqliteStore
from repbot.testing.fakes import make_mention

ANALYSIS = {"label": "negative", "intent": "complaint", "urgency": 0.7, "explanation": []}
ASKED = "@AcmeHelp my card was declined at the supermarket again, so embarrassing"
ANSWER = (
    "Hi Tom, so sorry your card was declined at the till. Check the card isn't frozen under "
    "Cards, then DM us and we'll look at the declined payment with you."
)


def _answered(
    store: SqliteStore, text: str, reply: str, platform: str = "x", intent: str = "complaint"
) -> int:
    """One mention by Tom Baker answered with ``reply`` (edited by the approver)."""
    author = Author(handle="tom_b", display_name="Tom Baker")
    found = make_mention(1, text=text).model_copy(update={"author": author, "platform": platform})
    [item_id] = store.ingest("src", [found], None).new_ids
    store.set_classified(item_id, {**ANALYSIS, "intent": intent})
    store.set_draft(item_id, "Sorry about that", {"limit": 280})
    workflow.decide(store, item_id, "edit", "ann", text=reply)
    return item_id


@pytest.fixture
def store() -> SqliteStore:
    return SqliteStore(":memory:")


async def _responder(store: SqliteStore) -> Responder:
    responder = Responder(ResponderConfig(), brand(), embedder=HashEmbedder())
    await responder.sync_history(store)
    return responder


def _ctx(text: str, platform: str = "x") -> DraftContext:
    return DraftContext(
        mention(text, platform=platform), sentiment="negative", intent="complaint", language="en"
    )


async def test_a_mention_like_one_answered_gets_a_draft_based_on_that_reply(
    store: SqliteStore,
) -> None:
    answered = _answered(store, ASKED, ANSWER)
    responder = await _responder(store)
    draft = await responder.draft(_ctx("@AcmeHelp my card was declined at the supermarket again"))
    assert draft.based_on == answered and draft.template == "library"
    assert f"Based on the reply approved for #{answered}." in draft.notes
    assert draft.text.startswith("@maria_l Hi Maria, so sorry your card was declined")
    assert "Tom" not in draft.text
    meta = draft_meta(draft)
    assert meta["based_on"] == answered


async def test_the_provenance_is_shown_in_slack_and_the_console(store: SqliteStore) -> None:
    answered = _answered(store, ASKED, ANSWER)
    responder = await _responder(store)
    draft = await responder.draft(_ctx("@AcmeHelp my card was declined at the supermarket again"))
    [new] = store.ingest("src", [make_mention(2, text="declined")], None).new_ids
    store.set_classified(new, ANALYSIS)
    store.set_draft(new, draft.text, draft_meta(draft))
    item = store.get(new)
    note = f"Based on the reply approved for #{answered}."
    assert note in render.draft_notes(item)
    assert note in json.dumps(blocks.message_blocks(item, tz="UTC"))


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (ANSWER.replace("the declined payment", "payment #4411"), "names the old order"),
        ("Sorry Tom, we've unfrozen the card ending 8812 for you.", "names the old card"),
    ],
)
async def test_a_reply_specific_to_its_customer_is_not_reused(
    store: SqliteStore, reply: str, why: str
) -> None:
    _answered(store, ASKED + " order #4411 card ending 8812", reply)
    responder = await _responder(store)
    draft = await responder.draft(_ctx(ASKED + " order #4411 card ending 8812"))
    assert draft.based_on is None, why


async def test_a_different_problem_or_platform_family_does_not_reuse(store: SqliteStore) -> None:
    _answered(store, ASKED, ANSWER)
    responder = await _responder(store)
    other_problem = await responder.draft(
        _ctx("@AcmeHelp my card was charged twice at the supermarket again")
    )
    assert other_problem.based_on is None
    review = await responder.draft(
        _ctx("My card was declined at the supermarket again, so embarrassing", "trustpilot")
    )
    assert review.based_on is None


async def test_an_unrelated_mention_does_not_reuse(store: SqliteStore) -> None:
    _answered(store, ASKED, ANSWER)
    responder = await _responder(store)
    draft = await responder.draft(_ctx("@AcmeHelp how do I change my PIN?"))
    assert draft.based_on is None and draft.template != "library"


async def test_without_a_name_the_old_customers_name_is_not_left_in(store: SqliteStore) -> None:
    _answered(store, ASKED, ANSWER)
    responder = await _responder(store)
    nameless = mention(ASKED, display_name=None)
    draft = await responder.draft(DraftContext(nameless, intent="complaint", language="en"))
    assert "Tom" not in draft.text


async def test_praise_naming_someone_the_new_mention_does_not_name_is_not_reused(
    store: SqliteStore,
) -> None:
    praised = "@AcmeHelp Aisha at the Elm Road desk was fantastic, sorted my card in minutes"
    _answered(store, praised, "Thank you Tom! We'll pass your thanks on to Aisha.", intent="praise")
    responder = await _responder(store)
    same = DraftContext(mention(praised), sentiment="positive", intent="praise", language="en")
    assert (await responder.draft(same)).based_on is not None  # the same praise may reuse it
    ctx = DraftContext(
        mention("@AcmeHelp Ben at the Elm Road desk was fantastic, sorted my card in minutes"),
        sentiment="positive",
        intent="praise",
        language="en",
    )
    draft = await responder.draft(ctx)
    assert "Aisha" not in draft.text and draft.based_on is None
