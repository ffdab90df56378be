"""Options for the test suite: ``--long`` runs the long variants of the reliability suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--long``."""
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long variants of the reliability suite (e.g. 20 crash rounds)",
    )


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    """True under ``--long``: a reliability test runs its long variant."""
    return bool(request.config.getoption("--long"))
