"""The scale-out bench's harness at tiny size (bench/bench_scaleout.py): real `repbot run`
daemons on SQLite and on a shared PostgreSQL database; every item handled exactly once.

No timing assertions: the figures are the bench's business. The PostgreSQL cases skip without
``REPBOT_TEST_POSTGRES`` (see .ci/postgres.sh).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from repbot.testing.postgres import ENV, SKIP_REASON

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a top-level package of the repository, not installed
    sys.path.insert(0, str(ROOT))

from bench import bench_scaleout as scaleout  # noqa: E402


def _server() -> str:
    server = os.environ.get(ENV, "")
    if not server:
        pytest.skip(SKIP_REASON)
    return server


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_burst_is_drafted_approved_and_posted_once(tmp_path: Path, backend: str) -> None:
    server = _server() if backend == "postgres" else None
    daemons = 2 if server else 1
    result = await scaleout.throughput(
        tmp_path, daemons=daemons, burst=12, server=server, timeout=300
    )
    # throughput() itself asserts exactly once (store, platforms, posted log lines).
    assert result.drafted > 0 and result.approved == result.drafted
    assert result.posted == result.approved
    assert sum(result.posted_by.values()) == result.posted
    assert len(result.posted_by) == daemons
    assert result.slack_messages > 0  # the Slack count below reads real deliveries
    assert result.slack_twice == 0  # delivery is claimed (Store.slack_intend): one daemon posts


async def test_failover_moves_the_source_to_the_survivor(tmp_path: Path) -> None:
    result = await scaleout.failover(tmp_path, server=_server(), trials=1, after=6)
    assert len(result.takeovers) == 1 and len(result.lock_moved) == 1
    assert result.after_stored == result.after_expected == 6


def test_exactly_once_check_catches_a_double_post(tmp_path: Path) -> None:
    platforms = scaleout.Platforms()
    platforms.x.replied = {"101": [1.0, 2.0]}
    keys = {1: ("x", "101")}
    node = scaleout.Node("n", tmp_path, platforms)
    tmp_path.joinpath("daemon.log").write_text('msg="posted mention=1 platform=x url=u"\n')
    with pytest.raises(AssertionError, match="replies received"):
        scaleout.check_exactly_once({("x", "101")}, keys, [1], platforms, [node])
    platforms.x.replied = {"101": [1.0]}
    scaleout.check_exactly_once({("x", "101")}, keys, [1], platforms, [node])
    with pytest.raises(AssertionError, match="stored"):
        scaleout.check_exactly_once({("x", "101"), ("x", "102")}, keys, [1], platforms, [node])
