"""Generic test fixtures shipped with repbot: a pytest plugin, fakes, the simulator server base,
the poll harness, a fake Slack and approval-flow helpers. Platform simulators live next to their
connectors (``repbot.connectors.<name>.simulator``)."""
