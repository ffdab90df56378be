"""Run the platform simulators as a standalone process (for demos and manual testing).

``python -m repbot.connectors.simulators --seed 50 --only x,bluesky,rss`` starts the chosen
simulators (all of them by default), seeds each with mentions or reviews, prints the ``sources:``
block to paste into repbot.yaml and serves until interrupted. Simulator *i* of :data:`NAMES`
listens on ``--base-port`` + *i* (0: any free port; ``--x-port`` and ``--reddit-port`` still
set those two); ``--trickle SECONDS`` adds a new item on each platform at that interval so a
running daemon has something to pick up. Google Play needs a service-account key file: it is
written to ``--state-dir`` (default: a temporary folder removed on exit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from repbot.testing.server import SimulatorServer

UNIT = "5f0000000000000000000u01"
APP = "1234567890"
BUSINESSES = ("acme-coffee-sf", "acme-coffee-oakland")
FEED = "acme-news"


@dataclass
class Running:
    """A started simulator: its source options and how to add one more item."""

    options: dict[str, Any]
    trickle: Callable[[int], object]


def _x(sim: Any, seed: int, state: Path) -> Running:
    sim.seed_mentions(seed, keyword="#acmefail", spread_seconds=1800)

    def more(n: int) -> None:
        sim.add_tweet(f"@acme still waiting on my refund ({n})", author=f"fan{n}")

    options = {"api_base_url": sim.url, "brand_username": "acme", **sim.credentials()}
    return Running(options, more)


def _reddit(sim: Any, seed: int, state: Path) -> Running:
    sim.seed_mentions(seed, spread_seconds=1800)

    def more(n: int) -> None:
        post = sim.add_submission(f"acme refund still missing ({n})")
        sim.add_comment("same here, acme never answers", parent=post)

    options = {**sim.credentials(), "subreddits": ["acme"], "backfill_limit": 100}
    return Running(options, more)


def _google_business(sim: Any, seed: int, state: Path) -> Running:
    sim.seed_reviews(seed)
    return Running(sim.credentials(), lambda n: sim.seed_reviews(1, spread_seconds=1.0))


def _google_play(sim: Any, seed: int, state: Path) -> Running:
    sim.seed_reviews(seed)
    options = sim.credentials(state / "google-play-key.json")
    return Running(options, lambda n: sim.seed_reviews(1, spread_seconds=1.0))


def _trustpilot(sim: Any, seed: int, state: Path) -> Running:
    sim.seed(UNIT, seed)
    options = {"api_base_url": sim.url, "business_unit_ids": [UNIT], **sim.credentials()}
    return Running(options, lambda n: sim.add_review(UNIT, 1, f"Still no refund ({n})."))


def _yelp(sim: Any, seed: int, state: Path) -> Running:
    for business in BUSINESSES:
        sim.seed(business, seed)
    options = {"api_base_url": sim.url, "business_ids": list(BUSINESSES), **sim.credentials()}
    return Running(options, lambda n: sim.add_review(BUSINESSES[n % 2], 1, f"Cold coffee ({n})."))


def _app_store(sim: Any, seed: int, state: Path) -> Running:
    sim.seed(APP, seed)
    options = {"api_base_url": sim.url, "app_ids": [APP], **sim.credentials()}
    return Running(options, lambda n: sim.add_review(APP, 1, f"Crashes on launch ({n})."))


def _hackernews(sim: Any, seed: int, state: Path) -> Running:
    story = sim.seed(max(seed, 1), "Acme")[0]
    options = {"api_base_url": sim.url, "queries": ["acme"]}
    return Running(options, lambda n: sim.add_comment(story, f"Acme lost my order ({n})."))


def _rss(sim: Any, seed: int, state: Path) -> Running:
    sim.add_feed(FEED)
    sim.seed(FEED, seed)
    options = {"api_base_url": sim.url, "feeds": [sim.feed_path(FEED)]}
    return Running(options, lambda n: sim.add_entry(FEED, f"Acme recall, update {n}"))


def _social(sim: Any, seed: int, state: Path) -> Running:
    sim.seed_mentions(seed)
    return Running(sim.options(), lambda n: sim.seed_mentions(1))


SIMULATORS: dict[str, tuple[str, Callable[[Any, int, Path], Running]]] = {
    "x": ("repbot.connectors.x.simulator:XSimulator", _x),
    "reddit": ("repbot.connectors.reddit.simulator:RedditSimulator", _reddit),
    "google_business": (
        "repbot.connectors.google_business.simulator:GoogleBusinessSimulator",
        _google_business,
    ),
    "google_play": ("repbot.connectors.google_play.simulator:GooglePlaySimulator", _google_play),
    "trustpilot": ("repbot.connectors.trustpilot.simulator:TrustpilotSimulator", _trustpilot),
    "yelp": ("repbot.connectors.yelp.simulator:YelpSimulator", _yelp),
    "app_store": ("repbot.connectors.app_store.simulator:AppStoreSimulator", _app_store),
    "hackernews": ("repbot.connectors.hackernews.simulator:HackerNewsSimulator", _hackernews),
    "rss": ("repbot.connectors.rss.simulator:RssSimulator", _rss),
    "mastodon": ("repbot.connectors.mastodon.simulator:MastodonSimulator", _social),
    "bluesky": ("repbot.connectors.bluesky.simulator:BlueskySimulator", _social),
}
"""Simulator class (imported only when chosen) and set-up, by source type."""
NAMES = tuple(SIMULATORS)


def _only(value: str) -> list[str]:
    chosen = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(SIMULATORS))
    if unknown or not chosen:
        known = ", ".join(NAMES)
        raise argparse.ArgumentTypeError(f"unknown simulator {', '.join(unknown)}; known: {known}")
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m repbot.connectors.simulators")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--only", type=_only, default=list(NAMES), help="NAME,... to run")
    parser.add_argument("--base-port", type=int, default=8701, help="0: any free port")
    parser.add_argument("--x-port", type=int, default=None)
    parser.add_argument("--reddit-port", type=int, default=None)
    parser.add_argument("--seed", type=int, default=50, help="items seeded per platform")
    parser.add_argument("--trickle", type=float, default=0.0, help="seconds between new items")
    parser.add_argument("--state-dir", type=Path, default=None, help="where key files go")
    return parser


def port_of(args: argparse.Namespace, name: str) -> int:
    """The port simulator ``name`` listens on."""
    explicit = {"x": args.x_port, "reddit": args.reddit_port}.get(name)
    if explicit is not None:
        return int(explicit)
    return 0 if args.base_port == 0 else args.base_port + NAMES.index(name)


def _simulator(name: str, host: str, port: int) -> SimulatorServer:
    module, _, cls = SIMULATORS[name][0].partition(":")
    server = getattr(__import__(module, fromlist=[cls]), cls)(host=host, port=port)
    assert isinstance(server, SimulatorServer)
    return server


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (a PEM key) as literal blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def sources_yaml(options: dict[str, dict[str, Any]]) -> str:
    """The ``sources:`` block naming each simulator's source ``sim-<type>``."""
    sources = [{"name": f"sim-{n}", "type": n, **o} for n, o in options.items()]
    return yaml.dump({"sources": sources}, Dumper=_Dumper, sort_keys=False, width=100)


@contextlib.contextmanager
def _state_dir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="repbot-sim-") as tmp:
        yield Path(tmp)


async def serve(args: argparse.Namespace) -> None:
    """Start the chosen simulators, print their ``sources:`` block, serve until cancelled."""
    with _state_dir(args.state_dir) as state:
        async with contextlib.AsyncExitStack() as stack:
            running: dict[str, Running] = {}
            for name in args.only:
                sim = _simulator(name, args.host, port_of(args, name))
                await stack.enter_async_context(sim)
                running[name] = SIMULATORS[name][1](sim, args.seed, state)
            print(sources_yaml({n: r.options for n, r in running.items()}), flush=True)
            print("# serving; interrupt (Ctrl-C) to stop", flush=True)
            count = 0
            while True:
                await asyncio.sleep(args.trickle or 3600)
                if args.trickle:
                    count += 1
                    for item in running.values():
                        item.trickle(count)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m repbot.connectors.simulators``."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
