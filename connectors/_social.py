"""What the social connectors with per-stream sweeps share (Mastodon, Bluesky).

Each connector keeps one small dataclass per stream (notifications, a hashtag, a search) that
says where the stream stands and whether a sweep has a page left to read (:attr:`in_sweep`).
:class:`StreamCursor` persists those states as compact JSON and ends a fetch the same way for
every such connector: streams no longer configured are dropped and :func:`repbot.paging.chain`
decides ``Page.has_more``. :func:`absorb` maps one page of raw items, counting and logging the
malformed ones and emitting each mention once per page. :data:`DOMAIN` is the handle pattern
both platforms build on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from repbot import paging
from repbot.models import Mention, Page

log = logging.getLogger(__name__)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN = rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
"""A DNS name (labels of letters, digits and inner hyphens; a top-level label starting with a
letter): a Bluesky handle, the instance part of a Mastodon handle."""


class SweepState(Protocol):
    """A stream's state: a dataclass whose fields are JSON values."""

    @property
    def in_sweep(self) -> bool:
        """Whether the stream's sweep has a page left to read."""
        ...


S = TypeVar("S", bound=SweepState)


@dataclass
class StreamCursor(Generic[S]):
    """The persisted position of a connector: one state per stream and the chain length.

    Subclasses set :attr:`label` (the platform, in messages) and :attr:`stream_type` (the
    state dataclass, built from its JSON fields).
    """

    streams: dict[str, S] = field(default_factory=dict)
    chain: int = 0

    label: ClassVar[str] = "social"
    stream_type: ClassVar[Callable[..., Any]]

    @classmethod
    def load(cls, text: str | None) -> Self:
        """Parse a cursor; an unreadable one starts afresh (with a warning)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            streams = {k: cls.stream_type(**v) for k, v in data["streams"].items()}
            return cls(streams, int(data.get("chain", 0)))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("%s: ignoring unreadable cursor (%s); starting afresh", cls.label, exc)
            return cls()

    def dump(self) -> str:
        """The cursor as compact JSON (unset and false fields left out)."""
        streams = {
            k: {n: v for n, v in s.__dict__.items() if v is not None and v is not False}
            for k, s in self.streams.items()
        }
        data = {"v": 1, "streams": streams, "chain": self.chain}
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    def stream(self, key: str) -> S:
        """The state of stream ``key``, created fresh on first use."""
        if key not in self.streams:
            self.streams[key] = self.stream_type()
        return self.streams[key]

    def pending(self, keys: list[str]) -> list[str]:
        """The streams among ``keys`` whose sweep has a page left to read."""
        return [k for k in keys if k in self.streams and self.streams[k].in_sweep]

    def finish(self, page: Page, keys: list[str], max_pages: int) -> Page:
        """End a fetch: keep only the streams in ``keys``, chain the pages, store the cursor."""
        self.streams = {k: s for k, s in self.streams.items() if k in keys}
        more = any(s.in_sweep for s in self.streams.values())
        self.chain, page.has_more = paging.chain(more, self.chain, max_pages)
        page.cursor = self.dump()
        return page


def absorb(page: Page, items: list[Any], each: Callable[[Any], Mention | None], where: str) -> None:
    """Add the mentions ``each`` makes of ``items`` to ``page``, each external id once.

    ``each`` returns ``None`` for an item that is read but not emitted and raises on one that
    does not map: that item is counted in ``page.malformed`` and logged (``where`` names the
    source and stream), and the rest of the page is still read.
    """
    seen = {m.external_id for m in page.mentions}
    for position, item in enumerate(items):
        try:
            mention = each(item)
        except Exception as exc:  # noqa: BLE001 - any item that does not map is malformed
            page.malformed += 1
            log.warning(
                "%s: skipped malformed item at position %d: %s",
                where,
                position,
                (str(exc) or type(exc).__name__)[:200],
            )
            continue
        if mention is not None and mention.external_id not in seen:
            seen.add(mention.external_id)
            page.mentions.append(mention)
