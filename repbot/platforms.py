"""What each platform accepts as an address: the one place "@handle" syntax is known.

A handle comes from the platform (or from a webhook or a file), so it is untrusted text. A
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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
_MASTODON_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,28}[A-Za-z0-9_])?"


RESERVED = frozenset({"everyone", "here", "channel", "all", "admin", "moderators"})
"""Names that notify a crowd somewhere (Slack, Discord, Reddit): never an address."""


@dataclass(frozen=True)
class HandleSyntax:
    """How a platform's handles look and how a reply names one (``{handle}`` in ``address``)."""

    pattern: re.Pattern[str]
    address: str
    max_length: int


HANDLES: dict[str, HandleSyntax] = {
    "x": HandleSyntax(re.compile(r"[A-Za-z0-9_]{1,15}"), "@{handle}", 15),
    "reddit": HandleSyntax(re.compile(r"[A-Za-z0-9_-]{3,20}"), "u/{handle}", 20),
    "mastodon": HandleSyntax(re.compile(rf"{_MASTODON_USER}(?:@{_DOMAIN})?"), "@{handle}", 284),
    "bluesky": HandleSyntax(re.compile(_DOMAIN), "@{handle}", 253),
    "hackernews": HandleSyntax(re.compile(r"[A-Za-z0-9_-]{2,15}"), "{handle}", 15),
}


def handle(platform: str, raw: str | None) -> str | None:
    """``raw`` without its ``@``/``u/`` prefix when it is a valid handle on ``platform``.

    None for a handle that does not match the platform's syntax and for platforms where
    people are not addressed by handle (reviews, unknown platforms).
    """
    syntax = HANDLES.get(platform)
    if syntax is None or not raw:
        return None
    name = raw.strip().removeprefix("@")
    if platform == "reddit":
        name = name.removeprefix("/").removeprefix("u/")
    if len(name) > syntax.max_length or not syntax.pattern.fullmatch(name):
        return None
    if name.lower() in RESERVED:
        return None
    if platform == "bluesky" and name.rsplit(".", 1)[-1].isdigit():
        return None
    return name


def mention_of(platform: str, raw: str | None) -> str | None:
    """How a reply on ``platform`` names the author (``@dana``, ``u/dana``), or None."""
    name = handle(platform, raw)
    return HANDLES[platform].address.format(handle=name) if name else None
