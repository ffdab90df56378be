"""Bluesky connector: the ``bluesky`` source type (entry point ``…bluesky:BlueskyConnector``).

``config`` holds the options, ``client`` the atproto side (AsyncClient, session, errors and
rate limits), ``mapping`` turns notifications and post views into mentions, ``connector``
walks the streams (mention/reply notifications, post searches), and ``simulator`` is a local
PDS/AppView for tests, demos and benchmarks.
"""

from .config import BlueskyConfig
from .connector import BlueskyConnector, BlueskyCursor, StreamState

__all__ = ["BlueskyConfig", "BlueskyConnector", "BlueskyCursor", "StreamState"]
