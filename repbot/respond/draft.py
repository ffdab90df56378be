"""What the responder takes and returns, and how approvers' past replies are ranked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from repbot.models import Mention
from repbot.respond.textsim import Embedder, similarities

Mode = Literal["template", "llm", "llm_fallback"]
Sentiment = Literal["negative", "neutral", "positive"]
EDIT_WEIGHT = 1.5
"""An approver who rewrote a draft told us more than one who clicked approve."""


@dataclass(frozen=True)
class ApprovedExample:
    """A reply a human approved (``edited=False``) or rewrote before approving."""

    mention_text: str
    reply_text: str
    edited: bool = False
    platform: str = ""
    intent: str = ""
    mention_id: int = 0
    """The mention this reply answered (0: unknown), named in a draft based on it."""
    author: str = ""
    """That mention's author's display name, replaced when the reply is reused."""


@dataclass(frozen=True)
class RankedExample:
    """An approved example with its relevance to the mention being answered."""

    example: ApprovedExample
    score: float


@dataclass(frozen=True)
class DraftContext:
    """Everything the responder needs to answer one mention.

    ``examples`` are candidate approved replies (ranked here); ``others`` are other customers'
    mention texts a draft must not copy from; ``language`` is the analysis' ISO 639-1 code
    (``None``: the responder detects it).
    """

    mention: Mention
    sentiment: Sentiment = "neutral"
    intent: str = "other"
    urgency: float = 0.0
    examples: Sequence[ApprovedExample] = ()
    others: Sequence[str] = ()
    probs: dict[str, float] = field(default_factory=dict)
    language: str | None = None
    thread: Sequence[ThreadTurn] = ()
    """The conversation so far (other messages and our replies, oldest first): a follow-up's
    draft answers it in context."""


@dataclass(frozen=True)
class ThreadTurn:
    """One message of a conversation as a draft sees it."""

    author: str
    text: str
    ours: bool = False
    """True for the brand's own reply."""


@dataclass(frozen=True)
class Draft:
    """A reply ready for approval.

    ``problems`` is always empty for a returned draft (it passed the guardrails); ``rejected``
    reports candidates that did not pass and why, and ``safe`` marks the minimal reply used
    when nothing else passed. ``notes`` tell the approver why the draft is as it is (a press,
    legal or security holding reply, no knowledge that answers the problem); ``based_on`` is
    the mention whose approved reply this draft reuses.
    """

    text: str
    mode: Mode
    template: str
    limit: int
    knowledge: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    fallback_reason: str | None = None
    safe: bool = False
    notes: tuple[str, ...] = ()
    based_on: int | None = None


def rank_examples(
    mention_text: str,
    examples: Sequence[ApprovedExample],
    embedder: Embedder | None = None,
    k: int = 5,
) -> list[RankedExample]:
    """The ``k`` examples most relevant to ``mention_text``, best first.

    Relevance is the similarity of the example's mention to this one (embeddings when an
    embedder is given, TF-IDF otherwise), multiplied by ``EDIT_WEIGHT`` for edited replies.
    """
    if not examples or k <= 0:
        return []
    sims = similarities(mention_text, [e.mention_text for e in examples], embedder)
    ranked = [
        RankedExample(e, max(0.0, s) * (EDIT_WEIGHT if e.edited else 1.0))
        for e, s in zip(examples, sims, strict=True)
    ]
    ranked.sort(key=lambda r: -r.score)
    return [r for r in ranked[:k] if r.score > 0]
