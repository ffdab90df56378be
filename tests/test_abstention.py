"""Knowledge only when it answers this customer's problem; press, legal and security handling.

Issue 15: "A customer whose order never arrived is told 'a pending duplicate usually drops off
within 3-5 working days'; a chargeback threat over a cancelled order gets 'you can switch back
to the free plan'. A journalist's request and a legal threat get routine customer-care drafts."
"""

from __future__ import annotations

import json

import pytest
from test_respond_helpers import HashEmbedder, brand, mention

from repbot import workflow
from repbot.approval import blocks, render
from repbot.pipeline import draft_meta
from repbot.respond import DraftContext, Responder, ResponderConfig
from repbot.respond.knowledge import main_topic
from repbot.respond.personalize import detect_topics
from repbot.store import SqliteStore
from repbot.testing.fakes import make_mention

NEVER_ARRIVED = "@AcmeHelp my order #4411 never arrived and nobody answers. I want my money back."
CHARGEBACK = (
    "@AcmeHelp I cancelled my order two weeks ago and you still took the money. "
    "Refund it or I'm filing a chargeback."
)


@pytest.fixture(scope="module", params=["lexical", "embedded"])
def responder(request: pytest.FixtureRequest) -> Responder:
    embedder = HashEmbedder() if request.param == "embedded" else None
    return Responder(ResponderConfig(), brand(), embedder=embedder)


@pytest.fixture(scope="module")
def lexical() -> Responder:
    return Responder(ResponderConfig(), brand())


def _draft(responder: Responder, text: str, intent: str = "complaint", platform: str = "x"):  # type: ignore[no-untyped-def]
    ctx = DraftContext(
        mention(text, platform=platform), sentiment="negative", intent=intent, language="en"
    )
    return responder.draft_template(ctx)


def test_an_order_that_never_arrived_never_gets_the_duplicate_charge_snippet(
    responder: Responder,
) -> None:
    draft = _draft(responder, NEVER_ARRIVED)
    assert "double-charge" not in draft.knowledge
    assert draft.knowledge == ()
    assert "working days" not in draft.text and "duplicate" not in draft.text
    assert "your order" in draft.text and "#4411" in draft.text
    assert any("states no fact" in note for note in draft.notes)


def test_a_chargeback_over_a_cancelled_order_never_gets_switch_back_to_the_free_plan(
    responder: Responder,
) -> None:
    draft = _draft(responder, CHARGEBACK)
    assert "cancel-plan" not in draft.knowledge and draft.knowledge == ()
    assert "free plan" not in draft.text and "Account > Plan" not in draft.text
    assert "order you cancelled" in draft.text


def test_an_order_without_a_number_is_asked_for_it(responder: Responder) -> None:
    draft = _draft(responder, "@AcmeHelp my parcel never arrived, this is the second time")
    assert draft.knowledge == ()
    assert "order number" in draft.text


@pytest.mark.parametrize(
    ("text", "snippet"),
    [
        ("@AcmeHelp you charged me twice for my rent transfer", "double-charge"),
        ("@AcmeHelp I cancelled my premium plan and you still took the monthly fee", "cancel-plan"),
        ("@AcmeHelp my card was declined at the supermarket again", "card-declined"),
    ],
)
def test_knowledge_is_still_used_when_it_answers_the_problem(
    responder: Responder, text: str, snippet: str
) -> None:
    draft = _draft(responder, text)
    assert draft.knowledge[:1] == (snippet,)
    assert draft.notes == ()


def test_a_snippet_must_cover_the_main_topic_not_a_secondary_one(lexical: Responder) -> None:
    responder = lexical
    text = "my order never arrived and I want a refund"
    assert detect_topics(text, responder.topics)[:1] == ["order_missing"]
    hits = responder.knowledge.search(text, k=3, min_score=0.0, abstain=0.0)
    assert hits == []


def test_without_a_topic_only_a_close_snippet_passes_the_abstention_bar(lexical: Responder) -> None:
    responder = lexical
    text = "is the app down? nothing is loading"
    assert main_topic(detect_topics(text, responder.topics), responder.topics) is None
    assert responder.knowledge.search(text, 2, 0.0, abstain=2.0) == []
    loose = responder.knowledge.search(text, 2, 0.0, abstain=0.0)
    assert loose and loose[0].snippet.id == "outage"


def test_flag_topics_are_not_the_main_problem(lexical: Responder) -> None:
    responder = lexical
    found = detect_topics("I'm a journalist, can you comment on the outage?", responder.topics)
    assert "press" in found
    assert main_topic(found, responder.topics) == "outage"
    assert main_topic(["press", "legal"], responder.topics) is None


# -- press, legal, security -------------------------------------------------------------


def test_a_journalist_gets_a_press_holding_reply_and_the_approver_a_note(
    responder: Responder,
) -> None:
    draft = _draft(
        responder, "@AcmeHelp I'm a reporter at the Daily Post, can you comment on the outage?"
    )
    assert draft.template.startswith("replies/press.j2#")
    assert "press" in draft.text.lower()
    assert "status" not in draft.text  # no outage fact: the press office answers
    assert any(note.startswith("Press enquiry") for note in draft.notes)


@pytest.mark.parametrize("intent", ["complaint", "legal"])
def test_a_legal_threat_gets_a_holding_reply_with_no_fact(
    responder: Responder, intent: str
) -> None:
    draft = _draft(responder, "@AcmeHelp charged me twice and I'm calling my lawyer", intent)
    assert draft.template.startswith("replies/legal.j2#")
    assert draft.knowledge == ()
    assert "working days" not in draft.text and "dispute" not in draft.text
    assert any(note.startswith("Legal threat") for note in draft.notes)


@pytest.mark.parametrize("intent", ["complaint", "security"])
def test_security_mentions_are_safety_first_with_a_note(responder: Responder, intent: str) -> None:
    draft = _draft(
        responder, "@AcmeHelp my account was hacked, someone moved £900 out overnight", intent
    )
    assert "security.j2" in draft.template
    assert "never" in draft.text.lower()
    assert any(note.startswith("Security") for note in draft.notes)


def test_a_press_intent_without_press_words_still_gets_the_holding_reply(
    lexical: Responder,
) -> None:
    responder = lexical
    draft = _draft(responder, "Writing a piece on neobanks, who can I talk to at Acme?", "press")
    assert draft.template.startswith("replies/press.j2#")


def test_notes_reach_the_draft_meta_slack_and_the_console(lexical: Responder) -> None:
    responder = lexical
    draft = _draft(responder, "@AcmeHelp charged me twice and I'm calling my lawyer")
    meta = draft_meta(draft)
    assert meta["notes"] == list(draft.notes) and meta["based_on"] is None
    store = SqliteStore(":memory:")
    [item_id] = store.ingest("src", [make_mention(1, text="lawyer")], None).new_ids
    store.set_classified(item_id, {"label": "negative", "intent": "legal", "urgency": 0.9})
    store.set_draft(item_id, draft.text, meta)
    item = store.get(item_id)
    assert render.draft_notes(item) == list(draft.notes)
    slack = json.dumps(blocks.message_blocks(item, tz="UTC"))
    assert "Legal threat" in slack
    workflow.decide(store, item_id, "approve", "ann", text=draft.text)
    store.close()
