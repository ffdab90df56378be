"""The HTTP side of the Reddit connector: rate-limit state and error text.

The prawcore requestor that fails fast is in :mod:`.requestor`, imported when a client is built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import prawcore

# prawcore paces requests over this window by sleeping; a very long window turns that off
# (the connector raises RateLimited instead and the runner waits).
NO_PACING_WINDOW = 10**9


@dataclass
class RateState:
    """The last ``x-ratelimit-*`` headers Reddit sent, and how many requests we made."""

    remaining: float | None = None
    reset_at: float | None = None
    requests: int = 0
    requestor: prawcore.Requestor | None = None

    def update(self, headers: Any) -> None:
        """Remember the window reported in ``headers`` (if any)."""
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            self.remaining = float(remaining)
            self.reset_at = time.time() + float(reset)
        except ValueError:
            return

    def retry_after(self) -> float:
        """Seconds until the window resets (at least one)."""
        return max((self.reset_at or 0) - time.time(), 1.0)


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def short(exc: BaseException) -> str:
    """The first line of an error message, at most 200 characters."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
