"""Reply templates: a strict Jinja2 environment, the fallback chain and phrasing blocks.

A reply template is ``replies/[scope/]{intent}.j2``; scope is a platform (``x``) or a family
(``social``, ``forum``, ``review``), both from the registry in :mod:`repbot.platforms`; the
intents are :data:`repbot.classify.intent.INTENTS`. Each top-level ``{% block %}`` whose name
does not start with ``_`` is one phrasing; a template without blocks is a single phrasing
called ``main``.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from repbot import platforms
from repbot.classify.intent import INTENTS as INTENTS
from repbot.errors import ConfigError
from repbot.platforms import FAMILIES as FAMILIES
from repbot.platforms import family as family

KINDS: tuple[str, ...] = tuple(dict.fromkeys((*INTENTS, "security", "press", "legal", "language")))
"""Template families: the intents, plus ``security`` (fraud, hacked accounts, scams: urgent and
safety first), ``press`` and ``legal`` (holding replies) and ``language`` (a mention in a
language other than English)."""
DEFAULT = "replies/default.j2"
LANGUAGES = "languages"
"""Folder of per-language template sets: ``languages/{code}/replies/`` mirrors ``replies/``."""
_BLANKS = re.compile(r"\n{3,}")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


def packaged_prompts() -> Path:
    """The prompts/ folder installed as the package ``repbot.prompts``."""
    import repbot.prompts

    return Path(repbot.prompts.__file__).parent


def tidy(text: str) -> str:
    """Reply whitespace, Markdown-style: a blank line separates paragraphs, other newlines
    and runs of spaces become one space."""
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def tidy_prompt(text: str) -> str:
    """Prompt whitespace: lines kept, trailing spaces and repeated blank lines removed."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def where(exc: BaseException, root: Path) -> str:
    """``file:line`` of the innermost template frame of ``exc`` (relative to ``root``)."""
    if isinstance(exc, TemplateSyntaxError):
        name = exc.filename or exc.name or "?"
        return f"{_relative(name, root)}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    if not frames:
        return "?"
    return f"{_relative(frames[-1].filename, root)}:{frames[-1].lineno}"


def _relative(name: str, root: Path) -> str:
    path = Path(name)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class Phrasing:
    """One rendered phrasing: the template file, its block, the text."""

    template: str
    block: str
    text: str

    @property
    def id(self) -> str:
        """``replies/complaint.j2#sorry``."""
        return f"{self.template}#{self.block}"


class TemplateSet:
    """The templates under one prompts folder, rendered strictly."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ConfigError([f"prompts folder not found: {root}"], source="responder")
        self.root = root
        self.env = Environment(
            loader=FileSystemLoader(str(root)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=False,
            lstrip_blocks=True,
        )
        self._strings: dict[str, Template] = {}

    def languages(self) -> tuple[str, ...]:
        """Language codes with their own template set (``languages/{code}/replies/``)."""
        folder = self.root / LANGUAGES
        if not folder.is_dir():
            return ()
        return tuple(sorted(p.parent.name for p in folder.glob("*/replies") if p.is_dir()))

    def chain(self, platform: str, intent: str, language: str | None = None) -> list[str]:
        """Template names tried in order: platform+intent, family+intent, intent, default.

        With ``language`` the names are those of ``languages/{language}/`` only: a draft in
        the customer's language never falls back to an English template.
        """
        base = f"{LANGUAGES}/{language}/replies" if language else "replies"
        return [
            f"{base}/{platform}/{intent}.j2",
            f"{base}/{family(platform)}/{intent}.j2",
            f"{base}/{intent}.j2",
            f"{base}/default.j2",
        ]

    def resolve(self, platform: str, intent: str, language: str | None = None) -> Template:
        """The first template of the chain that exists."""
        names = self.chain(platform, intent, language)
        for name in names:
            try:
                return self.env.get_template(name)
            except TemplateNotFound:
                continue
        raise ConfigError([f"no template for {platform}/{intent} and no {names[-1]}"], "responder")

    @staticmethod
    def blocks(template: Template) -> list[str]:
        """The phrasing blocks of ``template`` in file order (``main`` when it has none)."""
        names = [b for b in template.blocks if not b.startswith("_")]
        return names or ["main"]

    def render_block(self, template: Template, block: str, context: Mapping[str, Any]) -> str:
        """Render one phrasing of ``template``; template errors carry file and line."""
        try:
            if block == "main":
                return tidy(template.render(context))
            return tidy("".join(template.blocks[block](template.new_context(dict(context)))))
        except Exception:
            self.env.handle_exception()
            raise  # pragma: no cover - handle_exception always raises

    def phrasings(
        self,
        platform: str,
        intent: str,
        context: Mapping[str, Any],
        language: str | None = None,
    ) -> list[Phrasing]:
        """Every phrasing of the template chosen for ``platform`` and ``intent``."""
        template = self.resolve(platform, intent, language)
        name = template.name or "?"
        return [
            Phrasing(name, block, self.render_block(template, block, context))
            for block in self.blocks(template)
        ]

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render a whole template file (the LLM prompts), keeping its lines."""
        try:
            return tidy_prompt(self.env.get_template(name).render(context))
        except TemplateNotFound:
            raise
        except Exception:
            self.env.handle_exception()
            raise  # pragma: no cover

    def render_string(self, source: str, context: Mapping[str, Any]) -> str:
        """Render a template string (a knowledge snippet's reply), compiled once."""
        template = self._strings.get(source)
        if template is None:
            template = self._strings[source] = self.env.from_string(source)
        return tidy(template.render(context))

    def syntax_problems(self) -> list[str]:
        """Every template file that does not compile, and every misplaced reply template."""
        problems = []
        for path in sorted(self.root.rglob("*.j2")):
            rel = path.relative_to(self.root).as_posix()
            try:
                self.env.get_template(rel)
            except TemplateSyntaxError as exc:
                problems.append(f"{where(exc, self.root)}: {exc.message}")
            problems += _layout_problem(rel)
        return problems


def _layout_problem(rel: str) -> list[str]:
    parts = rel.split("/")
    if parts[0] == LANGUAGES:
        if len(parts) < 4 or parts[2] != "replies":
            return [f"{rel}: expected {LANGUAGES}/{{code}}/replies/[platform|family/]intent.j2"]
        problems = _layout_problem("/".join(parts[2:]))
        return [f"{'/'.join(parts[:2])}/{p}" for p in problems]
    if parts[0] != "replies" or parts[-1].startswith("_"):
        return []
    intent = parts[-1].removesuffix(".j2")
    if len(parts) == 2 and intent not in (*KINDS, "default"):
        return [f"{rel}: unknown intent {intent!r} (known: {', '.join(KINDS)}, default)"]
    if len(parts) == 3:
        scope = parts[1]
        if not platforms.is_known(scope) and scope not in FAMILIES:
            return [f"{rel}: unknown platform or family {scope!r}"]
        if intent not in KINDS:
            return [f"{rel}: unknown intent {intent!r}"]
    if len(parts) > 3:
        return [f"{rel}: too deep (replies/[platform|family/]intent.j2)"]
    return []


def describe(exc: TemplateError | Exception, root: Path) -> str:
    """A one-line report of a template error with its file and line."""
    message = getattr(exc, "message", None) or str(exc)
    return f"{where(exc, root)}: {type(exc).__name__}: {message}"


def check_templates(cfg: Any, brand: Any) -> list[str]:
    """Render every template for every platform x intent; return problems with file and line.

    ``cfg`` is a ``ResponderConfig`` and ``brand`` a ``BrandConfig``; the drafts produced must
    also pass the guardrails and fit the platform's limit. An empty list means all is well.
    """
    from repbot.respond.responder import template_problems

    return template_problems(cfg, brand)
