"""Platform connectors, installed as ``repbot.connectors`` (the top-level connectors/ folder).

Each module holds one platform's :class:`repbot.connector.Connector` subclass, registered by
name in the ``repbot.connectors`` entry-point group (see pyproject.toml).
"""
