"""Drafts for the bank demo: problem phrases, praise, languages, security, retrieval quality."""

from __future__ import annotations

import pytest
from test_respond_helpers import brand, mention

from repbot.respond import DraftContext, Responder, ResponderConfig
from repbot.respond.guardrails import check
from repbot.respond.language import language_of
from repbot.respond.personalize import noun_phrases, praised, problem


@pytest.fixture
def responder() -> Responder:
    return Responder(ResponderConfig(), brand())


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Acme charged me twice for my gym payment!!", "the double charge on your gym payment"),
        ("my debit card got declined at the petrol station", "your debit card being declined"),
        ("card declined again", "your card being declined"),
        ("still nothing about my declined card", "your declined card"),
        ("Acme froze my account without a word", "the freeze on your account"),
        ("my salary has arrived late again", "your salary arriving late"),
        ("Face ID logs me out every time", "the trouble with Face ID"),
        ("fingerprint stopped working", "the trouble with fingerprint login"),
        ("the app crashes when I open it", "the app crashing"),
        (
            "I get an error when I try to set up a standing order",
            "the error when you try to set up a standing order",
        ),
        (
            "The ATM outside the Bridge Street branch is broken",
            "the ATM outside the Bridge Street branch being out of order",
        ),
        ("queued an hour at the Hill Road branch", "your visit to the Hill Road branch"),
        ("transfers have been failing all morning", "transfers failing"),
        ("can't cancel my premium plan", "the trouble cancelling your premium plan"),
        (
            "Acme's statement emails show my password in plain text",
            "the security issue in our statement emails",
        ),
        ("I think my account was hacked last night", "what's happened to your account"),
        ("just some thoughts about banks in general", ""),
    ],
)
def test_problem_phrase_quotes_the_customers_words(text: str, phrase: str) -> None:
    assert problem(mention(text), "Acme").phrase == phrase


def test_problem_phrase_falls_back_to_neutral_wording() -> None:
    found = problem(mention("I was charged twice for the same thing"), "Acme")
    assert found.phrase == "the double charge"
    assert problem(mention("the cash machine is out of order"), "Acme").phrase == (
        "the cash machine being out of order"
    )


def test_noun_phrases_swap_sides_and_keep_names() -> None:
    phrases = [
        p.text for p in noun_phrases("Acme's reset emails and my King Street branch", "Acme")
    ]
    assert phrases == ["our reset emails", "your King Street branch"]


@pytest.mark.parametrize(
    ("text", "thing", "person"),
    [
        ("Honestly the new Acme savings pots are brilliant", "the new savings pots", ""),
        ("Acme's exchange rate was way better than my old bank", "our exchange rate", ""),
        ("Opened an account in minutes, Aisha at the desk was fantastic", "", "Aisha"),
        ("Helpful staff at the Hill Road branch", "the helpful staff at the Hill Road branch", ""),
        ("Loving the new dashboard, great work!", "the new dashboard", ""),
        ("it was great", "", ""),
    ],
)
def test_praised_names_what_they_liked(text: str, thing: str, person: str) -> None:
    assert praised(mention(text), "Acme") == (thing, person)


async def test_praise_reply_references_what_they_praised(responder: Responder) -> None:
    ctx = DraftContext(
        mention("The savings goals are really motivating", "google_play", rating=5),
        sentiment="positive",
        intent="praise",
    )
    draft = await responder.draft(ctx)
    assert "the savings goals" in draft.text
    assert "http" not in draft.text and draft.knowledge == ()


SPANISH = "llevo una semana esperando la devolución de un cargo duplicado. Nadie me responde."


async def test_other_language_gets_short_english_reply() -> None:
    responder = Responder(ResponderConfig(languages=["en"]), brand())  # the team writes English
    ctx = DraftContext(mention(SPANISH), sentiment="negative", intent="complaint", language="es")
    draft = await responder.draft(ctx)
    assert draft.template.startswith("replies/language.j2#")
    assert "English" in draft.text
    assert "Spanish" not in draft.text
    assert draft.knowledge == ()


async def test_supported_language_offers_to_continue_in_it() -> None:
    # Italian has no template set (prompts/languages/it/): English, offering Italian.
    responder = Responder(ResponderConfig(languages=["en", "it"]), brand())
    italian = "aspetto da una settimana il rimborso di un addebito doppio. Nessuno mi risponde."
    ctx = DraftContext(mention(italian), sentiment="negative", intent="complaint", language="it")
    draft = await responder.draft(ctx)
    assert "Italian" in draft.text


def test_language_detected_when_analysis_has_none() -> None:
    assert language_of(SPANISH, None) == "es"
    assert language_of("late order", None) == "en"
    assert language_of("my card was declined at the shop again today", "it") == "en"


async def test_hacked_account_gets_urgent_safe_steps(responder: Responder) -> None:
    ctx = DraftContext(
        mention("@AcmeHelp someone took £500 from my account overnight, I didn't authorise it"),
        sentiment="negative",
        intent="complaint",
    )
    draft = await responder.draft(ctx)
    assert draft.template.startswith("replies/social/security.j2#")
    assert draft.knowledge[0] == "fraud"
    assert "freeze your card" in draft.text and "fraud line" in draft.text
    assert "never ask" in draft.text
    assert len(draft.text) <= 280


async def test_scam_question_on_a_review_site_is_answered_safely(responder: Responder) -> None:
    ctx = DraftContext(
        mention(
            "Got a text claiming to be Acme asking for my card details. Is it a scam?", "reddit"
        ),
        intent="question",
    )
    draft = await responder.draft(ctx)
    assert draft.template.startswith("replies/security.j2#")
    assert "scam" in draft.text and "never" in draft.text
    assert check(draft.text, brand=responder.brand, cfg=responder.cfg.guardrails) == []


async def test_question_gets_the_answer_first(responder: Responder) -> None:
    ctx = DraftContext(mention("how do I change my PIN?", "hackernews"), intent="question")
    draft = await responder.draft(ctx)
    first = draft.text.split(". ")[0]
    assert "Show PIN" in first or "Show PIN" in draft.text.split("\n")[0]


async def test_complaint_labelled_question_still_answers(responder: Responder) -> None:
    ctx = DraftContext(
        mention("@AcmeHelp how do I change my PIN? Can't find it in the app"),
        sentiment="negative",
        intent="complaint",
    )
    draft = await responder.draft(ctx)
    assert "Show PIN" in draft.text
    assert "isn't what we want" not in draft.text


@pytest.mark.parametrize(
    "text",
    [
        "Chewing gum during my exam for good luck, spearmint works",
        "Watching the planet Mars tonight through my new telescope",
        "Acme announces a new engineering hub in Leeds",
    ],
)
def test_unrelated_text_gets_no_snippet(responder: Responder, text: str) -> None:
    cfg = responder.cfg
    assert responder.knowledge.search(text, 2, cfg.knowledge_min_score) == []


@pytest.fixture(scope="module")
def encoder() -> object:
    from repbot.classify import SentenceEmbedder

    return SentenceEmbedder.default()  # a required dependency: failing to load is a failure


@pytest.mark.parametrize(
    ("text", "snippet"),
    [
        (
            "my card got rejected at a restaurant in Paris, set travel mode and everything",
            "card-declined",
        ),
        ("is the most I can send in a day 10k?", "transfer-limits"),
        ("someone spent £300 on my card and it wasn't me", "fraud"),
        ("I was billed twice for one purchase", "double-charge"),
        ("the app won't open since yesterday's update", "app-crashes"),
        ("does the app support VoiceOver?", "accessibility"),
        ("my payroll still isn't in my account", "incoming-payments"),
        ("Chewing gum during my exam for good luck, spearmint works", None),
        ("Acme announces a new engineering hub in Leeds, creating 200 jobs", None),
    ],
)
def test_sentence_encoder_retrieval(encoder: object, text: str, snippet: str | None) -> None:
    cfg = ResponderConfig()
    responder = Responder(cfg, brand(), embedder=encoder)  # type: ignore[arg-type]
    hits = responder.knowledge.search(text, 1, cfg.knowledge_min_similarity)
    assert [h.snippet.id for h in hits] == ([snippet] if snippet else [])


def test_foreign_language_mentions_always_reach_a_human() -> None:
    from repbot.brand import BrandConfig
    from repbot.respond import Responder, ResponderConfig

    responder = Responder(ResponderConfig(), BrandConfig())
    assert responder.should_reply("other", 0.1, "neutral", "es")
    assert not responder.should_reply("other", 0.1, "neutral", "en")
    assert not responder.should_reply("spam", 0.1, "neutral", "es")
