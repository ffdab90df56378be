"""Structured logging (key=value or JSON lines) with secrets redacted from every record."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from repbot.config import LoggingConfig
from repbot.secrets import RedactingFilter, redact


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... msg="..."`` lines."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        message = record.getMessage()
        line = f'ts={ts} level={record.levelname} logger={record.name} msg="{message}"'
        if record.exc_info:
            line += f' exc="{self.formatException(record.exc_info)!r}"'
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, ensure_ascii=False))


def setup_logging(config: LoggingConfig) -> None:
    """Route every logger through one redacting handler in the configured format."""
    if config.file:
        config.file.parent.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = (
        logging.FileHandler(config.file, encoding="utf-8")
        if config.file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter() if config.format == "json" else KeyValueFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.level)
    logging.captureWarnings(True)  # warnings become log lines in the same format
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for noisy in (
        "apscheduler",
        "aiohttp.access",
        "urllib3",
        "httpx",
        "filelock",
        "tweepy",
        "prawcore",
        "praw",
        "slack_bolt",
        "slack_sdk",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@contextmanager
def loading_status(what: str) -> Iterator[None]:
    """One status line on stderr while something slow (a model) loads.

    A spinner that disappears when done on a terminal, one plain line otherwise.
    """
    if not sys.stderr.isatty():
        print(f"{what}...", file=sys.stderr, flush=True)
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(what):
        yield
