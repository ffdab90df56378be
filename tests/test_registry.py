"""The platform and intent registries and the operator's topics file, checked at config load."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from repbot import platforms
from repbot.brand import BrandConfig
from repbot.classify.intent import INTENTS, REPLY_INTENTS, SKIP_INTENTS
from repbot.config import parse_config
from repbot.connector import Connector, connector_class
from repbot.errors import ConfigError
from repbot.models import Author, Mention
from repbot.platforms import HandleSyntax, Limit, Platform
from repbot.respond import Responder, ResponderConfig
from repbot.respond.limits import length_problem, limit_for
from repbot.respond.personalize import default_topics, load_topics, problem
from repbot.respond.templates import KINDS, check_templates, family, packaged_prompts

BEFORE = [
    "app_store",
    "bluesky",
    "demo",
    "file",
    "google_business",
    "google_play",
    "hackernews",
    "mastodon",
    "reddit",
    "rss",
    "trustpilot",
    "webhook",
    "x",
    "yelp",
]
"""The platforms repbot knew before the registry (templates, limits and families together)."""
NEWNET = Platform(
    "newnet",
    "social",
    Limit(120),
    HandleSyntax(re.compile(r"[a-z]{2,8}"), "+{handle}", 8),
    can_reply=True,
    emoji=":new:",
)


@pytest.fixture
def newnet() -> Iterator[type[Connector]]:
    """A connector defined here (as a plugin would be) that declares the platform ``newnet``."""

    class NewnetConnector(Connector):
        type_name: ClassVar[str] = "newnet"
        platform: ClassVar[str] = "newnet"
        platforms: ClassVar[tuple[Platform, ...]] = (NEWNET,)

    yield NewnetConnector
    platforms._registry.pop("newnet", None)


def test_the_registry_holds_every_platform_known_before() -> None:
    assert list(platforms.names()) == BEFORE


def test_x_and_reddit_are_declared_by_their_connectors() -> None:
    for name in ("x", "reddit", "demo", "file", "webhook"):
        cls = connector_class(name)
        assert platforms.platform(cls.platform) in cls.platforms
    assert platforms.platform("x").limit == Limit(280, "weighted", url_length=23)
    assert platforms.family("reddit") == "forum" and platforms.platform("x").can_reply


def test_a_connector_contributes_its_platform_everywhere(newnet: type[Connector]) -> None:
    assert platforms.platform("newnet") is NEWNET and family("newnet") == "social"
    assert limit_for("newnet") == Limit(120) and limit_for("newnet", {"newnet": 90}).chars == 90
    assert platforms.mention_of("newnet", "@dana") == "+dana"
    assert platforms.mention_of("newnet", "DANA") is None
    assert (
        length_problem("a" * 121, "newnet", 120)
        == "The reply has 121 characters; the limit is 120."
    )
    config = parse_config("brand: {name: Acme}\nresponder: {limits: {newnet: 100}}\n")
    assert config.responder.limits == {"newnet": 100}


def test_an_undeclared_platform_is_refused_at_config_load() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("brand: {name: Acme}\nresponder: {limits: {newnet: 100}}\n")
    assert "unknown platform 'newnet'" in info.value.problems[0]


def test_a_platform_declared_twice_differently_is_an_error(newnet: type[Connector]) -> None:
    with pytest.raises(ConfigError, match="declared twice"):
        platforms.register_platform(Platform("newnet", "forum"))
    assert platforms.register_platform(NEWNET) is NEWNET  # the same declaration again is fine


def test_an_unknown_platform_gets_the_generic_defaults() -> None:
    unknown = platforms.platform("carrier-pigeon")
    assert unknown.family == "other" and unknown.limit == Limit(1_000) and unknown.handle is None
    assert not platforms.is_known("carrier-pigeon")


def test_intents_come_from_one_registry() -> None:
    assert INTENTS == (
        "complaint", "question", "praise", "spam", "irrelevant", "press", "legal", "security",
        "other",
    )  # fmt: skip
    assert tuple(i for i in INTENTS if i not in SKIP_INTENTS) == REPLY_INTENTS
    assert KINDS[: len(INTENTS)] == INTENTS
    with pytest.raises(ConfigError) as info:
        parse_config("brand: {name: Acme}\nresponder: {reply_intents: [complain]}\n")
    assert "did you mean 'complaint'?" in info.value.problems[0]


def _prompts(tmp_path: Path, topics: str) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), root)
    (root / "topics.yaml").write_text(topics, encoding="utf-8")
    shutil.rmtree(root / "knowledge")  # the packaged snippets name the bank's topics
    (root / "knowledge").mkdir()
    return root


PARCEL = """
topics:
  - name: parcel
    pattern: '\\b(parcel|courier)\\b'
    phrase: '{obj} that never came'
    fallback: 'the missing parcel'
    nouns: [parcel]
"""


def test_topics_come_from_the_prompts_folder(tmp_path: Path) -> None:
    root = _prompts(tmp_path, PARCEL)
    mention = Mention(
        platform="trustpilot",
        external_id="1",
        text="My parcel never came and the courier ignores me",
        author=Author(handle="dana", display_name="Dana"),
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )
    responder = Responder(ResponderConfig(prompts_dir=root), BrandConfig(name="Acme"))
    assert [t.name for t in responder.topics] == ["parcel"]
    assert problem(mention, "Acme", responder.topics).phrase == "your parcel that never came"
    assert problem(mention, "Acme").topic != "parcel"  # the packaged topics are the demo's


def test_the_packaged_topics_file_is_the_demo_banks_vocabulary() -> None:
    topics = default_topics()
    assert topics == load_topics(packaged_prompts())
    assert {t.name for t in topics if t.security} == {"fraud", "scam"}
    assert [t.name for t in topics][:3] == ["fraud", "scam", "security_report"]


BAD_TOPICS = """
topics:
  - name: parcel
    pattern: '(unclosed'
    phrase: 'the parcel'
  - name: late
    pattern: 'late'
    phrase: 'the late {thing}'
  - {name: odd, pattern: odd, phrase: odd, colour: blue}
  - {name: late, pattern: x, phrase: y}
"""


def test_check_reports_every_topics_problem_with_its_key_path(tmp_path: Path) -> None:
    root = _prompts(tmp_path, BAD_TOPICS)
    problems = check_templates(ResponderConfig(prompts_dir=root), BrandConfig(name="Acme"))
    assert problems == [
        "topics.yaml: topics[0].pattern: not a valid regex: missing ), unterminated subpattern "
        "at position 0",
        "topics.yaml: topics[1].phrase: unknown field {thing} (known: obj, head, match, subj, "
        "when)",
        "topics.yaml: topics[2].colour: unknown key (known: fallback, name, nouns, pattern, "
        "phrase, security)",
        "topics.yaml: duplicate topic 'late'",
    ]


def test_a_snippet_topic_is_checked_against_the_folders_topics(tmp_path: Path) -> None:
    root = _prompts(tmp_path, PARCEL)
    (root / "knowledge" / "parcels.yaml").write_text(
        "- {id: parcels, title: Parcels, reply: We track every parcel., topics: [parcel]}\n",
        encoding="utf-8",
    )
    responder = Responder(ResponderConfig(prompts_dir=root), BrandConfig(name="Acme"))
    assert [s.topics for s in responder.knowledge.snippets] == [("parcel",)]
    (root / "topics.yaml").unlink()  # back to the packaged (bank) topics: no parcels there
    with pytest.raises(ConfigError) as info:
        Responder(ResponderConfig(prompts_dir=root), BrandConfig(name="Acme"))
    assert info.value.problems[0].startswith("knowledge/parcels.yaml: unknown topic 'parcel'")
