"""RSS/Atom connector: the ``rss`` source type (entry point ``repbot.connectors.rss:RssConnector``).

``config`` holds the options, ``client`` the conditional GET (aiohttp, ETag and
Last-Modified), ``mapping`` turns feedparser entries into mentions, ``connector`` walks the
feeds, and ``simulator`` serves feeds locally for tests, demos and benchmarks.
"""

from .config import RssConfig
from .connector import FeedState, RssConnector, RssCursor
from .mapping import html_text

__all__ = ["FeedState", "RssConfig", "RssConnector", "RssCursor", "html_text"]
