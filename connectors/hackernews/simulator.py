"""A local stand-in for Algolia's Hacker News Search ``GET /api/v1/search_by_date``.

Hits in the documented shape (``objectID``, ``created_at``, ``created_at_i``, ``author``,
``title``/``url``/``story_text`` for stories, ``comment_text``/``story_id``/``parent_id``/
``story_title`` for comments, ``points``, ``num_comments``, ``_tags``), newest first, with
``query`` (case-insensitive words), ``tags`` (``story``, ``comment`` or ``(story,comment)``),
``numericFilters=created_at_i>X``, ``hitsPerPage``, ``page``, ``nbHits``/``nbPages`` and
Algolia's 1,000-hit result window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from repbot.testing.server import RecordedRequest, Reply, SimulatorServer

WINDOW = 1_000
_NUMERIC = re.compile(r"created_at_i(>=|>|<=|<)(\d+)")


@dataclass
class SimItem:
    """A story or comment; ``raw`` replaces the rendering (malformed records)."""

    id: int
    author: str
    created_at: datetime
    text: str
    title: str | None = None
    story_id: int | None = None
    parent_id: int | None = None
    points: int = 1
    raw: Any = None

    @property
    def kind(self) -> str:
        return "story" if self.story_id is None else "comment"

    def searchable(self) -> str:
        title = self.title if self.kind == "story" else ""
        return f"{title or ''} {self.text}".lower()

    def to_json(self) -> Any:
        """The hit as Algolia renders it."""
        if self.raw is not None:
            return self.raw
        stamp = int(self.created_at.timestamp())
        hit: dict[str, Any] = {
            "objectID": str(self.id),
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_at_i": stamp,
            "updated_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "author": self.author,
            "_tags": [self.kind, f"author_{self.author}", f"story_{self.story_id or self.id}"],
        }
        if self.kind == "story":
            hit.update(
                title=self.title,
                url=None,
                story_text=self.text,
                points=self.points,
                num_comments=0,
                story_id=self.id,
            )
        else:
            hit.update(
                comment_text=self.text,
                story_id=self.story_id,
                parent_id=self.parent_id,
                story_title=self.title,
                story_url=None,
                points=None,
            )
        return hit


class HackerNewsSimulator(SimulatorServer):
    """Algolia HN Search's ``search_by_date`` on loopback."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.items: list[SimItem] = []
        self._next_id = 40_000_000
        super().__init__(host, port)

    def _register(self) -> None:
        self.route("search", "GET", "/api/v1/search_by_date", self._search)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_story(
        self, title: str, text: str = "", *, author: str = "pg", created_at: datetime | None = None
    ) -> SimItem:
        """Submit a story (now, unless ``created_at``)."""
        when = (created_at or datetime.now(UTC)).replace(microsecond=0)
        item = SimItem(self._new_id(), author, when, text, title=title)
        self.items.append(item)
        return item

    def add_comment(
        self,
        story: SimItem,
        text: str,
        *,
        parent: SimItem | None = None,
        author: str = "dang",
        created_at: datetime | None = None,
        raw: Any = None,
    ) -> SimItem:
        """Comment on ``story`` (in reply to ``parent``, else to the story)."""
        when = (created_at or datetime.now(UTC)).replace(microsecond=0)
        item = SimItem(
            self._new_id(),
            author,
            when,
            text,
            title=story.title,
            story_id=story.id,
            parent_id=(parent or story).id,
            raw=raw,
        )
        self.items.append(item)
        return item

    def seed(self, count: int, word: str = "Orbit", *, spacing: float = 60.0) -> list[SimItem]:
        """A story about ``word`` and ``count - 1`` comments on it, the newest now."""
        now = datetime.now(UTC)
        times = [now - timedelta(seconds=spacing * (count - 1 - i)) for i in range(count)]
        story = self.add_story(f"Ask HN: is {word} Bank any good?", created_at=times[0])
        made = [story]
        for i, when in enumerate(times[1:]):
            text = f"<p>{word} Bank &#x27;support&#x27; took {i} days to answer.<p>Avoid."
            made.append(self.add_comment(story, text, created_at=when, author=f"user{i % 50}"))
        return made

    async def _search(self, request: web.Request, recorded: RecordedRequest) -> Reply:
        query = recorded.query
        try:
            per_page = int(query.get("hitsPerPage", "20"))
            page = int(query.get("page", "0"))
        except ValueError:
            return Reply(400, {"message": "invalid hitsPerPage or page", "status": 400})
        matched = self._matching(query)
        if isinstance(matched, Reply):
            return matched
        matched.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        reachable = matched[:WINDOW]
        chunk = reachable[page * per_page : (page + 1) * per_page]
        pages = -(-len(reachable) // per_page) if per_page else 0
        return Reply(
            200,
            {
                "hits": [i.to_json() for i in chunk],
                "nbHits": len(matched),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": per_page,
                "exhaustiveNbHits": True,
                "query": query.get("query", ""),
                "params": request.query_string,
                "processingTimeMS": 1,
            },
        )

    def _matching(self, query: dict[str, str]) -> list[SimItem] | Reply:
        words = query.get("query", "").lower().split()
        tags = query.get("tags", "").strip("()").split(",")
        kinds = {t for t in tags if t in ("story", "comment")} or {"story", "comment"}
        bounds = _NUMERIC.findall(query.get("numericFilters", ""))
        if query.get("numericFilters") and not bounds:
            return Reply(400, {"message": "invalid numericFilters", "status": 400})
        found = []
        for item in self.items:
            stamp = int(item.created_at.timestamp())
            if item.kind not in kinds or not all(w in item.searchable() for w in words):
                continue
            if all(_compare(stamp, op, int(v)) for op, v in bounds):
                found.append(item)
        return found


def _compare(value: int, op: str, bound: int) -> bool:
    return {
        ">": value > bound,
        ">=": value >= bound,
        "<": value < bound,
        "<=": value <= bound,
    }[op]
