"""The connector contract: one small class per platform.

A connector turns a platform's API into :class:`~repbot.models.Page` objects. It never sleeps,
retries, dedupes or writes to the database; the runner (:mod:`repbot.runner`) does that, so
every source gets the same backoff, rate-limit waits, cursor persistence and error policy.
Connectors raise :class:`~repbot.errors.TransientError`, :class:`~repbot.errors.RateLimited`
or :class:`~repbot.errors.AuthError` and count unparseable records in ``Page.malformed``.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from repbot.errors import ConfigError
from repbot.models import Mention, Page, PostedReply
from repbot.platforms import Platform, register_platform


class ConnectorConfig(BaseModel):
    """Base of every connector's nested ``Config``: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid")


class Connector:
    """Base class for platform connectors.

    Subclasses set ``type_name``, ``platform``, a nested ``Config`` model and implement
    :meth:`fetch`. Platforms that can post implement :meth:`reply` and
    :meth:`find_reply` (used to reconcile a post whose result was lost). ``platforms``
    declares the platforms the connector serves (reply limit, handle syntax, family): they
    join the registry of :mod:`repbot.platforms` when the class is defined.
    """

    type_name: ClassVar[str] = ""
    platform: ClassVar[str] = ""
    platforms: ClassVar[tuple[Platform, ...]] = ()
    can_reply: ClassVar[bool] = False
    accepts_push: ClassVar[bool] = False
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for entry in cls.__dict__.get("platforms", ()):
            register_platform(entry)

    def __init__(self, name: str, config: ConnectorConfig) -> None:
        self.name = name
        self.config = config
        self.base_dir = Path.cwd()

    async def fetch(self, cursor: str | None) -> Page:
        """Return the mentions newer than ``cursor`` (``None`` on the first run)."""
        raise NotImplementedError

    async def reply(self, mention: Mention, text: str, idempotency_key: str) -> PostedReply:
        """Post ``text`` as a reply to ``mention``; raise PostError on failure."""
        raise NotImplementedError(f"{self.type_name} cannot post replies")

    async def find_reply(self, mention: Mention, idempotency_key: str) -> PostedReply | None:
        """Look for a reply we may already have posted (after a crash); ``None`` if absent."""
        return None

    def receive(self, headers: dict[str, str], body: bytes) -> Page:
        """Mentions pushed to ``/webhooks/{name}`` (push sources only).

        Raise AuthError for an unauthenticated request and MalformedRecord for a body that
        cannot be read at all; count individual bad records in ``Page.malformed``.
        """
        raise NotImplementedError(f"{self.type_name} does not accept pushed mentions")

    def monthly_post_cap(self) -> int | None:
        """Most replies this source may post per calendar month (``None``: no cap)."""
        return None

    async def aclose(self) -> None:
        """Release network resources."""

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def registry() -> dict[str, EntryPoint]:
    """Connector entry points registered under ``repbot.connectors``, by type name (not loaded)."""
    return {ep.name: ep for ep in entry_points(group="repbot.connectors")}


def connector_class(type_name: str) -> type[Connector]:
    """The connector class registered as ``type_name`` (imported on demand)."""
    known = registry()
    if type_name not in known:
        raise ConfigError([f"unknown source type {type_name!r}; known: {', '.join(sorted(known))}"])
    cls = known[type_name].load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError([f"entry point {type_name!r} is not a Connector subclass"])
    return cls
