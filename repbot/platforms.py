"""The platform registry: the one place each platform's facts live.

A :class:`Platform` says how long a reply may be and how the platform counts it, how its
handles look and how a reply names one, whether repbot can post there and which template
family (``social``, ``forum``, ``review``, ``other``) it falls back to. Connectors contribute
the platforms they serve (``Connector.platforms``, registered when the class is defined and
loaded from the ``repbot.connectors`` entry points on first use). A platform no connector
declares (a file import of something new) gets the defaults: "other" family, no handles, no
replies.
Config validation, reply limits, templates and the Slack cards all read from here.

Handles come from the platform (or from a webhook or a file), so they are untrusted text. A
reply only addresses someone whose handle matches their platform's syntax; anything else
(markup, spaces, control characters, a mass mention) is never put in front of a reply.

- x: ``@name``, 1-15 letters, digits or underscores (X's username rules).
- reddit: ``u/name``, 3-20 letters, digits, ``_`` or ``-``.
- mastodon: ``@user`` or ``@user@domain``; a user is letters, digits and ``_``, inner dots
  and dashes allowed, at most 30; the domain a host name.
- bluesky: ``@handle`` where the handle is a domain name (``alice.bsky.social``), at most
  253 characters, labels of letters, digits and inner dashes, the last not all digits.
- hackernews: a user name of 2-15 letters, digits, ``_`` or ``-``, written without a prefix.
- Reviews (Google, Trustpilot, Yelp, App Store, Google Play) and every other platform: no
  address at all; a display name is not a handle.
- Everywhere: names that notify a crowd (``everyone``, ``here``, ``channel``...) are refused.

Where each reply limit comes from is documented in :mod:`repbot.respond.limits`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from repbot.errors import ConfigError

log = logging.getLogger(__name__)
Unit = Literal["chars", "weighted", "utf8", "graphemes"]
Family = Literal["social", "forum", "review", "other"]
FAMILIES: tuple[Family, ...] = ("social", "forum", "review", "other")


RESERVED = frozenset({"everyone", "here", "channel", "all", "admin", "moderators"})
"""Names that notify a crowd somewhere (Slack, Discord, Reddit): never an address."""


@dataclass(frozen=True)
class Limit:
    """A platform's maximum reply length and how the platform counts it."""

    chars: int
    unit: Unit = "chars"
    url_length: int | None = None


DEFAULT_LIMIT = Limit(1_000)
"""A readable length for platforms without a known limit (posted by hand)."""


@dataclass(frozen=True)
class HandleSyntax:
    """How a platform's handles look and how a reply names one (``{handle}`` in ``address``).

    ``prefixes`` are stripped (in order) after a leading ``@``; ``valid`` is an extra rule
    the whole name must pass.
    """

    pattern: re.Pattern[str]
    address: str
    max_length: int
    prefixes: tuple[str, ...] = ()
    valid: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Platform:
    """Everything repbot knows about one platform."""

    name: str
    family: Family = "other"
    limit: Limit = DEFAULT_LIMIT
    handle: HandleSyntax | None = None
    can_reply: bool = False
    emoji: str = ":globe_with_meridians:"


_registry: dict[str, Platform] = {}
_contributions_loaded = False


def register_platform(entry: Platform) -> Platform:
    """Add ``entry`` to the registry.

    Registering the same definition twice is harmless; two different definitions of one
    name are a ConfigError.
    """
    known = _registry.get(entry.name)
    if known is not None and known != entry:
        raise ConfigError([f"platform {entry.name!r} is declared twice, differently"])
    _registry[entry.name] = entry
    return entry


def _load_contributions() -> None:
    """Import every installed connector once, so that its platforms are registered."""
    global _contributions_loaded
    if _contributions_loaded:
        return
    _contributions_loaded = True
    from repbot.connector import registry

    for name, entry_point in sorted(registry().items()):
        try:
            entry_point.load()
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the others
            log.warning("connector %s did not load, its platforms are unknown: %s", name, exc)


def platform(name: str) -> Platform:
    """The registered platform ``name``; an unknown one gets the generic defaults."""
    _load_contributions()
    return _registry.get(name) or Platform(name)


def is_known(name: str) -> bool:
    """Whether ``name`` is a registered platform."""
    _load_contributions()
    return name in _registry


def platforms() -> tuple[Platform, ...]:
    """Every registered platform, by name."""
    _load_contributions()
    return tuple(_registry[n] for n in sorted(_registry))


def names() -> tuple[str, ...]:
    """The names of every registered platform, sorted."""
    return tuple(p.name for p in platforms())


def family(name: str) -> Family:
    """The template family ``name`` falls back to (``other`` when unknown)."""
    return platform(name).family


def handle(platform_name: str, raw: str | None) -> str | None:
    """``raw`` without its ``@``/``u/`` prefix when it is a valid handle on ``platform_name``.

    None for a handle that does not match the platform's syntax and for platforms where
    people are not addressed by handle (reviews, unknown platforms).
    """
    syntax = platform(platform_name).handle
    if syntax is None or not raw:
        return None
    name = raw.strip().removeprefix("@")
    for prefix in syntax.prefixes:
        name = name.removeprefix(prefix)
    if len(name) > syntax.max_length or not syntax.pattern.fullmatch(name):
        return None
    if name.lower() in RESERVED:
        return None
    if syntax.valid is not None and not syntax.valid(name):
        return None
    return name


def mention_of(platform_name: str, raw: str | None) -> str | None:
    """How a reply on ``platform_name`` names the author (``@dana``, ``u/dana``), or None."""
    name = handle(platform_name, raw)
    syntax = platform(platform_name).handle
    return syntax.address.format(handle=name) if name and syntax else None
