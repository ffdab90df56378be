"""Platform length limits and sentence-aware shortening that never cuts a word.

Where each limit comes from (``unit``: how the platform counts):

- x: 280, weighted; developer.x.com "counting characters": CJK and emoji weigh 2, a URL 23.
- mastodon: 500 chars, the default ``configuration.statuses.max_characters``; a URL counts 23.
- bluesky: 300, app.bsky.feed.post ``text`` maxGraphemes.
- reddit: 10,000 chars, Reddit's comment body limit.
- hackernews: 2,000 chars; no posting API or published limit, a conservative choice.
- google_business: 4,096 utf-8 bytes; Business Profile API reviews.updateReply.
- trustpilot: 2,000 chars; no published reply limit found, a conservative choice.
- yelp: 5,000 chars; Yelp's own review length (owner comments have no API), conservative.
- app_store: 5,970 chars; App Store Connect: responses "up to 5,970 characters".
- google_play: 350 chars; Play Developer API reviews.reply: "more than approximately 350
  characters will be rejected".
- rss, webhook, demo, file and anything else: 1,000 chars, a readable length for posting by hand.

``ResponderConfig.limits`` may lower any of these (never raise them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Unit = Literal["chars", "weighted", "utf8"]
ELLIPSIS = "…"


@dataclass(frozen=True)
class Limit:
    """A platform's maximum reply length and how the platform counts it."""

    chars: int
    unit: Unit = "chars"
    url_length: int | None = None


PLATFORM_LIMITS: dict[str, Limit] = {
    "x": Limit(280, "weighted", url_length=23),
    "mastodon": Limit(500, url_length=23),
    "bluesky": Limit(300),
    "reddit": Limit(10_000),
    "hackernews": Limit(2_000),
    "google_business": Limit(4_096, "utf8"),
    "trustpilot": Limit(2_000),
    "yelp": Limit(5_000),
    "app_store": Limit(5_970),
    "google_play": Limit(350),
}
DEFAULT_LIMIT = Limit(1_000)

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# twitter-text v3: these code point ranges weigh 1, everything else 2.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")


def limit_for(platform: str, overrides: dict[str, int] | None = None) -> Limit:
    """The limit for ``platform``, lowered by ``overrides`` where configured."""
    base = PLATFORM_LIMITS.get(platform, DEFAULT_LIMIT)
    wanted = (overrides or {}).get(platform)
    if wanted is None or wanted >= base.chars:
        return base
    return Limit(max(1, wanted), base.unit, base.url_length)


def _weight(char: str) -> int:
    code = ord(char)
    return 1 if any(lo <= code <= hi for lo, hi in _LIGHT) else 2


def measure(text: str, limit: Limit) -> int:
    """Length of ``text`` as the platform counts it."""
    if limit.unit == "utf8":
        return len(text.encode("utf-8"))
    if limit.url_length is not None:
        text = _URL.sub("u" * limit.url_length, text)
    if limit.unit == "weighted":
        return sum(_weight(c) for c in text)
    return len(text)


def fits(text: str, limit: Limit) -> bool:
    """Whether ``text`` is within ``limit``."""
    return measure(text, limit) <= limit.chars


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences (and lines), keeping their punctuation."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _truncate_words(text: str, ok: Callable[[str], bool]) -> str:
    """The longest word-prefix of ``text`` (plus an ellipsis) that ``ok`` accepts, or ''."""
    tokens = text.split()
    lo, hi = 0, len(tokens)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(" ".join(tokens[:mid]).rstrip(",;:-") + ELLIPSIS):
            lo = mid
        else:
            hi = mid - 1
    return " ".join(tokens[:lo]).rstrip(",;:-") + ELLIPSIS if lo else ""


def fit(body: str, limit: Limit, prefix: str = "", suffix: str = "", sep: str = " ") -> str:
    """Compose ``prefix + body + sep + suffix`` within ``limit``.

    When it does not fit, whole sentences of ``body`` are dropped (kept greedily in order, so
    the opening and as many later sentences as fit survive); the suffix (a sign-off) goes
    next; only when no single sentence fits is the first cut at a word boundary with an
    ellipsis. Never returns text over the limit and never splits
    a word; returns the (possibly empty) part that fits.
    """

    def compose(parts: list[str], tail: str) -> str:
        text = prefix + " ".join(parts)
        return text + sep + tail if tail and parts else text + tail if tail else text

    body = body.strip()
    whole = prefix + body + (sep + suffix if suffix and body else suffix)
    if fits(whole, limit):
        return whole
    for tail in (suffix, ""):
        kept: list[str] = []
        for sentence in sentences(body):
            if fits(compose([*kept, sentence], tail), limit):
                kept.append(sentence)
        if kept:
            return compose(kept, tail)
    first = (sentences(body) or [""])[0]
    cut = _truncate_words(first, lambda s: fits(prefix + s, limit))
    if cut:
        return prefix + cut
    return prefix.rstrip() if fits(prefix.rstrip(), limit) else ""
