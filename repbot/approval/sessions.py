"""Console sessions kept server-side (revocable, restart-proof) and the login throttle.

A signed-in session remembers whose it is: the account id and the account's session epoch
(``kind`` ``account``), a Slack user signed in without an account (``slack``, with the role
derived at sign-in) or the break-glass token (``break-glass``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from repbot.store.base import Store

_SESSIONS_KEY = "console:sessions"
_MAX_SESSIONS = 1000
LOGIN_FAILURES = 5
"""Failed logins allowed per address, and per name, within :data:`LOGIN_WINDOW`."""
LOGIN_WINDOW = 300.0


@dataclass(frozen=True)
class Session:
    """A console visitor: ``sid`` keys the CSRF token; ``authed`` once logged in.

    ``kind``, ``user_id``, ``epoch`` and ``role`` say who is signed in (see the module).
    """

    sid: str
    name: str
    authed: bool
    expires: float
    kind: str = ""
    user_id: int | None = None
    epoch: int = 0
    role: str = ""


class LoginThrottle:
    """Failed logins per client address and per submitted name, in a sliding window.

    After ``limit`` failures within ``window`` seconds from one address, or for one name, every
    further attempt is refused without checking the token until the oldest of those failures
    leaves the window. At most ``max_entries`` keys are kept (the least recently failed go).
    """

    def __init__(
        self,
        *,
        limit: int = LOGIN_FAILURES,
        window: float = LOGIN_WINDOW,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_entries, self.clock = limit, window, max_entries, clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, address: str, name: str) -> int:
        """Whole seconds until ``name`` may try to log in from ``address`` (0: now)."""
        now = self.clock()
        return max(self._wait(key, now) for key in _throttle_keys(address, name))

    def _wait(self, key: str, now: float) -> int:
        recent = [t for t in self._failures.get(key, ()) if t > now - self.window]
        if len(recent) < self.limit:
            return 0
        return max(1, math.ceil(recent[-self.limit] + self.window - now))

    def failed(self, address: str, name: str) -> None:
        """Count one failed login."""
        now = self.clock()
        for key in _throttle_keys(address, name):
            recent = [t for t in self._failures.pop(key, []) if t > now - self.window]
            self._failures[key] = [*recent, now][-self.limit :]
        while len(self._failures) > self.max_entries:
            self._failures.popitem(last=False)

    def succeeded(self, address: str, name: str) -> None:
        """Forget the failures of ``address`` and ``name`` after a good login."""
        for key in _throttle_keys(address, name):
            self._failures.pop(key, None)


def _throttle_keys(address: str, name: str) -> tuple[str, str]:
    return f"addr:{address}", f"name:{name.strip().casefold()}"


class SessionStore:
    """Logged-in console sessions, in the store's key-value area (so a restart keeps them).

    Only a hash of each session id is stored. Logout deletes the entry, so a copied cookie
    stops working; expired entries are pruned, and at most ``_MAX_SESSIONS`` are kept.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, sid: str) -> Session | None:
        """The live signed-in session ``sid``, or None when unknown, revoked or expired."""
        found = self._load().get(_sid_hash(sid))
        if not found or found[1] <= time.time():
            return None
        name, expires, kind, user_id, epoch, role = found
        return Session(sid, name, True, expires, kind, user_id, epoch, role)

    def add(self, session: Session) -> None:
        """Remember a new logged-in session."""
        live = self._load()
        live[_sid_hash(session.sid)] = _entry(session)
        self._save(live)

    def revoke(self, sid: str) -> None:
        """Forget a session: its cookie is no longer a login."""
        live = self._load()
        if live.pop(_sid_hash(sid), None) is not None:
            self._save(live)

    def _load(self) -> dict[str, _Entry]:
        try:
            raw = json.loads(self.store.kv_get(_SESSIONS_KEY) or "{}")
            return {str(k): _parse(v) for k, v in raw.items() if len(v) == 6}
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return {}  # unreadable: everyone logs in again, nobody gets in without a token

    def _save(self, live: dict[str, _Entry]) -> None:
        now = time.time()
        kept = sorted(((k, v) for k, v in live.items() if v[1] > now), key=lambda kv: kv[1][1])
        self.store.kv_set(_SESSIONS_KEY, json.dumps(dict(kept[-_MAX_SESSIONS:])))


_Entry = tuple[str, float, str, int | None, int, str]


def _entry(s: Session) -> _Entry:
    return (s.name, s.expires, s.kind, s.user_id, s.epoch, s.role)


def _parse(v: list[object]) -> _Entry:
    user_id = v[3]
    return (
        str(v[0]),
        float(v[1]),  # type: ignore[arg-type]
        str(v[2]),
        None if user_id is None else int(user_id),  # type: ignore[call-overload]
        int(v[4]),  # type: ignore[call-overload]
        str(v[5]),
    )


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()[:32]
