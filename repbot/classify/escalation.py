"""Escalation terms per category and language: loading, validation and matching.

The packaged terms live in ``prompts/escalation.yaml`` (category -> language -> terms); the
``urgency.escalation_terms`` config key replaces them (a plain list applies to every language).
Matching ignores case and accents, takes whole words, and a trailing ``*`` matches any ending.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from repbot.classify.multilingual import fold

ANY = "*"
"""The language key of terms that apply to every language."""
TERM_LANGUAGES = frozenset({"en", "es", "fr", "de", "pt"})
"""Languages the packaged file has terms for; a file may name these only."""
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class EscalationError(ValueError):
    """The escalation terms are malformed (the message names the category and language)."""


@dataclass(frozen=True)
class Match:
    """One escalation category found in a text, with the term that matched."""

    category: str
    term: str


def packaged_file() -> Path:
    """``prompts/escalation.yaml`` as installed (the ``repbot.prompts`` package)."""
    import repbot.prompts

    return Path(repbot.prompts.__file__).parent / "escalation.yaml"


def normalise(text: str) -> str:
    """Lower-case, accent-free text with straight apostrophes (what terms are matched on)."""
    return fold(text.translate(_APOSTROPHES))


def load_terms(
    terms: Mapping[str, object] | None, path: Path | None
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Validated terms from ``terms`` (the config key) or the YAML file at ``path``."""
    if terms is not None:
        return _validate(terms, "urgency.escalation_terms")
    return _load_file(path or packaged_file())


@lru_cache(maxsize=8)
def _load_file(path: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EscalationError(f"cannot read escalation terms {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise EscalationError(f"{path}: expected category -> language -> terms")
    return _validate(raw, str(path))


def _validate(raw: Mapping[str, object], where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for category, value in raw.items():
        if not isinstance(category, str) or not _CATEGORY.match(category):
            raise EscalationError(f"{where}: bad category name {str(category)[:40]!r}")
        by_language = value if isinstance(value, dict) else {ANY: value}
        result[category] = {
            _language(lang, f"{where}.{category}"): _terms(words, f"{where}.{category}.{lang}")
            for lang, words in by_language.items()
        }
    return result


def _language(lang: object, where: str) -> str:
    if lang == ANY or lang in TERM_LANGUAGES:
        return str(lang)
    known = ", ".join(sorted(TERM_LANGUAGES))
    raise EscalationError(f"{where}: unknown language {str(lang)[:20]!r}; known: {known}")


def _terms(words: object, where: str) -> tuple[str, ...]:
    if not isinstance(words, list) or not words:
        raise EscalationError(f"{where}: expected a non-empty list of terms")
    bad = [w for w in words if not isinstance(w, str) or not normalise(w).strip(" *")]
    if bad:
        raise EscalationError(f"{where}: terms must be non-empty strings, got {bad[0]!r}")
    return tuple(normalise(w).strip() for w in words)


@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern[str]:
    body = re.escape(term[:-1]) + r"\w*" if term.endswith("*") else re.escape(term)
    return re.compile(r"(?<!\w)" + body + r"(?!\w)")


def find(
    text: str, terms: Mapping[str, Mapping[str, Iterable[str]]], language: str | None
) -> list[Match]:
    """Every category with a term in ``text``, in the order of ``terms``.

    Terms of ``language`` and English (and those for every language) are used; all languages'
    terms when ``language`` is None.
    """
    folded = normalise(text)
    wanted = None if language is None else {language, "en", ANY}
    found = []
    for category, by_language in terms.items():
        for lang, words in by_language.items():
            if wanted is not None and lang not in wanted:
                continue
            term = next((w for w in words if _pattern(w).search(folded)), None)
            if term is not None:
                found.append(Match(category, term))
                break
    return found
