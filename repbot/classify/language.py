"""Deterministic language detection (langdetect with a fixed seed, script shortcuts)."""

from __future__ import annotations

import re
import threading
import unicodedata

from langdetect import DetectorFactory, LangDetectException, detect_langs

from repbot.classify.text import normalize

MIN_LETTERS = 8
"""Below this many letters a guess is noise: ``None`` is returned."""
MIN_PROBABILITY = 0.5
_MAX_CHARS = 2_000
_NOISE = re.compile(r"@user|http|#\w+|\d+")
_SCRIPTS = {"HANGUL": "ko", "HIRAGANA": "ja", "KATAKANA": "ja", "THAI": "th", "HEBREW": "he"}
_LOCK = threading.Lock()


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


def _script_language(letters: str) -> str | None:
    """Languages a single script identifies outright (langdetect is unstable on them)."""
    counts: dict[str, int] = {}
    for ch in letters:
        name = unicodedata.name(ch, "")
        for script, lang in _SCRIPTS.items():
            if name.startswith(script):
                counts[lang] = counts.get(lang, 0) + 1
    if not counts:
        return None
    lang, count = max(counts.items(), key=lambda kv: kv[1])
    return lang if count * 2 >= len(letters) else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or ``None`` when too short or unclear.

    Deterministic (fixed seed, serialised) and never raises.
    """
    try:
        cleaned = _NOISE.sub(" ", normalize(text if isinstance(text, str) else ""))[:_MAX_CHARS]
        letters = _letters(cleaned)
        if len(letters) < MIN_LETTERS:
            return None
        by_script = _script_language(letters)
        if by_script:
            return by_script
        with _LOCK:
            DetectorFactory.seed = 0
            guesses = detect_langs(cleaned)
    except (LangDetectException, ValueError, TypeError):
        return None
    if not guesses or guesses[0].prob < MIN_PROBABILITY:
        return None
    code: str = guesses[0].lang
    return code.split("-")[0]
