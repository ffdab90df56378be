"""Run the X and Reddit simulators as a standalone process (for demos and manual testing).

``python -m repbot.connectors.simulators --x-port 8701 --reddit-port 8702 --seed 200`` prints the
source options to paste into repbot.yaml and serves until interrupted; ``--trickle SECONDS`` adds
a new mention on each platform at that interval so a running daemon has something to pick up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from repbot.connectors.reddit.simulator import RedditSimulator
from repbot.connectors.x.simulator import XSimulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m repbot.connectors.simulators")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--x-port", type=int, default=8701)
    parser.add_argument("--reddit-port", type=int, default=8702)
    parser.add_argument("--seed", type=int, default=50, help="mentions seeded per platform")
    parser.add_argument("--trickle", type=float, default=0.0, help="seconds between new mentions")
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Start both simulators, print their connector options, serve until cancelled."""
    async with (
        XSimulator(host=args.host, port=args.x_port) as x,
        RedditSimulator(host=args.host, port=args.reddit_port) as reddit,
    ):
        x.seed_mentions(args.seed, keyword="#acmefail", spread_seconds=1800)
        reddit.seed_mentions(args.seed, spread_seconds=1800)
        x_options = {
            "type": "x",
            "api_base_url": x.url,
            "brand_username": "acme",
            **x.credentials(),
        }
        reddit_options = {"type": "reddit", **reddit.credentials(), "subreddits": ["acme"]}
        print(json.dumps({"x": x_options, "reddit": reddit_options}, indent=2), flush=True)
        count = 0
        while True:
            await asyncio.sleep(args.trickle or 3600)
            if args.trickle:
                count += 1
                x.add_tweet(f"@acme still waiting on my refund ({count})", author=f"fan{count}")
                post = reddit.add_submission(f"acme refund still missing ({count})")
                reddit.add_comment("same here, acme never answers", parent=post)


def main() -> None:
    """Entry point of ``python -m repbot.connectors.simulators``."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
