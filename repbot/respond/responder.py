"""The Responder: a personal, on-brand draft for each mention that deserves an answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from jinja2 import TemplateError

from repbot import platforms
from repbot.brand import BrandConfig
from repbot.errors import ConfigError
from repbot.models import Author, Mention
from repbot.respond import guardrails, limits
from repbot.respond.config import ResponderConfig
from repbot.respond.draft import EDIT_WEIGHT, Draft, DraftContext, RankedExample, rank_examples
from repbot.respond.history import ExampleHistory, HistorySource
from repbot.respond.knowledge import Hit, KnowledgeBase, main_topic
from repbot.respond.language import language_name, language_of
from repbot.respond.llm import ChatClient, LLMError, OpenAIChatClient
from repbot.respond.personalize import (
    Problem,
    Vocabulary,
    address,
    detect_topics,
    first_name,
    load_vocabulary,
    praised,
    problem,
    stars,
)
from repbot.respond.templates import (
    KINDS,
    LANGUAGES,
    Phrasing,
    TemplateSet,
    describe,
    family,
    packaged_prompts,
)
from repbot.respond.textsim import Embedder, dice, terms
from repbot.secrets import redact

PREFERENCE = 8.0
"""How strongly phrasings resembling approved replies are preferred: a phrasing's draw weight
is exp(PREFERENCE x its lead in relevance-weighted overlap with those replies)."""
NO_REPLY = frozenset({"spam", "irrelevant"})
_TAG = re.compile(r"</?\s*(mention|system|assistant|user)\b[^>]*>", re.I)
_LEADING_HANDLES = re.compile(r"^(?:@[\w.@-]+[\s,:]*)+")
_ASKS = re.compile(
    r"\?|\b(any ideas|does anyone know|how (?:do|can) i|how to|is there a way|what'?s the)\b", re.I
)
_MIXED = re.compile(r"\b(only wish|i wish|though|however|but|except|apart from|if only)\b", re.I)
SECURITY_INTENTS = frozenset({"complaint", "question", "other", "security"})
HOLDING = frozenset({"press", "legal"})
"""Template families that get a holding reply: no fact, no knowledge, a note to the approver."""
NOTES = {
    "press": "Press enquiry: a holding reply pointing to the press office, no statement."
    " Forward it to the press office before approving.",
    "legal": "Legal threat: a holding reply that admits nothing and states no fact."
    " A senior approver (or legal) should check it before it is posted.",
    "security": "Security: a safety-first reply. Check with the fraud or security team that"
    " the account is secured; never ask for details in public.",
}
"""The note to the approver for each template family with its own handling."""
FIXED = frozenset({*HOLDING, "security", "language"})
"""Template families always drafted from templates, in llm mode too: holding replies and
safety-first steps are not improvised."""
LIBRARY_KINDS = frozenset({"complaint", "question", "other", "praise"})
"""Template families whose drafts may reuse a reply approved for a similar mention."""
_DIGITS = re.compile(r"[#\w]*\d[\w-]*")
_PROPER = re.compile(r"\b[A-Z][a-z]+\b")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedSnippet:
    """A knowledge snippet as templates see it: its ``reply`` already rendered."""

    id: str
    title: str
    reply: str
    body: str
    score: float
    short: str = ""
    action: str = ""
    urgent: bool = False


class Responder:
    """Drafts replies from templates (offline) or an OpenAI-compatible LLM.

    ``draft`` may be awaited concurrently; CPU work is small and synchronous, and encoder
    calls (when an ``embedder`` is given) run in a worker thread.
    """

    def __init__(
        self,
        cfg: ResponderConfig,
        brand: BrandConfig,
        embedder: Embedder | None = None,
        llm: ChatClient | None = None,
    ) -> None:
        self.cfg = cfg
        self.brand = brand
        self.embedder = embedder
        self.root = cfg.prompts_dir or packaged_prompts()
        self.templates = TemplateSet(self.root)
        self.vocabulary = load_vocabulary(self.root)
        self.local: dict[str, Vocabulary] = {
            code: load_vocabulary(self.root / LANGUAGES / code)
            for code in self.templates.languages()
        }
        """Per-language problem vocabularies (``languages/{code}/topics.yaml``)."""
        self.topics = self.vocabulary.topics
        self.knowledge = KnowledgeBase.load(self.root / "knowledge", embedder, self.topics)
        self.history = ExampleHistory(embedder)
        self._vectors: dict[str, Any] = {}
        self._owns_llm = llm is None and cfg.mode == "llm"
        self.llm: ChatClient | None = OpenAIChatClient(cfg.llm) if self._owns_llm else llm

    async def aclose(self) -> None:
        """Close the LLM client if the responder created it."""
        if self._owns_llm and isinstance(self.llm, OpenAIChatClient):
            await self.llm.aclose()

    def should_reply(
        self, intent: str, urgency: float, sentiment: str, language: str | None = None
    ) -> bool:
        """Whether a mention with this analysis gets a draft (spam and irrelevant never do).

        A mention in a language other than English gets a draft whatever its intent and
        urgency: the English-trained models judge it less well, so a human should look.
        """
        if intent in NO_REPLY or intent not in self.cfg.reply_intents:
            return False
        if intent == "other" and sentiment == "negative" and self.cfg.negative_other_replies:
            return True
        if language and language != "en":
            return True
        return urgency >= self.cfg.min_urgency.get(intent, 0.0)

    async def draft(self, ctx: DraftContext) -> Draft:
        """A draft for ``ctx`` that fits its platform and passes the guardrails."""
        ctx = self.with_language(ctx)
        query = _query(ctx.mention)
        if self.embedder is None or query in self._vectors:
            hits, ranked = self._retrieve(ctx, query)
        else:
            hits, ranked = await asyncio.to_thread(self._retrieve, ctx, query)
        if self.cfg.mode == "llm" and self.llm is not None and self.kind(ctx) not in FIXED:
            return await self._draft_llm(ctx, hits, ranked)
        return self.draft_template(ctx, hits, ranked)

    def with_language(self, ctx: DraftContext) -> DraftContext:
        """``ctx`` with its language settled ("en" unless clearly another language)."""
        return replace(ctx, language=language_of(_query(ctx.mention), ctx.language))

    def foreign(self, ctx: DraftContext) -> bool:
        """Whether the mention is in a language other than English."""
        return (ctx.language or "en") != "en"

    def writes(self, ctx: DraftContext) -> str | None:
        """The mention's language when the draft is written in it, else None (English).

        The language must be in ``responder.languages`` and have its own template set.
        """
        language = ctx.language or "en"
        if language != "en" and language in self.cfg.languages and language in self.local:
            return language
        return None

    def found(self, ctx: DraftContext, personal: bool = True) -> Problem:
        """The problem ``ctx`` names, read with the vocabulary of the language drafted in."""
        mention = _defused(ctx.mention)
        language = self.writes(ctx)
        if language is not None:
            local = self.local[language]
            return problem(mention, self.brand.name, local.topics, local)
        return problem(mention, self.brand.name, self.topics, self.vocabulary)

    def kind(self, ctx: DraftContext, found: Problem | None = None) -> str:
        """Which reply template family answers ``ctx``: its intent, ``security`` or ``language``."""
        if ctx.intent in NO_REPLY:
            return ctx.intent
        if self.foreign(ctx) and self.writes(ctx) is None:
            return "language"
        found = found or self.found(ctx)
        if ctx.intent == "security" or (found.security and ctx.intent in SECURITY_INTENTS):
            return "security"
        for kind in ("legal", "press"):
            if ctx.intent == kind or kind in found.topics:
                return kind
        return ctx.intent

    async def sync_history(self, source: HistorySource) -> int:
        """Load approved replies decided since the last call (see :class:`ExampleHistory`).

        Drafts rank these when their context brings no ``examples`` of its own. A failure
        (the encoder, the store) is logged and drafting goes on with what was loaded.
        """
        try:
            return await self.history.sync(source)
        except Exception as exc:  # noqa: BLE001 - a draft without new examples is still a draft
            log.warning("approved replies not loaded: %s", redact(f"{type(exc).__name__}: {exc}"))
            return 0

    async def warm(self) -> None:
        """Embed the knowledge snippets now (in a worker thread), not on the first draft."""
        await asyncio.to_thread(self.knowledge.warm)

    async def prepare(self, mentions: Sequence[Mention]) -> None:
        """Embed the retrieval queries of a batch of mentions in one encoder call.

        One forward pass over the batch costs a fraction of one pass per draft; the next
        :meth:`draft` of each of these mentions then needs no encoder call. Only the last
        batch is kept, so memory does not grow.
        """
        self._vectors = {}
        if self.embedder is None or not mentions:
            return
        queries = list(dict.fromkeys(_query(m) for m in mentions))
        embedder = self.embedder
        vectors = await asyncio.to_thread(embedder.embed, queries)
        self._vectors = dict(zip(queries, vectors, strict=True))

    def knowledge_bars(self) -> tuple[float, float]:
        """The minimum score and the no-topic abstention bar for the retrieval in use."""
        cfg = self.cfg
        if self.knowledge.semantic:
            return cfg.knowledge_min_similarity, cfg.knowledge_abstain_similarity
        return cfg.knowledge_min_score, cfg.knowledge_abstain_score

    def _retrieve(self, ctx: DraftContext, query: str) -> tuple[list[Hit], list[RankedExample]]:
        """Knowledge hits and ranked approved replies; the query is embedded at most once."""
        wants_knowledge = ctx.intent not in ("praise", "legal") and not self.foreign(ctx)
        needed = (wants_knowledge and bool(self.knowledge.snippets)) or (
            len(self.history) > 0 and not ctx.examples
        )
        vector = self._vectors.get(query)
        if vector is None and self.embedder and needed:
            vector = self.embedder.embed([query])[0]
        hits: list[Hit] = []
        if wants_knowledge:
            floor, abstain = self.knowledge_bars()
            hits = self.knowledge.search(
                query,
                self.cfg.knowledge_k,
                floor,
                margin=self.cfg.knowledge_margin,
                vector=vector,
                abstain=abstain,
            )
        kind = self.kind(ctx)
        if kind in HOLDING:
            hits = [Hit(s, 1.0) for s in self.knowledge.snippets if kind in s.topics][:1]
        k = self.cfg.examples_k
        if ctx.examples:
            return hits, rank_examples(query, ctx.examples, self.embedder, k)
        return hits, self.history.rank(query, vector, k)

    # -- context -------------------------------------------------------------------------

    def limit(self, platform: str) -> limits.Limit:
        """The reply limit for ``platform`` (config may lower it)."""
        return limits.limit_for(platform, self.cfg.limits)

    def context(
        self,
        ctx: DraftContext,
        hits: Sequence[Hit] = (),
        ranked: Sequence[RankedExample] = (),
        personal: bool = True,
    ) -> dict[str, Any]:
        """The variables every template sees (documented in prompts/README.md)."""
        mention = ctx.mention
        who = address(mention)
        found = self.found(ctx)
        thing, person = praised(_defused(mention), self.brand.name, self.vocabulary)
        if not personal:
            found = replace(found, phrase="", object="", key_phrases=())
            thing = person = ""
        brand_vars = {"brand": self.brand}
        language = ctx.language or "en"
        text = _query(mention)
        return {
            "mention": mention,
            "mention_text": _TAG.sub(" ", mention.text),
            "author": mention.author,
            "platform": mention.platform,
            "family": family(mention.platform),
            "intent": ctx.intent,
            "sentiment": ctx.sentiment,
            "urgency": ctx.urgency,
            "name": who.name,
            "greeting": who.greeting,
            "handle": platforms.handle(mention.platform, mention.author.handle) or "",
            "problem": found.phrase,
            "object": found.object,
            "topic": found.topic or "",
            "order_number": found.order_number or "",
            "key_phrases": list(found.key_phrases),
            "topics": list(found.topics),
            "security": found.security,
            "asks": bool(_ASKS.search(text)),
            "mixed": bool(_MIXED.search(text)),
            "praised": thing,
            "person": person,
            "language": language,
            "language_name": language_name(language),
            "language_supported": language in self.cfg.languages,
            "reply_language": language_name(self.writes(ctx) or "en"),
            "rating": mention.rating,
            "stars": stars(mention.rating),
            "brand": self.brand,
            "allowed_hosts": sorted(guardrails.allowed_hosts(self.brand)),
            "knowledge": [self._rendered(h, brand_vars) for h in hits],
            "examples": [
                {
                    "mention": r.example.mention_text,
                    "reply": r.example.reply_text,
                    "edited": r.example.edited,
                    "score": round(r.score, 3),
                }
                for r in ranked[: self.cfg.llm.examples]
            ],
            "limit": self.limit(mention.platform).chars,
            "thread": [
                {"author": t.author, "text": _TAG.sub(" ", t.text), "ours": t.ours}
                for t in ctx.thread
            ],
        }

    def _rendered(self, hit: Hit, brand_vars: dict[str, Any]) -> RenderedSnippet:
        snippet = hit.snippet
        reply = self.templates.render_string(snippet.reply, brand_vars)
        short = self.templates.render_string(snippet.short, brand_vars) if snippet.short else ""
        return RenderedSnippet(
            snippet.id,
            snippet.title,
            reply,
            snippet.body,
            hit.score,
            short=short or reply,
            action=snippet.action,
            urgent=snippet.urgent,
        )

    # -- template mode -------------------------------------------------------------------

    def _compose(self, mention: Mention, body: str) -> str:
        social = platforms.family(mention.platform) == "social"
        return limits.fit(
            body,
            self.limit(mention.platform),
            prefix=address(mention).prefix,
            suffix=self.brand.signoff.strip(),
            sep=" " if social else "\n\n",
        )

    def _check(self, ctx: DraftContext, text: str) -> list[str]:
        """Guardrail problems of ``text``; the @handle prefix we added ourselves is exempt."""
        prefix = address(ctx.mention).prefix
        return guardrails.check(
            text.removeprefix(prefix) if prefix else text,
            brand=self.brand,
            cfg=self.cfg.guardrails,
            mention_text=ctx.mention.text,
            others=ctx.others,
        )

    def draft_template(
        self,
        ctx: DraftContext,
        hits: Sequence[Hit] | None = None,
        ranked: Sequence[RankedExample] | None = None,
    ) -> Draft:
        """The template-mode draft (synchronous; retrieval is lexical unless hits are given)."""
        if ctx.language is None:
            ctx = self.with_language(ctx)
        if hits is None or ranked is None:
            hits, ranked = self._retrieve(ctx, _query(ctx.mention))
        platform = ctx.mention.platform
        kind = self.kind(ctx)
        notes = self.notes(ctx, kind, hits)
        if kind in LIBRARY_KINDS and not self.foreign(ctx):
            reused = self.from_library(ctx, ranked, notes)
            if reused is not None:
                return reused
        rejected: list[str] = []
        for personal in (True, False):
            variables = self.context(ctx, hits, ranked, personal=personal)
            phrasings = self.templates.phrasings(platform, kind, variables, self.writes(ctx))
            for phrasing in order_phrasings(phrasings, ctx.mention, ranked):
                text = self._compose(ctx.mention, phrasing.text)
                problems = self._check(ctx, text)
                if not problems:
                    return Draft(
                        text=text,
                        mode="template",
                        template=phrasing.id,
                        limit=self.limit(platform).chars,
                        knowledge=tuple(h.snippet.id for h in hits),
                        rejected=tuple(rejected),
                        notes=notes,
                    )
                rejected += [f"{phrasing.id}: {p}" for p in problems]
        return replace(self._safe(ctx, rejected), notes=notes)

    def notes(self, ctx: DraftContext, kind: str, hits: Sequence[Hit]) -> tuple[str, ...]:
        """What the approver should know about a draft for ``ctx`` of template family ``kind``."""
        if kind in NOTES:
            return (NOTES[kind],)
        if hits or kind not in ("complaint", "question", "other") or self.foreign(ctx):
            return ()
        topics = detect_topics(_query(ctx.mention), self.topics)
        main = main_topic(topics, self.topics)
        about = f" about {main.replace('_', ' ')}" if main else ""
        return (f"No knowledge answers this problem{about}: the draft states no fact.",)

    # -- answer library ------------------------------------------------------------------

    def library_bar(self) -> float:
        """How similar a past mention must be for its approved reply to be reused."""
        semantic = self.embedder is not None
        return self.cfg.library_min_similarity if semantic else self.cfg.library_min_score

    def from_library(
        self, ctx: DraftContext, ranked: Sequence[RankedExample], notes: tuple[str, ...]
    ) -> Draft | None:
        """A draft reusing the reply approved for a mention like this one, or None.

        The past mention must be as similar as :meth:`library_bar`, on the same platform
        family, with the same intent and main problem topic; its reply must name nothing
        specific to that customer (their name is replaced, numbers refuse the reuse) and the
        adapted text must pass the guardrails.
        """
        for candidate in ranked[:3]:
            text = self._adapted(ctx, candidate)
            if text is None:
                continue
            example = candidate.example
            if self._check(ctx, text):
                continue
            return Draft(
                text=text,
                mode="template",
                template="library",
                limit=self.limit(ctx.mention.platform).chars,
                notes=(f"Based on the reply approved for #{example.mention_id}.", *notes),
                based_on=example.mention_id,
            )
        return None

    def _adapted(self, ctx: DraftContext, candidate: RankedExample) -> str | None:
        example = candidate.example
        similarity = candidate.score / (EDIT_WEIGHT if example.edited else 1.0)
        mention = ctx.mention
        if (
            not example.mention_id
            or similarity < self.library_bar()
            or family(example.platform or mention.platform) != family(mention.platform)
            or (example.intent and example.intent != ctx.intent)
            or self._main(example.mention_text) != self._main(_query(mention))
        ):
            return None
        body = clean_llm_reply(example.reply_text, self.brand.signoff)
        if self._specific(body, example.mention_text, _query(mention), example.author):
            return None
        renamed = _rename(body, example.author, first_name(mention.author) or "")
        return None if renamed is None else self._compose(mention, renamed)

    def _specific(self, reply: str, old: str, new: str, old_author: str) -> bool:
        """Whether ``reply`` names something of the old mention's only (numbers, names)."""
        if any(token in old for token in _DIGITS.findall(reply)):
            return True
        own = {*old_author.split()[:1], *self.brand.name.split()}
        names = {w for w in _PROPER.findall(reply) if w not in own}
        return any(re.search(rf"\b{w}\b", old) and w not in new for w in names)

    def _main(self, text: str) -> str | None:
        return main_topic(detect_topics(text, self.topics), self.topics)

    def _safe(self, ctx: DraftContext, rejected: list[str]) -> Draft:
        """The minimal reply used when no phrasing passes."""
        where = self.brand.support_url
        for body in (
            f"Thanks for reaching out. We'd like to help; please contact us at {where}.",
            "Thanks for reaching out. We'd like to help.",
            "Thank you.",
        ):
            text = self._compose(ctx.mention, body)
            if not self._check(ctx, text):
                break
        return Draft(
            text=text,
            mode="template",
            template="safe",
            limit=self.limit(ctx.mention.platform).chars,
            rejected=tuple(rejected),
            safe=True,
        )

    # -- llm mode ------------------------------------------------------------------------

    def messages(self, variables: dict[str, Any]) -> list[dict[str, str]]:
        """The chat messages for the LLM: system rules and knowledge, the mention as data."""
        return [
            {"role": "system", "content": self.templates.render("llm/system.j2", variables)},
            {"role": "user", "content": self.templates.render("llm/user.j2", variables)},
        ]

    async def _draft_llm(
        self, ctx: DraftContext, hits: Sequence[Hit], ranked: Sequence[RankedExample]
    ) -> Draft:
        assert self.llm is not None
        variables = self.context(ctx, hits, ranked)
        try:
            raw = await self.llm.complete(self.messages(variables))
        except (LLMError, TemplateError) as exc:
            return self._fallback(ctx, hits, ranked, f"LLM unavailable: {exc}", [])
        body = clean_llm_reply(raw, self.brand.signoff)
        text = self._compose(ctx.mention, body)
        if text.endswith(limits.ELLIPSIS) and not body.endswith(limits.ELLIPSIS):
            return self._fallback(ctx, hits, ranked, "LLM reply too long for the platform", [])
        problems = self._check(ctx, text) + self._unfounded(ctx, body, hits)
        if problems:
            reason = "LLM reply failed the guardrails"
            return self._fallback(ctx, hits, ranked, reason, [f"llm: {p}" for p in problems])
        return Draft(
            text=text,
            mode="llm",
            template="llm/user.j2",
            limit=self.limit(ctx.mention.platform).chars,
            knowledge=tuple(h.snippet.id for h in hits),
            notes=self.notes(ctx, self.kind(ctx), hits),
        )

    def _unfounded(self, ctx: DraftContext, body: str, hits: Sequence[Hit]) -> list[str]:
        """The abstention rule applied to generated text: every figure must have a source.

        A number, time span or amount in an LLM reply must come from the mention, a knowledge
        snippet used for this draft or the brand's contact details; otherwise it is a fact
        the model made up (or took from knowledge that does not answer this problem).
        """
        brand = self.brand
        contact = [brand.support_url, brand.support_email or "", brand.support_phone or ""]
        sources = [ctx.mention.text, ctx.mention.title or "", *contact]
        for hit in hits:
            sources += [hit.snippet.reply, hit.snippet.short, hit.snippet.body]
        known = " ".join(sources)
        figures = [t.strip("#.,;:") for t in _DIGITS.findall(body)]
        unfounded = [f for f in figures if f and f not in known]
        return [f"states a figure with no source: {f}" for f in dict.fromkeys(unfounded)]

    def _fallback(
        self,
        ctx: DraftContext,
        hits: Sequence[Hit],
        ranked: Sequence[RankedExample],
        reason: str,
        problems: list[str],
    ) -> Draft:
        draft = self.draft_template(ctx, hits, ranked)
        return replace(
            draft,
            mode="llm_fallback",
            fallback_reason=reason,
            rejected=(*problems, *draft.rejected),
        )


def _query(mention: Mention) -> str:
    text = " ".join(part for part in (mention.title, mention.text) if part)
    return guardrails.strip_instructions(text)


def _defused(mention: Mention) -> Mention:
    """The mention as personalisation reads it: injected instructions removed."""
    text = guardrails.strip_instructions(mention.text)
    return mention if text == mention.text else mention.model_copy(update={"text": text})


def _rename(body: str, old_author: str, new_name: str) -> str | None:
    """``body`` with the old customer's first name replaced by ``new_name`` (None: cannot)."""
    old = (old_author.split() or [""])[0].strip(",.")
    if len(old) < 2 or not re.search(rf"\b{re.escape(old)}\b", body):
        return body
    if not new_name:
        return None
    return re.sub(rf"\b{re.escape(old)}\b", new_name, body)


def _unit(seed: str) -> float:
    """A deterministic number in (0, 1) derived from ``seed``."""
    value = int(hashlib.sha256(seed.encode()).hexdigest()[:13], 16)
    return (value + 1) / (16**13 + 2)


def order_phrasings(
    phrasings: Sequence[Phrasing], mention: Mention, ranked: Sequence[RankedExample]
) -> list[Phrasing]:
    """Phrasings in the order to try them: a weighted draw seeded by the mention's id.

    Each mention gets a stable choice, a burst of similar mentions spreads over the phrasings,
    and phrasings resembling approved (more so edited) replies are drawn more often
    (Efraimidis-Spirakis weighted sampling without replacement).
    """
    seed = f"{mention.platform}:{mention.external_id}"
    replies = [(r.score, set(terms(r.example.reply_text))) for r in ranked]
    prefs = [_preference(p.text, replies) for p in phrasings]
    floor = min(prefs, default=0.0)
    keys = [
        _unit(f"{seed}:{p.id}") ** (1.0 / math.exp(PREFERENCE * (pref - floor)))
        for p, pref in zip(phrasings, prefs, strict=True)
    ]
    order = sorted(range(len(phrasings)), key=lambda i: keys[i], reverse=True)
    return [phrasings[i] for i in order]


def _preference(text: str, replies: Sequence[tuple[float, set[str]]]) -> float:
    """Relevance-weighted term overlap of ``text`` with approved replies' term sets."""
    if not replies:
        return 0.0
    mine = set(terms(text))
    return sum(score * dice(mine, theirs) for score, theirs in replies)


def clean_llm_reply(raw: str, signoff: str) -> str:
    """Strip what we add ourselves (leading @handles, the sign-off) and wrapping quotes."""
    text = raw.strip().strip('"“”').strip()
    text = re.sub(r"^(?:reply|draft)\s*:\s*", "", text, flags=re.I)
    text = _LEADING_HANDLES.sub("", text).strip()
    signoff = signoff.strip()
    if signoff and text.endswith(signoff):
        text = text[: -len(signoff)].rstrip(" -—\n")
    return text


# -- repbot check ------------------------------------------------------------------------


def sample_mentions(platform: str) -> list[Mention]:
    """A named mention with a problem and a bare one (no name, text or rating)."""
    review = platform in ("google_business", "trustpilot", "yelp", "app_store", "google_play")
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    rich = Mention(
        platform=platform,
        external_id=f"sample-{platform}-1",
        kind="review" if review else "post",
        author=Author(handle="maria_l", display_name="Maria Lopez", followers=120),
        text="My order #4411 arrived damaged and I'd like a refund. How long does that take?",
        title="Damaged order" if review else None,
        rating=2 if review else None,
        created_at=created,
    )
    bare = Mention(platform=platform, external_id=f"sample-{platform}-2", created_at=created)
    return [rich, bare]


def template_problems(cfg: ResponderConfig, brand: BrandConfig) -> list[str]:
    """Every problem found rendering every template for every platform x intent."""
    try:
        responder = Responder(cfg.model_copy(update={"mode": "template"}), brand)
    except ConfigError as exc:
        return list(exc.problems)
    problems = responder.templates.syntax_problems()
    if problems:
        return problems
    problems += _snippet_problems(responder)
    for platform in platforms.names():
        for mention in sample_mentions(platform):
            for kind in KINDS:
                problems += _render_problems(responder, _sample_context(mention, kind))
            for language in responder.local:
                problems += _language_problems(responder, mention, language)
    return list(dict.fromkeys(problems))


def _language_problems(responder: Responder, mention: Mention, language: str) -> list[str]:
    """Render every template family of ``language``'s set (whatever responder.languages)."""
    cfg = responder.cfg
    writer = responder
    if language not in cfg.languages:
        writer = Responder(
            cfg.model_copy(update={"languages": [*cfg.languages, language]}), responder.brand
        )
    problems = []
    for kind in KINDS:
        if kind in ("language", *NO_REPLY):
            continue
        ctx = DraftContext(mention, intent=kind, language=language)
        variables = writer.context(ctx)
        label = f"(platform={mention.platform}, intent={kind}, language={language})"
        try:
            phrasings = writer.templates.phrasings(mention.platform, kind, variables, language)
        except TemplateError as exc:
            problems.append(f"{describe(exc, writer.root)} {label}")
            continue
        for phrasing in phrasings:
            text = writer._compose(mention, phrasing.text)
            problems += [f"{phrasing.id}: {p} {label}" for p in writer._check(ctx, text)]
            if text.endswith(limits.ELLIPSIS):
                problems.append(f"{phrasing.id}: does not fit {mention.platform}'s limit {label}")
    return problems


def _sample_context(mention: Mention, kind: str) -> DraftContext:
    """A context whose template family is ``kind`` (an intent, ``security`` or ``language``)."""
    if kind == "language":
        return DraftContext(mention, intent="complaint", language="es")
    if kind == "security":
        hacked = mention.model_copy(update={"text": f"{mention.text} I think I was hacked."})
        return DraftContext(hacked, intent="complaint", language="en")
    return DraftContext(mention, intent=kind, language="en")


def _snippet_problems(responder: Responder) -> list[str]:
    problems = []
    for snippet in responder.knowledge.snippets:
        where = f"knowledge/{snippet.source}"
        try:
            text = " ".join(
                responder.templates.render_string(source, {"brand": responder.brand})
                for source in (snippet.reply, snippet.short)
            )
        except TemplateError as exc:
            problems.append(f"{where}: {type(exc).__name__}: {exc}")
            continue
        problems += [
            f"{where}: {p}"
            for p in guardrails.check(text, brand=responder.brand, cfg=responder.cfg.guardrails)
        ]
    return problems


def _render_problems(responder: Responder, ctx: DraftContext) -> list[str]:
    platform, kind = ctx.mention.platform, responder.kind(ctx)
    label = f"(platform={platform}, intent={kind})"
    hits, _ = responder._retrieve(ctx, _query(ctx.mention))
    variables = responder.context(ctx, hits)
    problems = []
    try:
        phrasings = responder.templates.phrasings(platform, kind, variables)
        responder.messages(variables)
    except TemplateError as exc:
        return [f"{describe(exc, responder.root)} {label}"]
    for phrasing in phrasings:
        text = responder._compose(ctx.mention, phrasing.text)
        problems += [f"{phrasing.id}: {p} {label}" for p in responder._check(ctx, text)]
        if text.endswith(limits.ELLIPSIS):
            problems.append(f"{phrasing.id}: does not fit {platform}'s limit whole {label}")
    return problems
