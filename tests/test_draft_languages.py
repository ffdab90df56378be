"""Drafts in the customer's language (issue 15: "drafts are always English").

Every language in ``responder.languages`` with a template set under
``prompts/languages/{code}/`` is answered in that language; the same strict rendering and the
every-template-renders check cover those sets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_respond_helpers import brand, mention

from repbot.models import Author, Mention
from repbot.respond import DraftContext, Responder, ResponderConfig
from repbot.respond.templates import check_templates, packaged_prompts
from repbot.testing.fakes import make_mention

DEMO = Path(__file__).resolve().parents[1] / "connectors" / "data" / "demo_mentions.jsonl"
COMPLAINTS = {
    "es": (
        "Me cobraron dos veces la cuota de este mes y nadie me responde. Muy mal servicio.",
        "el cargo duplicado",
        "Hola Maria",
    ),
    "de": (
        "Ihr habt mir die Gebühr doppelt abgebucht und niemand antwortet auf meine Nachrichten.",
        "der doppelten Abbuchung",
        "Hallo Maria",
    ),
    "fr": (
        "Vous m'avez débité deux fois le même paiement et personne ne répond à mes messages.",
        "le double débit",
        "Bonjour Maria",
    ),
    "pt": (
        "Fui cobrada duas vezes pelo mesmo pagamento e ninguém responde às minhas mensagens.",
        "a cobrança duplicada",
        "Olá Maria",
    ),
}


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder(ResponderConfig(), brand())


@pytest.mark.parametrize("language", sorted(COMPLAINTS))
def test_a_complaint_is_answered_in_its_own_language(responder: Responder, language: str) -> None:
    text, problem, greeting = COMPLAINTS[language]
    ctx = DraftContext(mention(text, platform="trustpilot"), "negative", "complaint")
    draft = responder.draft_template(ctx)
    assert draft.template.startswith(f"languages/{language}/replies/complaint.j2#")
    assert draft.text.startswith(greeting)
    assert problem in draft.text
    assert draft.knowledge == ()  # the knowledge base is English: no fact in another language


def _demo(ident: str) -> Mention:
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == ident:
            base = make_mention(int(ident), text=row["text"])
            return base.model_copy(
                update={
                    "platform": row["platform"],
                    "kind": row["kind"],
                    "rating": row["rating"],
                    "author": Author(**row["author"]),
                }
            )
    raise AssertionError(f"demo mention {ident} missing")


@pytest.mark.parametrize(
    ("ident", "language", "words"),
    [("021", "es", ["Hola Carlos", "cargo duplicado"]), ("042", "de", ["Hallo Jonas", "App"])],
)
def test_the_demo_answers_its_spanish_and_german_mentions_in_kind(
    responder: Responder, ident: str, language: str, words: list[str]
) -> None:
    draft = responder.draft_template(DraftContext(_demo(ident), "negative", "complaint"))
    assert draft.template.startswith(f"languages/{language}/")
    assert all(word in draft.text for word in words)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Hola, me han hackeado la cuenta y sacaron 900 euros sin mi autorización.", "security"),
        ("Soy periodista del diario El País y quería pedirles un comentario.", "press"),
        ("Mi abogado presentará una demanda si no me devuelven el dinero esta semana.", "legal"),
    ],
)
def test_security_press_and_legal_have_their_own_handling_in_other_languages(
    responder: Responder, text: str, kind: str
) -> None:
    draft = responder.draft_template(DraftContext(mention(text), "negative", "complaint"))
    assert draft.template.startswith(f"languages/es/replies/{kind}.j2#")
    assert draft.notes


def test_a_language_outside_responder_languages_gets_the_english_reply() -> None:
    english_only = Responder(ResponderConfig(languages=["en"]), brand())
    text = COMPLAINTS["es"][0]
    draft = english_only.draft_template(DraftContext(mention(text), "negative", "complaint"))
    assert draft.template.startswith("replies/language.j2#")


def test_a_language_without_templates_gets_the_english_reply() -> None:
    italian = Responder(ResponderConfig(languages=["en", "it"]), brand())
    text = "Mi avete addebitato due volte lo stesso pagamento e nessuno risponde ai messaggi."
    draft = italian.draft_template(
        DraftContext(mention(text), "negative", "complaint", language="it")
    )
    assert draft.template.startswith("replies/language.j2#")


def test_every_language_template_renders_and_passes_the_guardrails() -> None:
    assert check_templates(ResponderConfig(), brand()) == []


def test_a_broken_language_template_is_reported_with_its_file(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    target = root / "languages" / "de" / "replies" / "praise.j2"
    target.write_text("{% block thanks %}Danke {{ no_such_variable }}!{% endblock %}\n")
    problems = check_templates(ResponderConfig(prompts_dir=root), brand())
    assert any("languages/de/replies/praise.j2" in p and "no_such_variable" in p for p in problems)
    (root / "languages" / "de" / "replies" / "stray.j2").write_text("x\n")
    problems = check_templates(ResponderConfig(prompts_dir=root), brand())
    assert any("languages/de/replies/stray.j2" in p for p in problems)


@pytest.mark.parametrize("name", ["Lucía Romero", "Zoë Adams", "Jürgen Weiß", "Chloé Martin"])
def test_first_names_with_accents_are_used(name: str) -> None:
    from repbot.respond.personalize import address

    found = mention("hola", platform="trustpilot", display_name=name)
    assert address(found).name == name.split()[0]
