"""Platform length limits and sentence-aware shortening that never cuts a word.

Where each limit comes from (``unit``: how the platform counts):

- x: 280, weighted (:func:`x_length`, the twitter-text v3 rules): after NFC, code points in
  the Latin, general-punctuation and similar ranges weigh 1, everything else 2; an emoji
  (one grapheme, ZWJ sequences, flags, skin tones and keycaps included) weighs 2; a URL,
  with or without a scheme, weighs 23 (t.co) however long it is.
- mastodon: 500 code points, the default ``configuration.statuses.max_characters``; a URL
  counts 23.
- bluesky: 300 graphemes (extended grapheme clusters), app.bsky.feed.post ``text``
  maxGraphemes.
- reddit: 10,000 chars, Reddit's comment body limit.
- hackernews: 2,000 chars; no posting API or published limit, a conservative choice.
- google_business: 4,096 utf-8 bytes; Business Profile API reviews.updateReply.
- trustpilot: 2,000 chars; no published reply limit found, a conservative choice.
- yelp: 5,000 chars; Yelp's own review length (owner comments have no API), conservative.
- app_store: 5,970 chars; App Store Connect: responses "up to 5,970 characters".
- google_play: 350 chars; Play Developer API reviews.reply: "more than approximately 350
  characters will be rejected".
- rss, webhook, demo, file and anything else: 1,000 chars, a readable length for posting by hand.

"chars" are code points (``len()``). Drafts (:func:`fit`), the web console's edit and the Slack
edit modal all judge length with :func:`measure` (the approval side via
:func:`length_problem`), so what one accepts the others accept too.

The figures live in the platform registry (:mod:`repbot.platforms`, each connector's
``platforms``); ``ResponderConfig.limits`` may lower any of these (never raise them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import regex
import tld

from repbot import platforms
from repbot.platforms import DEFAULT_LIMIT as DEFAULT_LIMIT
from repbot.platforms import Limit as Limit
from repbot.platforms import Unit as Unit

ELLIPSIS = "…"
INPUT_MAX = 10_000
"""The longest edit the console and Slack accept before counting (Reddit's whole limit)."""

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# twitter-text v3 config: these code point ranges weigh 1 (100/scale 100), everything else 2.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# twitter-text extractUrls, ASCII domains: a scheme is optional; what precedes may not be a
# letter, digit, @ $ # or (without a scheme) - _ . /; a path ends in a letter, digit or =_#/+-.
_X_URL = re.compile(
    r"(?<![A-Za-z0-9@$#＠＄＃_./-])(?P<scheme>https?://)?"
    r"(?P<host>(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z][a-z0-9-]{0,62}))"
    r"(?![a-z0-9-])(?::\d{1,5})?(?P<path>/[!-~\u00c0-\u024f\u0400-\u04ff]*)?",
    re.IGNORECASE,
)
_MAX_URL = 4096
_PATH_END = re.compile(r"[^A-Za-z0-9=_#/+\-)]+$")
_EMOJI = regex.compile(
    r"\p{Emoji_Presentation}|\p{Emoji_Modifier}|\p{Regional_Indicator}|\u20e3"
    r"|\p{Extended_Pictographic}\ufe0f|\u200d\p{Extended_Pictographic}"
)
_GRAPHEME = regex.compile(r"\X")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")


def limit_for(platform: str, overrides: dict[str, int] | None = None) -> Limit:
    """The registered limit for ``platform``, lowered by ``overrides`` where configured."""
    base = platforms.platform(platform).limit
    wanted = (overrides or {}).get(platform)
    if wanted is None or wanted >= base.chars:
        return base
    return Limit(max(1, wanted), base.unit, base.url_length)


def _weight(char: str) -> int:
    code = ord(char)
    return 1 if any(lo <= code <= hi for lo, hi in _LIGHT) else 2


def x_urls(text: str) -> list[str]:
    """The URLs X shortens to t.co in ``text`` (twitter-text's rules for ASCII domains).

    With or without a scheme, a URL needs a real top-level domain (twitter-text has its own
    list; the Public Suffix List's ICANN section is used here), so ``https://localhost`` and
    ``acme.example`` are counted as the characters they are; URLs over 4,096 characters are
    not URLs either.
    """
    found = []
    for match in _X_URL.finditer(text):
        scheme, path = match["scheme"], match["path"] or ""
        if not tld.is_tld(match["tld"].lower(), search_private=False):
            continue
        url = match.group(0)
        if len(url) + (0 if scheme else len("https://")) > _MAX_URL:
            continue
        if path:
            url = _PATH_END.sub("", url)
            while url.endswith(")") and url.count("(") < url.count(")"):
                url = _PATH_END.sub("", url[:-1])
        found.append(url)
    return found


def _x_plain(text: str) -> int:
    """twitter-text weight of text without URLs: an emoji grapheme 2, other code points 1 or 2."""
    total = 0
    for cluster in _GRAPHEME.findall(text):
        total += 2 if _EMOJI.search(cluster) else sum(_weight(c) for c in cluster)
    return total


def x_length(text: str, url_length: int = 23) -> int:
    """The twitter-text v3 weighted length of ``text``: what X compares with 280."""
    text = re.sub(r"\r\n|\r", "\n", unicodedata.normalize("NFC", text))
    total, pos = 0, 0
    for url in x_urls(text):
        start = text.index(url, pos)
        total += _x_plain(text[pos:start]) + url_length
        pos = start + len(url)
    return total + _x_plain(text[pos:])


def measure(text: str, limit: Limit) -> int:
    """Length of ``text`` as the platform counts it."""
    if limit.unit == "utf8":
        return len(text.encode("utf-8"))
    if limit.unit == "weighted":
        return x_length(text, limit.url_length or 23)
    if limit.url_length is not None:
        text = _URL.sub("u" * limit.url_length, text)
    if limit.unit == "graphemes":
        return len(_GRAPHEME.findall(text))
    return len(text)


def input_max(platform: str, chars: int) -> int:
    """The most code points an edit box should take for a reply of at most ``chars``.

    Where the platform counts every code point (or byte) that is ``chars``; where a URL or an
    emoji counts less than it is long (X, Mastodon, Bluesky) a text within the limit can be
    much longer, so the box takes up to ``INPUT_MAX`` and :func:`length_problem` decides.
    """
    base = platforms.platform(platform).limit
    shrinks = base.unit in ("weighted", "graphemes") or base.url_length is not None
    return max(chars, INPUT_MAX) if shrinks else chars


def length_problem(text: str, platform: str, chars: int) -> str | None:
    """Why ``text`` is too long for ``platform`` with at most ``chars``, or None if it fits.

    ``chars`` is the draft's limit (config may have lowered the platform's); the count is the
    platform's own (see the module docstring), the one drafts were fitted with.
    """
    base = platforms.platform(platform).limit
    limit = Limit(chars, base.unit, base.url_length)
    length = measure(text, limit)
    if length <= chars:
        return None
    how = {"weighted": " as X counts them", "utf8": " (UTF-8 bytes)"}.get(limit.unit, "")
    return f"The reply has {length} characters{how}; the limit is {chars}."


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
