"""The brand's words live in prompts/topics.yaml, not in code (issue 12, change 3)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repbot.brand import BrandConfig
from repbot.errors import ConfigError
from repbot.models import Author, Mention
from repbot.respond.config import ResponderConfig
from repbot.respond.personalize import (
    default_vocabulary,
    load_vocabulary,
    noun_phrases,
    praised,
)
from repbot.respond.responder import Responder
from repbot.respond.templates import packaged_prompts

SHOP = """
nouns: [hamper, courier, basket, locker]
praisable: [delivery]
acronyms: [DPD]
located: [locker]
places: [station]
staff_at: [till]
topics:
  - name: hamper
    pattern: '\\bhamper\\b'
    phrase: 'the missing hamper'
"""


def _prompts(tmp_path: Path, topics: str) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), root)
    (root / "topics.yaml").write_text(topics, encoding="utf-8")
    shutil.rmtree(root / "knowledge")
    (root / "knowledge").mkdir()
    return root


def _mention(text: str) -> Mention:
    return Mention(
        platform="trustpilot",
        external_id="1",
        text=text,
        author=Author(handle="dana"),
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )


def test_quoted_nouns_come_from_the_operators_file(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(_prompts(tmp_path, SHOP))
    text = "My hamper sat in the locker outside the Central station for a week"
    assert [p.text for p in noun_phrases(text, "Acme")] == []  # the bank knows no hampers
    assert [p.text for p in noun_phrases(text, "Acme", vocabulary)] == [
        "your hamper",
        "the locker outside the Central station",
    ]
    assert praised(_mention("Ravi at the till was brilliant"), "Acme", vocabulary) == ("", "Ravi")
    assert praised(_mention("the DPD delivery was fast"), "Acme", vocabulary)[0] == (
        "the DPD delivery"
    )


def test_the_responder_uses_the_folders_vocabulary(tmp_path: Path) -> None:
    responder = Responder(
        ResponderConfig(prompts_dir=_prompts(tmp_path, SHOP)), BrandConfig(name="Acme")
    )
    assert "hamper" in responder.vocabulary.nouns
    assert responder.topics == responder.vocabulary.topics


def test_a_list_the_file_leaves_out_is_the_packaged_one(tmp_path: Path) -> None:
    only_topics = "topics:\n  - {name: hamper, pattern: 'hamper', phrase: 'the hamper'}\n"
    vocabulary = load_vocabulary(_prompts(tmp_path, only_topics))
    assert vocabulary.nouns == default_vocabulary().nouns
    empty = _prompts(tmp_path / "empty", "nouns: []\n" + only_topics)
    assert load_vocabulary(empty).nouns == frozenset()


def test_bad_word_lists_and_unknown_keys_are_each_reported(tmp_path: Path) -> None:
    bad = "nouns: hamper\nplaces: [1]\nnouns_extra: []\ntopics: []\n"
    with pytest.raises(ConfigError) as caught:
        load_vocabulary(_prompts(tmp_path, bad))
    problems = caught.value.problems
    assert any(p.startswith("topics.yaml: nouns: a list of words") for p in problems)
    assert any(p.startswith("topics.yaml: places: a list of words") for p in problems)
    assert any(p.startswith("topics.yaml: nouns_extra: unknown key") for p in problems)


def test_no_vocabulary_is_left_in_the_code() -> None:
    source = (Path(__file__).parents[1] / "repbot/respond/personalize.py").read_text()
    for word in ("mortgage", "overdraft", "cashpoint", "iPhone", "counter|branch"):
        assert word not in source
