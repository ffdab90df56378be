"""The ``responder`` config section."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from repbot import platforms
from repbot.classify.intent import REPLY_INTENTS, SKIP_INTENTS
from repbot.durations import Duration
from repbot.secrets import Secret

LIABILITY_PHRASES: tuple[str, ...] = (
    "it's our fault",
    "it is our fault",
    "it was our fault",
    "entirely our fault",
    "we are liable",
    "we're liable",
    "we accept liability",
    "we accept full responsibility",
    "we admit",
    "legally responsible",
    "our negligence",
)
COMPENSATION_PHRASES: tuple[str, ...] = (
    "full refund guaranteed",
    "guaranteed refund",
    "guarantee a refund",
    "guarantee you a refund",
    "we will compensate",
    "we'll compensate",
    "we will refund you",
    "we'll refund you",
    "you will get a full refund",
    "you'll get a full refund",
    "we will pay you",
    "we'll pay you",
    "free of charge",
    "on the house",
)


class LLMConfig(BaseModel):
    """An OpenAI-compatible chat-completions endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        description="API root; `/chat/completions` is appended (Ollama's default shown).",
    )
    model: str = Field(default="llama3.1:8b", description="Model name the endpoint expects.")
    api_key: Secret | None = Field(default=None, description="Bearer token; use ${ENV} in YAML.")
    api_key_header: str = Field(
        default="Authorization", description="`Authorization` (Bearer) or e.g. `api-key` for Azure."
    )
    query: dict[str, str] = Field(
        default_factory=dict, description="Extra query parameters (Azure: api-version)."
    )
    temperature: float = Field(default=0.4, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(default=300, ge=16, le=4096, description="Upper bound on reply tokens.")
    timeout: float = Field(
        default=20.0, gt=0, description="Seconds for one request, connect included."
    )
    retries: int = Field(default=2, ge=0, le=10, description="Retries after 429, 5xx and timeouts.")
    backoff: float = Field(default=1.0, ge=0, description="First retry delay in seconds; doubles.")
    max_backoff: float = Field(
        default=30.0, ge=0, description="Cap on any wait, Retry-After included."
    )
    examples: int = Field(default=3, ge=0, le=10, description="Approved replies given as examples.")


class GuardrailConfig(BaseModel):
    """What no draft may contain, whichever mode wrote it."""

    model_config = ConfigDict(extra="forbid")

    liability_phrases: list[str] = Field(
        default_factory=lambda: list(LIABILITY_PHRASES),
        description="Admissions of liability (case-insensitive; prefix `re:` for a regex).",
    )
    compensation_phrases: list[str] = Field(
        default_factory=lambda: list(COMPENSATION_PHRASES),
        description="Promises of compensation, refused unless allow_compensation.",
    )
    allow_compensation: bool = Field(default=False, description="Let drafts promise compensation.")
    forbidden_phrases: list[str] = Field(
        default_factory=list, description="Further phrases no draft may contain."
    )
    copy_ngram: int = Field(
        default=7,
        ge=3,
        le=30,
        description="Words in a row shared with another customer's text = copy.",
    )
    injection_ngram: int = Field(
        default=4,
        ge=2,
        le=30,
        description="Words in a row taken from an injected instruction = obeyed.",
    )


class ResponderConfig(BaseModel):
    """How replies are drafted: templates offline by default, an LLM when configured."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["template", "llm"] = Field(default="template", description="template | llm")
    prompts_dir: Path | None = Field(
        default=None,
        description="Folder of templates and knowledge; default: the packaged prompts/.",
    )
    llm: LLMConfig = Field(default_factory=lambda: LLMConfig())
    guardrails: GuardrailConfig = Field(default_factory=lambda: GuardrailConfig())
    reply_intents: list[str] = Field(
        default_factory=lambda: [
            str(i)
            for i in ("complaint", "question", "praise", "other", "press", "legal", "security")
            if i in REPLY_INTENTS
        ],
        description="Intents that may get a reply (spam and irrelevant never do).",
    )
    min_urgency: dict[str, float] = Field(
        default_factory=lambda: {"complaint": 0.0, "question": 0.0, "praise": 0.0, "other": 0.5},
        description="Urgency (0-1) an intent needs before it gets a draft.",
    )
    negative_other_replies: bool = Field(
        default=True, description="Reply to intent `other` whenever its sentiment is negative."
    )
    knowledge_k: int = Field(default=2, ge=0, le=10, description="Knowledge snippets per draft.")
    knowledge_min_score: float = Field(
        default=0.4,
        ge=0,
        le=2,
        description="Minimum lexical (TF-IDF) score, topic bonus included, to use a snippet.",
    )
    knowledge_min_similarity: float = Field(
        default=0.6,
        ge=-1,
        le=2,
        description="Minimum embedding similarity, topic bonus included, when an encoder is used.",
    )
    knowledge_abstain_score: float = Field(
        default=0.75,
        ge=0,
        le=2,
        description="Lexical similarity a snippet needs when the mention names no problem topic"
        " (calibrated by `python -m bench drafts --calibrate`).",
    )
    knowledge_abstain_similarity: float = Field(
        default=0.7,
        ge=-1,
        le=2,
        description="Embedding similarity a snippet needs when the mention names no problem"
        " topic (calibrated by `python -m bench drafts --calibrate`).",
    )
    library_min_similarity: float = Field(
        default=0.85,
        ge=-1,
        le=2,
        description="Embedding similarity a past mention needs for its approved reply to be"
        " reused as the draft (the answer library).",
    )
    library_min_score: float = Field(
        default=0.75,
        ge=0,
        le=2,
        description="The same bar for lexical (TF-IDF) similarity, without the encoder.",
    )
    knowledge_margin: float = Field(
        default=0.1, ge=0, le=1, description="Further snippets must score within this of the best."
    )
    languages: list[str] = Field(
        default_factory=lambda: ["en", "es", "de", "fr", "pt"],
        description="Languages drafts are written in (each needs prompts/languages/{code}/);"
        " others get a short English reply.",
    )
    examples_k: int = Field(
        default=5, ge=0, le=50, description="Approved examples kept after ranking."
    )
    limits: dict[str, int] = Field(
        default_factory=dict, description="Lower a platform's reply limit (never raises it)."
    )
    conversation_window: Duration = Field(
        default=600.0,
        ge=0,
        description="Messages from one customer on one platform this close (seconds) are one"
        " conversation: a later one joins the open item instead of getting its own draft.",
    )

    @field_validator("reply_intents")
    @classmethod
    def _known_intents(cls, value: list[str]) -> list[str]:
        for intent in value:
            _check_intent(intent)
        return value

    @field_validator("min_urgency")
    @classmethod
    def _known_urgency_intents(cls, value: dict[str, float]) -> dict[str, float]:
        for intent, urgency in value.items():
            _check_intent(intent)
            if not 0.0 <= urgency <= 1.0:
                raise ValueError(f"{intent}: urgency must be between 0 and 1, not {urgency}")
        return value

    @field_validator("limits")
    @classmethod
    def _known_platforms(cls, value: dict[str, int]) -> dict[str, int]:
        for platform, limit in value.items():
            check_platform(platform)
            if limit < 1:
                raise ValueError(f"{platform}: a reply limit must be at least 1, not {limit}")
        return value


def _check_intent(intent: str) -> None:
    if intent not in REPLY_INTENTS:
        never = " (spam and irrelevant never get a reply)" if intent in SKIP_INTENTS else ""
        raise ValueError(
            f"unknown intent {intent[:60]!r}{never}{_hint(intent, REPLY_INTENTS)}; "
            f"known: {', '.join(REPLY_INTENTS)}"
        )


def known_platforms() -> tuple[str, ...]:
    """Every platform in the registry (:mod:`repbot.platforms`), sorted."""
    return platforms.names()


def check_platform(platform: str) -> str:
    """``platform`` if repbot knows it; raises ValueError naming the known ones otherwise."""
    known = known_platforms()
    if platform not in known:
        raise ValueError(
            f"unknown platform {platform[:60]!r}{_hint(platform, known)}; known: {', '.join(known)}"
        )
    return platform


def _hint(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word[:100], list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
