"""Reply drafting: templates offline, an OpenAI-compatible LLM when configured, guardrails."""

from repbot.respond.config import GuardrailConfig, LLMConfig, ResponderConfig
from repbot.respond.draft import ApprovedExample, Draft, DraftContext, RankedExample, rank_examples
from repbot.respond.llm import ChatClient, LLMError, OpenAIChatClient
from repbot.respond.responder import Responder
from repbot.respond.templates import check_templates
from repbot.respond.textsim import Embedder

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
