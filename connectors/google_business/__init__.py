"""Google Business Profile connector: the ``google_business`` source type
(entry point ``repbot.connectors.google_business:GoogleBusinessConnector``).

``config`` holds the options, ``discovery`` the v4 reviews discovery document, ``mapping``
turns reviews into mentions, ``connector`` walks the locations, and ``simulator`` is a local
server speaking the same APIs. The HTTP side (errors, budgets, the worker thread) is shared
with ``google_play`` in ``repbot.connectors._google``.
"""

from .config import GoogleBusinessConfig
from .connector import BusinessCursor, GoogleBusinessConnector

__all__ = ["BusinessCursor", "GoogleBusinessConfig", "GoogleBusinessConnector"]
