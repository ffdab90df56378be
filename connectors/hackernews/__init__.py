"""Hacker News connector: the ``hackernews`` source type (``repbot.connectors.hackernews``).

``config`` holds the options, ``client`` the Algolia HN Search call, ``mapping`` turns hits
(stories and comments) into mentions, ``connector`` runs one stream per query, and
``simulator`` is a local server speaking the same API. Hacker News has no reply API.
"""

from .config import HackerNewsConfig
from .connector import HackerNewsConnector

__all__ = ["HackerNewsConfig", "HackerNewsConnector"]
