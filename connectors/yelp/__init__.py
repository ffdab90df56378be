"""Yelp connector: the ``yelp`` source type (``repbot.connectors.yelp``).

``config`` holds the options, ``client`` the Fusion API call, ``mapping`` turns review excerpts
into mentions, ``connector`` polls each business, and ``simulator`` is a local server speaking the
same API. Yelp has no reply API: replies are posted by hand from the link.
"""

from .config import YelpConfig
from .connector import YelpConnector

__all__ = ["YelpConfig", "YelpConnector"]
