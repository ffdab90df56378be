"""`check_templates`: every template renders for every platform x intent; errors carry file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_respond_helpers import brand

from repbot import platforms
from repbot.respond import ResponderConfig, check_templates
from repbot.respond.templates import INTENTS, TemplateSet, family, packaged_prompts


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(packaged_prompts(), root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def cfg(root: Path) -> ResponderConfig:
    return ResponderConfig(prompts_dir=root)


def test_packaged_templates_are_clean() -> None:
    assert check_templates(ResponderConfig(), brand()) == []
    assert check_templates(ResponderConfig(), brand(support_email=None, handles={})) == []


def test_fallback_chain(prompts: Path) -> None:
    templates = TemplateSet(prompts)
    assert templates.resolve("x", "complaint").name == "replies/social/complaint.j2"
    assert templates.resolve("google_play", "complaint").name == "replies/google_play/complaint.j2"
    assert templates.resolve("yelp", "complaint").name == "replies/review/complaint.j2"
    assert templates.resolve("rss", "complaint").name == "replies/complaint.j2"
    assert templates.resolve("x", "spam").name == "replies/default.j2"
    (prompts / "replies" / "x").mkdir()
    (prompts / "replies" / "x" / "complaint.j2").write_text("{% block only %}Hi{% endblock %}")
    assert TemplateSet(prompts).resolve("x", "complaint").name == "replies/x/complaint.j2"


def test_every_platform_intent_pair_resolves() -> None:
    templates = TemplateSet(packaged_prompts())
    for platform in platforms.names():
        assert family(platform) in ("social", "forum", "review", "other")
        for intent in INTENTS:
            assert templates.blocks(templates.resolve(platform, intent))


def test_syntax_error_reported_with_file_and_line(prompts: Path) -> None:
    path = prompts / "replies" / "question.j2"
    path.write_text(path.read_text() + "\n{% block broken %}{{ name }{% endblock %}\n")
    line = path.read_text().splitlines().index("{% block broken %}{{ name }{% endblock %}") + 1
    problems = check_templates(cfg(prompts), brand())
    assert any(p.startswith(f"replies/question.j2:{line}:") for p in problems), problems


def test_undefined_variable_reported_with_file_and_line(prompts: Path) -> None:
    path = prompts / "replies" / "review" / "praise.j2"
    path.write_text("{% block a %}\nThanks\n{{ customer_name }}!\n{% endblock %}\n")
    problems = check_templates(cfg(prompts), brand())
    assert any("replies/review/praise.j2:3" in p and "customer_name" in p for p in problems)
    assert any("platform=trustpilot, intent=praise" in p for p in problems)


def test_error_in_included_partial_points_at_partial(prompts: Path) -> None:
    (prompts / "replies" / "_next_step.j2").write_text("Contact {{ brand.nope }}")
    problems = check_templates(cfg(prompts), brand())
    assert any(p.startswith("replies/_next_step.j2:1:") for p in problems), problems[:3]


def test_guardrail_breaking_template_reported(prompts: Path) -> None:
    (prompts / "replies" / "other.j2").write_text(
        "{% block bad %}It's our fault, see https://elsewhere.example{% endblock %}"
    )
    problems = check_templates(cfg(prompts), brand())
    assert any("replies/other.j2#bad: forbidden phrase" in p for p in problems)
    assert any("replies/other.j2#bad: link outside the allowlist" in p for p in problems)


def test_unknown_scope_and_intent_reported(prompts: Path) -> None:
    (prompts / "replies" / "twiter").mkdir()
    (prompts / "replies" / "twiter" / "complaint.j2").write_text("Hi")
    (prompts / "replies" / "complain.j2").write_text("Hi")
    problems = check_templates(cfg(prompts), brand())
    assert any("unknown platform or family 'twiter'" in p for p in problems)
    assert any("unknown intent 'complain'" in p for p in problems)


def test_broken_knowledge_reported(prompts: Path) -> None:
    (prompts / "knowledge" / "broken.md").write_text("no front matter")
    (prompts / "knowledge" / "links.yaml").write_text(
        "- id: bad\n  title: Bad\n  reply: see https://elsewhere.example\n"
    )
    problems = check_templates(cfg(prompts), brand())
    assert any("broken.md" in p for p in problems)
    (prompts / "knowledge" / "broken.md").unlink()
    problems = check_templates(cfg(prompts), brand())
    assert any(p.startswith("knowledge/links.yaml: link outside") for p in problems)


def test_missing_prompts_folder(tmp_path: Path) -> None:
    problems = check_templates(cfg(tmp_path / "nope"), brand())
    assert problems and "prompts folder not found" in problems[0]


def test_llm_prompt_error_reported(prompts: Path) -> None:
    (prompts / "llm" / "user.j2").write_text("Text: {{ mention.txt }}")
    problems = check_templates(cfg(prompts), brand())
    assert any(p.startswith("llm/user.j2:1:") for p in problems)
