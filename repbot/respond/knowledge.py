"""Knowledge snippets from prompts/knowledge/ (Markdown with front matter, or YAML)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from repbot.errors import ConfigError
from repbot.respond.personalize import Topic, default_topics, detect_topics
from repbot.respond.textsim import Embedder, TfIdf

TOPIC_BONUS = 0.25
"""Added to a snippet whose topics include the mention's main (most specific) problem topic."""
SECONDARY_BONUS = 0.1
"""Added instead when the snippet matches only another topic the mention also names."""


@dataclass(frozen=True)
class Snippet:
    """One piece of knowledge a reply may use.

    ``reply`` is a sentence ready to go into a reply (a Jinja2 string: it may use ``brand``) and
    ``short`` a shorter one for X-sized replies; ``action`` completes "we'll ..." in a next step;
    ``body`` is the longer text the LLM reads; ``topics`` match the problem detector's topics;
    ``examples`` are customer phrasings retrieval compares mentions with; ``urgent`` marks
    safety-first snippets (fraud, scams).
    """

    id: str
    title: str
    reply: str
    body: str = ""
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    urgent: bool = False
    short: str = ""
    action: str = ""
    source: str = ""

    @property
    def search_text(self) -> str:
        """The snippet's own text as retrieval sees it (title, tags, reply)."""
        return " ".join([self.title, " ".join(self.tags), self.reply])

    @property
    def search_rows(self) -> list[str]:
        """Texts a mention is compared with: the snippet itself and each example phrasing."""
        return [self.search_text, *self.examples]


@dataclass(frozen=True)
class Hit:
    """A snippet chosen for a mention, with its similarity score."""

    snippet: Snippet
    score: float


def _snippet(data: dict[str, Any], source: str, names: frozenset[str], body: str = "") -> Snippet:
    missing = [k for k in ("id", "title", "reply") if not data.get(k)]
    if missing:
        raise ConfigError([f"{source}: missing {', '.join(missing)}"], source="knowledge")
    topics = data.get("topics", [])
    unknown = [str(t) for t in (topics if isinstance(topics, list) else [topics])]
    unknown = [t for t in unknown if t not in names]
    if unknown:
        known = ", ".join(sorted(names))
        raise ConfigError([f"{source}: unknown topic {unknown[0]!r} (known: {known})"], "knowledge")
    return Snippet(
        id=str(data["id"]),
        title=str(data["title"]),
        reply=str(data["reply"]).strip(),
        body=str(data.get("body", body)).strip(),
        tags=tuple(str(t) for t in data.get("tags", [])),
        topics=tuple(str(t) for t in data.get("topics", [])),
        examples=tuple(str(e) for e in data.get("examples", [])),
        urgent=bool(data.get("urgent", False)),
        short=str(data.get("short", "")).strip(),
        action=str(data.get("action", "")).strip(),
        source=source,
    )


def _parse_markdown(path: Path, names: frozenset[str]) -> list[Snippet]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise ConfigError([f"{path.name}: front matter (--- ... ---) expected"], "knowledge")
    _, head, body = text.split("---", 2)
    data = yaml.safe_load(head) or {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path.name}: front matter must be a mapping"], "knowledge")
    return [_snippet(data, path.name, names, body)]


def _parse_yaml(path: Path, names: frozenset[str]) -> list[Snippet]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    items = data if isinstance(data, list) else [data]
    return [_snippet(item, path.name, names) for item in items if isinstance(item, dict)]


def load_snippets(folder: Path, topics: tuple[Topic, ...] | None = None) -> list[Snippet]:
    """Every snippet under ``folder`` (``*.md``, ``*.yaml``, ``*.yml``), sorted by id.

    A snippet's ``topics`` must be among ``topics`` (the prompts folder's ``topics.yaml``;
    default: the packaged one).
    """
    names = frozenset(t.name for t in (topics or default_topics()))
    snippets: list[Snippet] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*")):
        parse = {".md": _parse_markdown, ".yaml": _parse_yaml, ".yml": _parse_yaml}.get(path.suffix)
        if parse is None:
            continue
        try:
            snippets.extend(parse(path, names))
        except ConfigError as exc:
            problems += [f"knowledge/{problem}" for problem in exc.problems]
        except (yaml.YAMLError, ValueError) as exc:
            problems.append(f"knowledge/{path.name}: {exc}")
    ids = [s.id for s in snippets]
    problems += [
        f"knowledge: duplicate id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if problems:
        raise ConfigError(problems, source="knowledge")
    return sorted(snippets, key=lambda s: s.id)


@dataclass
class KnowledgeBase:
    """Snippets and the retrieval over them (sentence embeddings when given, else TF-IDF).

    A snippet's score is its best similarity over its own text and its example phrasings;
    the two backends have their own scales, so each has its own threshold.
    """

    snippets: list[Snippet]
    embedder: Embedder | None = None
    topics: tuple[Topic, ...] | None = None
    _tfidf: TfIdf | None = field(default=None, init=False, repr=False)
    _matrix: npt.NDArray[np.float32] | None = field(default=None, init=False, repr=False)
    _rows: list[str] = field(default_factory=list, init=False, repr=False)
    _owner: list[int] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        for i, snippet in enumerate(self.snippets):
            self._rows.extend(snippet.search_rows)
            self._owner.extend([i] * len(snippet.search_rows))

    @classmethod
    def load(
        cls, folder: Path, embedder: Embedder | None = None, topics: tuple[Topic, ...] | None = None
    ) -> KnowledgeBase:
        """Load ``folder`` (missing folder: an empty knowledge base) against ``topics``."""
        return cls(load_snippets(folder, topics) if folder.is_dir() else [], embedder, topics)

    @property
    def semantic(self) -> bool:
        """Whether retrieval uses sentence embeddings (else lexical TF-IDF)."""
        return self.embedder is not None

    def warm(self) -> None:
        """Embed (or index) the snippets' rows now rather than on the first draft."""
        if self.embedder is not None:
            self._embedded_rows()

    def _embedded_rows(self) -> npt.NDArray[np.float32]:
        assert self.embedder is not None
        with self._lock:
            if self._matrix is None:
                self._matrix = self.embedder.embed(self._rows)
            return self._matrix

    def _row_scores(self, query: str, vector: npt.NDArray[np.float32] | None) -> list[float]:
        if self.embedder is None:
            with self._lock:
                if self._tfidf is None:
                    self._tfidf = TfIdf(self._rows)
            return self._tfidf.scores(query)
        matrix = self._embedded_rows()
        q = self.embedder.embed([query])[0] if vector is None else vector
        return [float(x) for x in matrix @ q]

    def scores(self, query: str, vector: npt.NDArray[np.float32] | None = None) -> list[float]:
        """Each snippet's similarity with ``query`` (best over its rows), in snippet order.

        ``vector`` is the query's embedding when the caller already has it. The snippets'
        rows are embedded once, on first use.
        """
        best = [-1.0] * len(self.snippets)
        for owner, score in zip(self._owner, self._row_scores(query, vector), strict=True):
            best[owner] = max(best[owner], score)
        return best

    def search(
        self,
        query: str,
        k: int = 2,
        min_score: float = 0.1,
        margin: float = 0.0,
        vector: npt.NDArray[np.float32] | None = None,
        abstain: float | None = None,
    ) -> list[Hit]:
        """The ``k`` snippets that answer the problem ``query`` names, best first.

        A snippet is used only when it answers the customer's own problem: when the query
        names a problem topic, the snippet's ``topics`` must include the main (most specific)
        one; when it names none, the snippet's own similarity must reach ``abstain`` (None:
        ``min_score``). Either way the score, topic bonus included, must reach ``min_score``.
        Hits after the first must score within ``margin`` of it (0: no such limit).
        ``vector`` is the query's embedding when the caller has it.
        """
        if not self.snippets or k <= 0:
            return []
        topics = detect_topics(query, self.topics)
        main = main_topic(topics, self.topics)
        hits = []
        for snippet, score in zip(self.snippets, self.scores(query, vector), strict=True):
            if main is not None and main not in snippet.topics:
                continue
            if main is None and score < (min_score if abstain is None else abstain):
                continue
            bonus = _bonus(topics, snippet.topics)
            if score + bonus >= min_score:
                hits.append(Hit(snippet, score + bonus))
        hits.sort(key=lambda h: (-h.score, h.snippet.id))
        if margin > 0 and hits:
            hits = [h for h in hits if h.score >= hits[0].score - margin]
        return hits[:k]


def main_topic(found: list[str], topics: tuple[Topic, ...] | None = None) -> str | None:
    """The main problem among ``found`` topic names: the first whose topic names a problem.

    Flag topics (an empty ``phrase``: press, legal) say who is writing, not what went wrong.
    """
    flags = {t.name for t in (topics or default_topics()) if not t.phrase}
    return next((name for name in found if name not in flags), None)


def _bonus(topics: list[str], snippet_topics: tuple[str, ...]) -> float:
    if not topics or not snippet_topics:
        return 0.0
    if topics[0] in snippet_topics:
        return TOPIC_BONUS
    return SECONDARY_BONUS if set(topics) & set(snippet_topics) else 0.0
