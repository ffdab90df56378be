"""Reddit connector: the ``reddit`` source type (``repbot.connectors.reddit:RedditConnector``).

``config`` holds the options, ``client`` the HTTP side (a prawcore requestor that fails fast),
``mapping`` turns listing children into mentions, ``connector`` walks the listings, and
``simulator`` is a local server speaking the same API for tests, demos and benchmarks.
"""

from .config import RedditConfig
from .connector import RedditConnector, RedditCursor, StreamState

__all__ = ["RedditConfig", "RedditConnector", "RedditCursor", "StreamState"]
