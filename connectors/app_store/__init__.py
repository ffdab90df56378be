"""App Store connector: the ``app_store`` source type (``repbot.connectors.app_store``).

``config`` holds the options, ``client`` the App Store Connect API (ES256 tokens from a .p8 key),
``mapping`` turns customer reviews and their responses into mentions, ``connector`` walks each
app's reviews and posts responses, and ``simulator`` is a local server speaking the same API.
"""

from .config import AppStoreConfig
from .connector import AppStoreConnector

__all__ = ["AppStoreConfig", "AppStoreConnector"]
