"""repbot: reputation monitoring and human-approved replies.

The core (this package) holds no platform-specific code; connectors live in
``repbot.connectors`` (the top-level connectors/ folder) and prompts in ``repbot.prompts``.
"""

__version__ = "0.1.0"
