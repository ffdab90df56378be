"""Local simulators of the platform APIs repbot's connectors use (for tests, demo, benchmarks).

>>> async with XSimulator() as x, RedditSimulator() as reddit:   # doctest: +SKIP
...     x.seed_mentions(100)
...     options = {"api_base_url": x.url, **x.credentials(), "brand_username": "acme"}
"""

from repbot.testing.simulators._server import RecordedRequest, Reply, SimulatorServer
from repbot.testing.simulators.harness import Drained, poll
from repbot.testing.simulators.reddit import RedditSimulator
from repbot.testing.simulators.x import XSimulator

__all__ = [
    "Drained",
    "RecordedRequest",
    "RedditSimulator",
    "Reply",
    "SimulatorServer",
    "XSimulator",
    "poll",
]
