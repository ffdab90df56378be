"""Reply drafting: templates offline, an OpenAI-compatible LLM when configured, guardrails.

Every name is imported on first use, so ``import repbot.respond.config`` (and with it
``repbot.config``) loads neither the HTTP client nor the templates engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from repbot.respond.config import GuardrailConfig, LLMConfig, ResponderConfig
    from repbot.respond.draft import (
        ApprovedExample,
        Draft,
        DraftContext,
        RankedExample,
        rank_examples,
    )
    from repbot.respond.llm import ChatClient, LLMError, OpenAIChatClient
    from repbot.respond.responder import Responder
    from repbot.respond.templates import check_templates
    from repbot.respond.textsim import Embedder

_LAZY = {
    "ApprovedExample": "repbot.respond.draft",
    "ChatClient": "repbot.respond.llm",
    "Draft": "repbot.respond.draft",
    "DraftContext": "repbot.respond.draft",
    "Embedder": "repbot.respond.textsim",
    "GuardrailConfig": "repbot.respond.config",
    "LLMConfig": "repbot.respond.config",
    "LLMError": "repbot.respond.llm",
    "OpenAIChatClient": "repbot.respond.llm",
    "RankedExample": "repbot.respond.draft",
    "Responder": "repbot.respond.responder",
    "ResponderConfig": "repbot.respond.config",
    "check_templates": "repbot.respond.templates",
    "rank_examples": "repbot.respond.draft",
}

__all__ = [
    "ApprovedExample",
    "ChatClient",
    "Draft",
    "DraftContext",
    "Embedder",
    "GuardrailConfig",
    "LLMConfig",
    "LLMError",
    "OpenAIChatClient",
    "RankedExample",
    "Responder",
    "ResponderConfig",
    "check_templates",
    "rank_examples",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
