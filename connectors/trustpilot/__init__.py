"""Trustpilot connector: the ``trustpilot`` source type (``repbot.connectors.trustpilot``).

``config`` holds the options, ``client`` the HTTP side (API key, OAuth token for replies),
``mapping`` turns review objects into mentions, ``connector`` walks each business unit's reviews
and ``simulator`` is a local server speaking the same API for tests, demos and benchmarks.
"""

from .config import TrustpilotConfig
from .connector import TrustpilotConnector

__all__ = ["TrustpilotConfig", "TrustpilotConnector"]
