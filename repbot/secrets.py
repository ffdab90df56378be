"""Keeps secret values out of logs, errors and summaries.

Every value that came from a ``SecretStr`` field or a ``${ENV}`` substitution in a secret
position is registered here; :func:`redact` replaces them wherever text leaves the process.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from pydantic import AfterValidator, SecretStr

BLANK_SECRET = (
    "empty secret: set a value or remove the key (an environment variable set to '' is empty)"
)
"""The problem reported for a secret that is present but empty or whitespace only."""

_secrets: set[str] = set()
_MIN_LEN = 4
_TOKEN_PATTERN = re.compile(
    r"(xox[abpr]-[A-Za-z0-9-]{6,}|xapp-[A-Za-z0-9-]{6,}|sk-[A-Za-z0-9_-]{12,}|"
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,})"
)


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`redact` hides it."""
    if value and len(value) >= _MIN_LEN:
        _secrets.add(value)


def is_blank(value: SecretStr) -> bool:
    """Whether a secret is empty or whitespace only (never a usable credential)."""
    return not value.get_secret_value().strip()


def _not_blank(value: SecretStr) -> SecretStr:
    if is_blank(value):
        raise ValueError(BLANK_SECRET)
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_blank)]
"""A secret config value: redacted in reprs and refused when empty or whitespace only."""


def redact(text: str) -> str:
    """``text`` with every registered secret and every token-shaped string replaced by ***."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return _TOKEN_PATTERN.sub("***", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the rendered message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
