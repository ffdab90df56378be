"""The shared sweep helper (repbot.paging), driven over random newest-first listings.

A small model listing plays the platform: items arrive over time, pages of random size are read
newest first with a token naming the last item returned (as X's ``next_token`` and Reddit's
``after`` do). Two key kinds: unique ids filtered by the server (X: ``since_id``) and shared
timestamps filtered by the reader (Reddit: created >= cut).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from repbot import paging

OVERLAP = 20


@dataclass
class Item:
    name: str
    created: int  # whole seconds
    key: float  # ids (unique) or timestamps (shared)
    visible: int  # when the listing starts showing it


@dataclass
class Reader:
    """One stream read the way the X and Reddit connectors read theirs, through paging."""

    unique: bool
    page_size: int
    max_pages: int
    mark: float | None = None
    began: float | None = None
    began_before: float | None = None
    start: float | None = None
    token: str | None = None
    rereads: int | None = None
    newest: float | None = None
    chain: int = 0
    delivered: list[tuple[str, float | None, float | None]] = field(default_factory=list)

    def key_at(self, t: float) -> float:
        return float(int(t * 1000)) if self.unique else float(t)

    def poll(self, listing: list[Item], now: int) -> None:
        """Fetch while ``has_more``, like the runner; a sweep cut short resumes next poll."""
        more = True
        while more:
            more = self.fetch(listing, now)

    def fetch(self, listing: list[Item], now: int) -> bool:
        if self.token is None:
            self._begin(now)
        shown = sorted((i for i in listing if i.visible <= now), key=lambda i: -i.key)
        if self.unique and self.start is not None:
            shown = [i for i in shown if i.key > self.start]
        names = [i.name for i in shown]
        first = names.index(self.token) + 1 if self.token in names else 0
        page = shown[first : first + self.page_size]
        rest = len(shown) > first + self.page_size
        ended = False
        for item in page:
            if not self.unique and self.start is not None and item.key < self.start:
                ended = True
                break
            self.delivered.append((item.name, self.began_before, self.mark))
            self.newest = paging.new_mark(self.newest, item.key)
        token = page[-1].name if page and rest and not ended else None
        oldest = min((i.key for i in page), default=None)
        self.token, self.rereads = paging.next_page(
            token,
            reached=paging.reaches_mark(self.mark, oldest, unique=self.unique),
            rereads=self.rereads,
        )
        if self.token is None:
            self.mark, self.newest = paging.new_mark(self.mark, self.newest), None
        self.chain, more = paging.chain(self.token is not None, self.chain, self.max_pages)
        return more

    def _begin(self, now: int) -> None:
        self.began_before, self.began = self.began, float(now)
        if self.mark is None:
            self.start, self.rereads = None, None
            return
        span = self.key_at(OVERLAP) if self.unique else float(OVERLAP)
        self.start = paging.sweep_start(
            self.mark,
            began=self.began_before,
            overlap=OVERLAP,
            key_at=self.key_at,
            span=span,
            floor=0.0,
        )
        self.rereads = 1


rounds = st.lists(st.integers(0, 12), min_size=1, max_size=8)  # items arriving per round
gaps = st.integers(1, 60)  # seconds between polls


def _arrive(unique: bool, counts: list[int], gap: int, lateness: int) -> list[tuple[int, Item]]:
    """Items and the poll they arrive before: created during the round, maybe listed late."""
    out: list[tuple[int, Item]] = []
    for round_no, count in enumerate(counts):
        for n in range(count):
            created = round_no * gap + (n * gap) // max(count, 1)
            key = float(created * 1000 + len(out)) if unique else float(created)
            item = Item(f"i{len(out)}", created, key, created + (lateness if n % 2 else 0))
            out.append((round_no, item))
    return out


def _run(unique: bool, counts: list[int], gap: int, size: int, pages: int, late: int) -> Reader:
    reader = Reader(unique, size, pages)
    arrivals = _arrive(unique, counts, gap, late)
    listing: list[Item] = []
    reader.poll(listing, 0)  # first run: an empty listing, so the mark starts empty
    for round_no in range(len(counts) + 3):
        listing += [item for r, item in arrivals if r == round_no]
        reader.poll(listing, (round_no + 1) * gap)
    now = max([(len(counts) + 3) * gap, *(item.visible for _, item in arrivals)])
    for _ in range(2):  # finish the sweep under way, then one sweep begun after every arrival
        now += gap
        reader.poll(listing, now)
        while reader.token is not None:
            now += gap
            reader.poll(listing, now)
    return reader


@settings(max_examples=150, deadline=None)
@given(
    unique=st.booleans(),
    counts=rounds,
    gap=gaps,
    size=st.integers(1, 7),
    pages=st.integers(1, 4),
)
def test_no_item_missed_and_repeats_only_inside_the_overlap(
    unique: bool, counts: list[int], gap: int, size: int, pages: int
) -> None:
    reader = _run(unique, counts, gap, size, pages, late=0)
    items = {item.name: item for _, item in _arrive(unique, counts, gap, 0)}
    assert {name for name, _, _ in reader.delivered} == set(items)
    first: set[str] = set()
    for name, began_before, mark in reader.delivered:
        if name in first:  # delivered again: created in the overlap before the previous poll,
            assert began_before is not None  # or sharing the newest second (timestamps)
            in_overlap = items[name].created >= began_before - OVERLAP
            assert in_overlap or (not unique and items[name].key == mark), (name, began_before)
        first.add(name)


@settings(max_examples=150, deadline=None)
@given(unique=st.booleans(), counts=rounds, gap=gaps, late=st.integers(0, OVERLAP - 1))
def test_items_listed_late_within_the_overlap_are_caught(
    unique: bool, counts: list[int], gap: int, late: int
) -> None:
    """With pages big enough to hold the overlap window, a late listing is never missed."""
    reader = _run(unique, counts, gap, size=1000, pages=10, late=late)
    items = {item.name for _, item in _arrive(unique, counts, gap, late)}
    assert {name for name, _, _ in reader.delivered} == items


def test_a_quiet_steady_sweep_reads_one_page() -> None:
    reader = Reader(unique=False, page_size=2, max_pages=10)
    listing = [Item(f"i{n}", n, float(n), n) for n in range(10)]
    reader.poll(listing, 100)
    assert len(reader.delivered) == 10
    reader.delivered.clear()
    reader.poll(listing, 200)  # nothing new: one page, only the newest second is re-read
    assert [name for name, _, _ in reader.delivered] == ["i9"]
    assert reader.token is None


def test_sweep_start_is_the_mark_lowered_by_the_overlap_never_below_the_floor() -> None:
    def start(began: float | None, floor: float = 0.0) -> float:
        return paging.sweep_start(
            100.0, began=began, overlap=20, key_at=float, span=20.0, floor=floor
        )

    assert start(None) == 80  # no previous sweep: the mark less the overlap
    assert start(90) == 70  # the overlap before the previous sweep
    assert start(500) == 100  # a quiet stream: nothing is re-read
    assert start(90, floor=95.0) == 95


def test_next_page_counts_rereads_only_on_pages_that_reach_the_mark() -> None:
    assert paging.next_page("t", reached=False, rereads=2) == ("t", 2)
    assert paging.next_page("t", reached=True, rereads=2) == ("t", 1)
    assert paging.next_page("t", reached=True, rereads=1) == (None, 0)
    assert paging.next_page("t", reached=True, rereads=None) == ("t", None)
    assert paging.next_page(None, reached=True, rereads=1) == (None, 1)
    assert paging.reaches_mark(5, 5, unique=True) and not paging.reaches_mark(5, 5, unique=False)
    assert paging.reaches_mark(5.0, 4.0, unique=False)
    assert not paging.reaches_mark(None, 1, unique=True)


def test_chain_yields_after_max_pages_and_restarts() -> None:
    assert paging.chain(True, 0, 3) == (1, True)
    assert paging.chain(True, 2, 3) == (0, False)
    assert paging.chain(False, 2, 3) == (0, False)
