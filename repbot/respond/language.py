"""Which language a mention is in, and whether the team can answer in it."""

from __future__ import annotations

import re

from repbot.respond.textsim import words

NAMES: dict[str, str] = {
    "ar": "Arabic",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "zh-cn": "Chinese",
    "zh": "Chinese",
}
_ENGLISH_TEXT = (
    "the a an and or but is are was were be been have has had do does did not no to of in on "
    "for with my your our i you we it this that at from can can't don't i'm it's just"
)
_ENGLISH = frozenset(_ENGLISH_TEXT.split())
ENGLISH_SHARE = 0.12
"""A text with at least this share of common English words is treated as English whatever
the detector said: a misread English complaint must never get the other-language reply."""
MIN_WORDS = 5
"""Shorter texts are answered in English: detectors guess wildly on a few words."""
_HANDLES = re.compile(r"[@#]\w+")


def looks_english(text: str) -> bool:
    """Whether ``text`` is short or enough of its words are common English function words."""
    tokens = words(_HANDLES.sub(" ", text))
    if len(tokens) < MIN_WORDS:
        return True
    return sum(t in _ENGLISH for t in tokens) / len(tokens) >= ENGLISH_SHARE


def language_of(text: str, detected: str | None) -> str:
    """The mention's language code: the analysis' (else detected here), "en" when unsure."""
    if detected is None:
        from repbot.classify.language import detect_language

        detected = detect_language(text)
    if not detected or detected == "en" or looks_english(text):
        return "en"
    return detected


def language_name(code: str) -> str:
    """``"es"`` -> ``"Spanish"``; the code itself when unknown."""
    return NAMES.get(code.lower(), code)
