"""The stored form of a console account (section 13A of the Store interface)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UserRecord:
    """One console account as stored.

    ``password_hash`` is an argon2 hash (empty: no password, Slack sign-in only);
    ``session_epoch`` grows whenever every session of the account must end (disable, reset).
    """

    id: int
    name: str
    role: str
    password_hash: str
    slack_user_id: str | None
    disabled: bool
    session_epoch: int
    created_at: datetime
    last_login_at: datetime | None
