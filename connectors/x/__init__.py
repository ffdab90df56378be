"""X (Twitter) connector: the ``x`` source type (entry point ``repbot.connectors.x:XConnector``).

``config`` holds the options and tier limits, ``client`` the HTTP side (tweepy, errors, rate
budgets), ``mapping`` turns v2 post objects into mentions, ``connector`` walks the streams, and
``simulator`` is a local server speaking the same API for tests, demos and benchmarks.
"""

from .config import TIERS, TierLimits, XConfig
from .connector import StreamState, XConnector, XCursor
from .mapping import snowflake_at

__all__ = ["TIERS", "StreamState", "TierLimits", "XConfig", "XConnector", "XCursor", "snowflake_at"]
