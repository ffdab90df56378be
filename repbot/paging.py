"""Sweeps down newest-first listings: where a poll starts, when it stops, the new high-water mark.

Most platform listings (a mentions timeline, a search, a subreddit's new posts) return items
newest first, one page at a time, with a token for the next page. A *sweep* reads pages from the
top until it reaches items an earlier sweep already delivered. Items are ordered by a *key*: a
post id where ids grow with time, else a creation timestamp. The *mark* is the newest key that
finished sweeps delivered.

A steady sweep also re-reads the items created in the ``overlap`` before the previous sweep
began (they may have been listed late), and reads at most ``rereads`` pages that reach the mark,
so on a quiet listing the overlap costs one page. Connectors keep their own cursor format and
call these functions at each step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K", int, float)


def sweep_start(
    mark: K, *, began: float | None, overlap: float, key_at: Callable[[float], K], span: K, floor: K
) -> K:
    """Lowest key a steady sweep reads: the mark, lowered to the items created in the
    ``overlap`` seconds before the previous sweep ``began`` (``key_at`` turns a time into a
    key), or by ``span`` (the overlap as keys) when no sweep began before; never below
    ``floor``. On a quiet listing that lowers nothing, so nothing is re-read."""
    lowered = mark - span if began is None else min(mark, key_at(began - overlap))
    return max(lowered, floor)


def reaches_mark(mark: K | None, oldest: K | None, *, unique: bool) -> bool:
    """Whether a page whose oldest key is ``oldest`` reaches items delivered before.

    With ``unique`` keys (ids) the mark itself was delivered; timestamps are shared, so only
    an older key proves the page reached known items.
    """
    if mark is None or oldest is None:
        return False
    return oldest <= mark if unique else oldest < mark


def next_page(
    token: str | None, *, reached: bool, rereads: int | None
) -> tuple[str | None, int | None]:
    """The page to read after one that ``reached`` the mark or not, and the rereads left.

    ``token`` is the listing's next page (``None``: the listing ended); ``rereads`` how many
    pages reaching the mark the sweep may still read (``None``: no limit). The sweep ends when
    the answer's token is ``None``.
    """
    if not token or rereads is None or not reached:
        return token, rereads
    rereads -= 1
    return (None if rereads <= 0 else token), rereads


def new_mark(mark: K | None, newest: K | None) -> K | None:
    """The mark after a sweep that delivered keys up to ``newest``."""
    keys = [k for k in (mark, newest) if k is not None]
    return max(keys) if keys else None


def chain(pending: bool, pages: int, max_pages: int) -> tuple[int, bool]:
    """Pages read in a row after this one, and whether to read on now (``Page.has_more``).

    ``pending``: some sweep has a next page. After ``max_pages`` pages in a row the poll yields
    to the next interval; the pending pages are read then, the chain starting again.
    """
    pages = pages + 1 if pending else 0
    more = pending and pages < max_pages
    return (0 if pending and not more else pages), more
