"""Every exception repbot raises, in one tree (the CLI maps them to exit codes)."""

from __future__ import annotations


class RepbotError(Exception):
    """Base class of every error repbot raises on purpose."""


class ConfigError(RepbotError):
    """The configuration is invalid; ``problems`` lists every issue found."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(problems))


class StoreError(RepbotError):
    """The store cannot be opened or a state transition is not allowed."""


class InvalidTransition(StoreError):
    """A mention was asked to move along an edge the state machine does not have."""


class ModelError(RepbotError):
    """A model (classifier, encoder) is missing or cannot be loaded."""


class ConnectorError(RepbotError):
    """A source failed; subclasses tell the runner what to do about it."""


class TransientError(ConnectorError):
    """Temporary failure (network, 5xx): back off with jitter and retry."""


class RateLimited(ConnectorError):
    """The platform asked us to wait; ``retry_after`` is in seconds when known."""

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class AuthError(ConnectorError):
    """Credentials are wrong, revoked or lack access: disable the source and alert."""


class MalformedRecord(ConnectorError):
    """One record from a platform cannot be parsed; it is logged, counted and skipped."""


class PostError(RepbotError):
    """Posting a reply failed; ``transient`` says whether a retry may succeed."""

    def __init__(self, message: str, transient: bool = True) -> None:
        self.transient = transient
        super().__init__(message)
