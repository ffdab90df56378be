"""Attaches the approval surfaces (web console, Slack) to the daemon's server."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from repbot.config import Config
from repbot.store import Store


def attach_approval(app: web.Application, store: Store, config: Config) -> Any:
    """Add the console and Slack routes; return the Slack service (or None)."""
    return None
