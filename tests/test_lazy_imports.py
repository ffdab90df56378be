"""Connectors import their client libraries only for the sources that are configured.

The platform registry loads every installed connector class (for ``Connector.platforms``);
that must not pull atproto, Mastodon.py, praw, tweepy, googleapiclient, feedparser or PyJWT
into every process. Building a source (what the daemon does at start-up) loads its library.
Each check runs in a fresh interpreter so nothing another test imported can hide an import.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from repbot.config import Config, build_source, parse_config
from repbot.connectors import simulators

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD = 300.0
CLIENT_LIBRARIES = (
    "atproto",
    "atproto_client",
    "mastodon",
    "praw",
    "prawcore",
    "asyncpraw",
    "tweepy",
    "googleapiclient",
    "google.auth",
    "google.oauth2",
    "google_auth_httplib2",
    "httplib2",
    "feedparser",
    "jwt",
)


def _run(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "did not load" not in done.stderr, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_platform_registry_imports_no_client_library() -> None:
    result = _run(
        f"""
        import json, sys
        from repbot import platforms
        from repbot.connector import connector_class, registry

        platforms.platforms()
        declared = {{}}
        for type_name in sorted(registry()):
            for entry in connector_class(type_name).platforms:
                declared[entry.name] = platforms.platform(entry.name) == entry
        loaded = sorted(m for m in {CLIENT_LIBRARIES!r} if m in sys.modules)
        print(json.dumps({{"loaded": loaded, "declared": declared}}))
        """
    )
    assert result["loaded"] == []
    declared = result["declared"]
    assert isinstance(declared, dict)
    # every connector's own declaration is in the registry (not a generic default)
    assert {"x", "reddit", "bluesky", "mastodon", "rss", "app_store", "yelp"} <= set(declared)
    assert all(declared.values()), declared


def test_building_a_source_imports_its_library_and_no_other() -> None:
    result = _run(
        """
        import json, sys
        from repbot.config import Config, build_source, parse_config

        def have(*names):
            return {n: n in sys.modules for n in names}

        config = parse_config('''
        sources:
          - name: sky
            type: bluesky
            handle: acme.bsky.social
            app_password: not-a-real-password
          - name: news
            type: rss
            feeds: ["https://news.example/feed.xml"]
        ''')
        steps = {"parsed": have("atproto", "feedparser")}
        build_source(config, "sky")
        steps["bluesky built"] = have("atproto", "feedparser", "mastodon", "tweepy", "praw")
        build_source(config, "news")
        steps["rss built"] = have("feedparser")
        print(json.dumps(steps))
        """
    )
    assert result == {
        "parsed": {"atproto": False, "feedparser": False},
        "bluesky built": {
            "atproto": True,
            "feedparser": False,
            "mastodon": False,
            "tweepy": False,
            "praw": False,
        },
        "rss built": {"feedparser": True},
    }


# ---- the standalone simulator runner --------------------------------------------------------


async def _printed(out: io.StringIO, task: asyncio.Task[None]) -> str:
    """Wait (hang guard only) until the runner has printed its sources block."""
    async with asyncio.timeout(HANG_GUARD):
        while "# serving" not in out.getvalue():
            assert not task.done(), task.exception() if task.done() else None
            await asyncio.sleep(0.05)
    return out.getvalue()


@contextlib.asynccontextmanager
async def _serving(tmp_path: Path) -> AsyncIterator[Config]:
    """Every simulator running (any free ports); yields the config its printed block makes."""
    args = simulators._parser().parse_args(
        ["--base-port", "0", "--seed", "3", "--state-dir", str(tmp_path)]
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        task = asyncio.create_task(simulators.serve(args))
        try:
            yield parse_config(await _printed(out, task), "simulators output")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_every_simulator_prints_sources_the_config_loader_accepts(tmp_path: Path) -> None:
    async with _serving(tmp_path) as config:
        assert [s.type for s in config.sources] == list(simulators.NAMES)
    assert set(simulators.NAMES) == {
        "x",
        "reddit",
        "google_business",
        "google_play",
        "trustpilot",
        "yelp",
        "app_store",
        "hackernews",
        "rss",
        "mastodon",
        "bluesky",
    }


@pytest.mark.slow
async def test_every_printed_source_reads_its_simulators_items(tmp_path: Path) -> None:
    async with _serving(tmp_path) as config:
        for source in config.sources:
            async with build_source(config, source.name) as connector:
                page = await connector.fetch(None)
            assert page.mentions, f"{source.type}: nothing read from its simulator"


def test_only_runs_the_named_simulators_and_stops_on_interrupt() -> None:
    command = [sys.executable, "-m", "repbot.connectors.simulators", "--base-port", "0"]
    runner = subprocess.Popen(
        [*command, "--only", "rss,hackernews", "--seed", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None
        lines = []
        for line in runner.stdout:
            if line.startswith("# serving"):
                break
            lines.append(line)
        block = yaml.safe_load("".join(lines))
        assert [s["type"] for s in block["sources"]] == ["rss", "hackernews"]
        parse_config("".join(lines))
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=HANG_GUARD) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=HANG_GUARD)


def test_only_refuses_an_unknown_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        simulators._parser().parse_args(["--only", "rss,myspace"])
    assert exited.value.code == 2
    assert "unknown simulator myspace; known: x, reddit" in capsys.readouterr().err
