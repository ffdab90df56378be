"""A pytest fixture for the PostgreSQL store: a fresh schema per test, dropped afterwards.

Set ``REPBOT_TEST_POSTGRES`` to a DSN of a role that may create schemas; without it the tests
that use :func:`postgres_dsn` skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ENV = "REPBOT_TEST_POSTGRES"
SKIP_REASON = f"{ENV} is not set: no PostgreSQL server to test against (see .ci/postgres.sh)"


def _server_dsn() -> str:
    dsn = os.environ.get(ENV, "")
    if not dsn:
        pytest.skip(SKIP_REASON)
    return dsn


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """A DSN whose ``search_path`` is a schema of its own, dropped after the test."""
    with pg_schema() as dsn:
        yield dsn


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh schema on the test server (skips the test without one); dropped on exit."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    server = _server_dsn()
    schema = f"repbot_t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        pytest.skip(f"{ENV} is set but the server is unreachable: {exc.__class__.__name__}")
    try:
        yield make_conninfo(server, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
