"""Building blocks of the connector tests' fixtures (tests/test_connector_*.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from repbot.connector import Connector
from repbot.testing.harness import Drained
from repbot.testing.server import SimulatorServer

C = TypeVar("C", bound=Connector)


@asynccontextmanager
async def connectors(
    cls: type[C], name: str, options: Callable[[], dict[str, Any]]
) -> AsyncIterator[Callable[..., C]]:
    """A factory of ``cls`` sources named ``name``, closing every connector it made on exit.

    Each call validates ``options()`` (read afresh, so a simulator's current credentials)
    updated with the call's keyword arguments.
    """
    made: list[C] = []

    def factory(**overrides: Any) -> C:
        config = cls.Config.model_validate({**options(), **overrides})
        made.append(cls(name, config))
        return made[-1]

    try:
        yield factory
    finally:
        for connector in made:
            await connector.aclose()


def forbid_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``time.sleep`` fail the test: a client library must never sleep to pace or retry
    (the runner waits instead)."""

    def forbidden(delay: float) -> None:
        raise AssertionError(f"slept {delay}s")

    monkeypatch.setattr(time, "sleep", forbidden)


def routes(sim: SimulatorServer) -> list[str]:
    """The routes the simulator answered, in order."""
    return [r.route for r in sim.requests]


async def steady_polls(connector: Connector, drained: Drained, times: int = 3) -> None:
    """Fetch ``times`` pages on from ``drained.cursor``: each must be empty and the last of
    its poll (nothing new since the drain)."""
    for _ in range(times):
        page = await connector.fetch(drained.cursor)
        drained.cursor = page.cursor
        assert page.mentions == [] and not page.has_more
