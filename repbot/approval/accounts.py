"""Console accounts: names, roles, argon2 password hashes, sign-in checks.

Roles are ordered ``viewer < approver < admin``: a viewer reads the queue, an approver also
decides, an admin also manages accounts. Names are case-insensitive (stored in lower case).
Disabling an account or resetting its password ends all of its sessions at once (the stored
``session_epoch`` grows and every session remembers the epoch it started in).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from repbot.errors import StoreError
from repbot.models import utcnow
from repbot.store.base import Store, UserRecord

Role = Literal["viewer", "approver", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "approver", "admin")
Kind = Literal["account", "slack", "break-glass", "local"]
RESERVED = frozenset({"local", "break-glass", "web", "slack", "operator", "system"})
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


class BadValue(AccountError):
    """A name, role, Slack id or password that is not acceptable."""


def at_least(role: str, needed: Role) -> bool:
    """Whether ``role`` grants what ``needed`` grants (unknown roles grant nothing)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Account:
    """Who is signed in to the console.

    ``kind``: ``account`` (a stored account, ``id`` set), ``slack`` (signed in with Slack
    without a linked account, ``name`` is ``slack:<user id>``), ``break-glass`` (the shared
    token) or ``local`` (the open loopback console while no account exists).
    """

    name: str
    role: Role
    kind: Kind = "account"
    id: int | None = None
    slack_user_id: str | None = None

    @property
    def actor(self) -> str:
        """What the audit trail and decision history record for this person."""
        if self.kind == "account":
            return f"web:{self.name}"
        return self.name

    @property
    def identity(self) -> str:
        """The identity the approval rules see (``web:<name>`` or ``slack:<user id>``)."""
        return self.name if self.kind == "slack" else f"web:{self.name}"

    def can(self, needed: Role) -> bool:
        """Whether this account's role grants ``needed``."""
        return at_least(self.role, needed)

    @classmethod
    def of(cls, user: UserRecord) -> Account:
        """The signed-in form of a stored account."""
        role: Role = user.role if user.role in ROLES else "viewer"  # type: ignore[assignment]
        return cls(user.name, role, "account", user.id, user.slack_user_id)


def check_name(raw: str) -> str:
    """The account name for ``raw`` (lower case); AccountError when it is not one."""
    name = raw.strip().lower()
    if not _NAME.fullmatch(name):
        raise BadValue(
            f"{raw[:60]!r} is not an account name (1-40 of a-z 0-9 . _ -, starting with a"
            " letter or digit)"
        )
    if name in RESERVED:
        raise BadValue(f"{name!r} is reserved; choose another name")
    return name


def check_role(raw: str) -> Role:
    """``raw`` as a role; AccountError otherwise."""
    if raw not in ROLES:
        raise BadValue(f"unknown role {raw[:20]!r} (use {', '.join(ROLES)})")
    return raw  # type: ignore[return-value]


def check_slack_id(raw: str | None) -> str | None:
    """A Slack user id (``U…``/``W…``) or None; AccountError for anything else."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if not _SLACK_ID.fullmatch(value):
        raise BadValue(f"{value[:30]!r} is not a Slack user id (U… or W…)")
    return value


def check_password(password: str) -> str:
    """``password`` when it is acceptable; AccountError (never quoting it) otherwise."""
    if len(password) < MIN_PASSWORD:
        raise BadValue(f"the password is too short (at least {MIN_PASSWORD} characters)")
    if len(password) > MAX_PASSWORD:
        raise BadValue(f"the password is too long (at most {MAX_PASSWORD} characters)")
    if not password.isprintable():
        raise BadValue("the password contains control characters")
    return password


def make_hasher() -> PasswordHasher:
    """The hasher of new passwords: argon2id with argon2-cffi's recommended parameters."""
    return PasswordHasher()


def generate_password() -> str:
    """A random password (about 120 bits) for ``reset`` without a chosen one."""
    return secrets.token_urlsafe(15)


class AccountService:
    """Add, list, disable, reset and verify console accounts in ``store``.

    Every change is audited with the actor ``by``. ``hasher`` defaults to argon2id with
    argon2-cffi's recommended parameters; a hash made with other parameters is replaced at
    the next successful sign-in.
    """

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or make_hasher()
        self._dummy_hash = ""

    @property
    def _dummy(self) -> str:
        """A hash of nothing anyone knows, checked when the name is unknown."""
        if not self._dummy_hash:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def add(
        self,
        name: str,
        password: str,
        role: str,
        *,
        slack_user_id: str | None = None,
        by: str,
    ) -> UserRecord:
        """Create an account; AccountError when a value is refused or the name is taken."""
        name, valid_role = check_name(name), check_role(role)
        slack_id = check_slack_id(slack_user_id)
        digest = self.hasher.hash(check_password(password))
        try:
            user = self.store.user_add(name, valid_role, digest, slack_id)
        except StoreError as exc:
            raise AccountError(str(exc)) from exc
        self.store.audit("account_added", by, None, account=name, role=valid_role)
        return user

    def get(self, name: str) -> UserRecord:
        """The account called ``name``; AccountError when there is none."""
        user = self.store.user_get(name.strip().lower())
        if user is None:
            raise AccountError(f"no account named {name.strip()[:40]!r}")
        return user

    def list(self, after_id: int = 0, limit: int = 100) -> list[UserRecord]:
        """One page of accounts by id (pass the last id seen as ``after_id``)."""
        return self.store.users(after_id, limit)

    def disable(self, name: str, *, by: str) -> UserRecord:
        """Disable ``name`` and end its sessions now."""
        user = self.store.user_update(self.get(name).id, disabled=True, end_sessions=True)
        self.store.audit("account_disabled", by, None, account=user.name)
        return user

    def enable(self, name: str, *, by: str) -> UserRecord:
        """Enable ``name`` again (its old sessions stay ended)."""
        user = self.store.user_update(self.get(name).id, disabled=False)
        self.store.audit("account_enabled", by, None, account=user.name)
        return user

    def reset(self, name: str, password: str, *, by: str) -> UserRecord:
        """Give ``name`` a new password and end its sessions now."""
        user = self.get(name)
        digest = self.hasher.hash(check_password(password))
        user = self.store.user_update(user.id, password_hash=digest, end_sessions=True)
        self.store.audit("account_reset", by, None, account=user.name)
        return user

    def verify(self, name: str, password: str) -> UserRecord | None:
        """The enabled account ``name`` when ``password`` is its password, else None.

        An unknown name costs one hash check too, so timing does not tell which names exist.
        """
        user = self.store.user_get(name.strip().lower()) if len(password) <= MAX_PASSWORD else None
        digest = user.password_hash if user and user.password_hash else self._dummy
        try:
            self.hasher.verify(digest, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.password_hash or user.disabled:
            return None
        if self.hasher.check_needs_rehash(digest):
            user = self.store.user_update(user.id, password_hash=self.hasher.hash(password))
        self.store.user_logged_in(user.id, utcnow())
        return user
