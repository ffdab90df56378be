"""Google Play connector: the ``google_play`` source type
(entry point ``repbot.connectors.google_play:GooglePlayConnector``).

``config`` holds the options and quota, ``mapping`` turns Android Publisher reviews into
mentions, ``connector`` walks the review list, and ``simulator`` is a local server speaking the
same API (token endpoint included). The HTTP plumbing is shared with ``google_business``
(``repbot.connectors._google``).
"""

from .config import GooglePlayConfig
from .connector import GooglePlayConnector, PlayCursor

__all__ = ["GooglePlayConfig", "GooglePlayConnector", "PlayCursor"]
