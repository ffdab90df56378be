"""Plays the runner's part against a connector: fetch while ``has_more``, dedupe by id.

Used by the connector tests and benchmarks; the daemon's runner does the same with backoff,
persistence and the store on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repbot.connector import Connector
from repbot.models import Mention


@dataclass
class Drained:
    """What a sequence of polls produced, deduplicated on ``external_id``."""

    mentions: list[Mention] = field(default_factory=list)
    duplicates: int = 0
    malformed: int = 0
    calls: int = 0
    cursor: str | None = None
    seen: set[str] = field(default_factory=set)

    def ids(self) -> set[str]:
        """The external ids collected so far."""
        return set(self.seen)


async def poll(
    connector: Connector, state: Drained | None = None, *, max_calls: int = 1000
) -> Drained:
    """One poll cycle: call ``fetch`` with the stored cursor until ``has_more`` is false.

    Pass the previous result as ``state`` to continue from its cursor and keep deduplicating
    across cycles.
    """
    state = state or Drained()
    for _ in range(max_calls):
        page = await connector.fetch(state.cursor)
        state.calls += 1
        state.malformed += page.malformed
        state.cursor = page.cursor
        for mention in page.mentions:
            if mention.external_id in state.seen:
                state.duplicates += 1
                continue
            state.seen.add(mention.external_id)
            state.mentions.append(mention)
        if not page.has_more:
            break
    return state
