"""Text normalisation shared by training and inference (TweetEval conventions)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import html
import re

MAX_MODEL_CHARS = 2_000
"""Characters kept before tokenising: far more than max_tokens ever needs, bounded for 100 KB."""

_USER = re.compile(r"(?<![\w@])@\w{1,30}")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Return ``text`` as the model sees it: @user, http, no HTML tags, bounded length.

    The same function runs at training and at inference so both see identical input.
    """
    clipped = text[: MAX_MODEL_CHARS * 4]
    if "<" in clipped:
        clipped = _TAG.sub(" ", clipped)
    clipped = html.unescape(clipped)
    clipped = _URL.sub("http", clipped)
    clipped = _USER.sub("@user", clipped)
    return _SPACE.sub(" ", clipped).strip()[:MAX_MODEL_CHARS]


def release_freed_memory() -> None:
    """Give memory freed while building a model back to the OS (glibc keeps it otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
