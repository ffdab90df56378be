"""Mastodon connector: the ``mastodon`` source type (entry point ``…mastodon:MastodonConnector``).

``config`` holds the options, ``client`` the Mastodon.py side (run off the event loop, errors
and rate limits mapped), ``mapping`` turns statuses into mentions, ``connector`` walks the
streams (mention notifications, hashtags, searches), and ``simulator`` is a local instance for
tests, demos and benchmarks.
"""

from .config import MastodonConfig
from .connector import MastodonConnector, MastodonCursor, StreamState
from .mapping import id_at

__all__ = ["MastodonConfig", "MastodonConnector", "MastodonCursor", "StreamState", "id_at"]
