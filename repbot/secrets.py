"""Keeps secret values out of logs, errors and summaries.

Every value that came from a ``SecretStr`` field or a ``${ENV}`` substitution in a secret
position is registered here; :func:`redact` replaces them wherever text leaves the process.
"""

from __future__ import annotations

import logging
import re

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
