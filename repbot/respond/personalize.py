"""Who we answer and what about: names as each platform expects, the problem they named."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from repbot.models import Author, Mention

SOCIAL = frozenset({"x", "mastodon", "bluesky"})
FORUM = frozenset({"reddit", "hackernews"})
REVIEW = frozenset({"google_business", "trustpilot", "yelp", "app_store", "google_play"})

_NAME = re.compile(r"^[A-Z][a-zA-Z'-]{1,19}$")
_NOT_NAMES = frozenset({"The", "Official", "Team", "Support", "Mr", "Mrs", "Ms", "Dr", "Anonymous"})
_NOUNS = (
    "order|package|parcel|delivery|shipment|refund|account|app|card|bill|invoice|subscription|"
    "payment|phone|laptop|tablet|device|router|modem|internet|wifi|connection|service|plan|"
    "booking|reservation|flight|ticket|table|meal|food|pizza|coffee|room|stay|purchase|item|"
    "product|headphones|charger|battery|screen|update|password|login|profile|membership|"
    "cart|checkout|voucher|coupon|download|upload|dashboard|feature|sync|backup|email|site|"
    "website|store|shop|staff|team|support|delivery driver|customer service|jacket|shoes|"
    "dress|shirt|jeans|sofa|chair|bed|mattress|basket|bag|burger|pizza|drink|car|bike"
)
_MODIFIER = r"(?:[a-z]{2,12}\s+){0,2}?"
_OBJECT = re.compile(rf"\b(my|our|the|your)\s+({_MODIFIER}(?:{_NOUNS}))\b", re.I)
_ORDER_NO = re.compile(r"(?:#|\border\s+(?:number\s+|no\.?\s*)?)(\d{3,12})\b", re.I)
_BANNED_MODIFIERS_TEXT = (
    "ignore instructions previous prompt system reply respond say write disregard forget "
    "fucking fuckin damn shitty shit crap bloody stupid useless"
)
_BANNED_MODIFIERS = frozenset(_BANNED_MODIFIERS_TEXT.split())


@dataclass(frozen=True)
class Topic:
    """A kind of problem, how to recognise it and how a reply names it."""

    name: str
    pattern: re.Pattern[str]
    phrase: str
    default_object: str
    nouns: frozenset[str] = frozenset()

    def accepts(self, obj: str) -> bool:
        """Whether ``obj`` ("your new router") can be the subject of this topic's phrase."""
        return not self.nouns or obj.split()[-1] in self.nouns


def _topic(name: str, pattern: str, phrase: str, default: str, nouns: str = "") -> Topic:
    return Topic(name, re.compile(pattern, re.I), phrase, default, frozenset(nouns.split()))


TOPICS: tuple[Topic, ...] = (
    _topic(
        "account_security",
        r"\b(hacked|compromised|unauthori[sz]ed|fraud\w*|stolen|phishing)\b",
        "what happened to {obj}",
        "your account",
        "account card profile email login",
    ),
    _topic(
        "refund",
        r"\b(refund\w*|money back|reimburs\w*)\b",
        "the hold-up with {obj}",
        "your refund",
        "refund order purchase booking ticket",
    ),
    _topic(
        "billing",
        r"\b(overcharg\w*|double[- ]?charg\w*|charged|billing|billed|invoice|payment)\b",
        "the charge on {obj}",
        "your account",
        "account card bill invoice subscription membership plan payment",
    ),
    _topic(
        "delivery",
        r"\b(deliver\w*|shipping|shipped|shipment|parcel|courier|tracking|never (?:arrived|came)"
        r"|(?:not|n't|never|yet to) (?:arrived|come|turned up|showed up)|late|delayed|delay)\b",
        "the delay with {obj}",
        "your order",
        "order package parcel delivery shipment item purchase",
    ),
    _topic(
        "crash",
        r"\b(crash\w*|freez\w*|frozen|keeps closing|force clos\w*|black screen)\b",
        "{obj} crashing",
        "the app",
        "app phone device laptop tablet game site website",
    ),
    _topic(
        "outage",
        r"\b(outage|is down|are down|went down|not loading|won'?t load|offline|no service|"
        r"no signal|502|503)\b",
        "{obj} being down",
        "the service",
        "site website app service internet wifi connection store shop",
    ),
    _topic(
        "login",
        r"\b(log ?in|sign ?in|locked out|password|2fa|verification code|can'?t access)\b",
        "trouble getting into {obj}",
        "your account",
        "account app profile login dashboard",
    ),
    _topic(
        "quality",
        r"\b(broken|damaged|defective|faulty|cracked|stopped working|doesn'?t work|not working)\b",
        "the problem with {obj}",
        "your order",
    ),
    _topic(
        "cancel",
        r"\b(cancel\w*|unsubscrib\w*|close my account)\b",
        "cancelling {obj}",
        "your subscription",
        "subscription membership plan account order booking",
    ),
    _topic(
        "service",
        r"\b(customer service|on hold|no one|nobody|no reply|no response|waited|waiting|ignored|"
        r"rude)\b",
        "the wait you've had for help",
        "",
    ),
)


@dataclass(frozen=True)
class Problem:
    """What the mention is about, phrased for a reply (empty strings when unknown).

    ``phrase`` names the problem ("the delay with your order #4411"); ``object`` is the thing
    the author named themselves ("the new dashboard"), empty when they named none.
    """

    phrase: str = ""
    topic: str | None = None
    object: str = ""
    order_number: str | None = None
    key_phrases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Address:
    """How to address the author: the platform's required prefix and a greeting name."""

    prefix: str
    name: str
    greeting: str


def first_name(author: Author) -> str | None:
    """The author's first name when their display name looks like a person's name."""
    display = (author.display_name or "").strip()
    if not display:
        return None
    first = display.split()[0]
    if first.isupper() and len(first) > 1:
        first = first.capitalize()
    if not _NAME.match(first) or first in _NOT_NAMES:
        return None
    return first


def _handle(author: Author) -> str:
    return author.handle.strip().lstrip("@").removeprefix("u/").strip()


def address(mention: Mention) -> Address:
    """Address the author the way ``mention.platform`` expects.

    X, Mastodon and Bluesky replies start with ``@handle``; Reddit names people ``u/name``;
    Hacker News by handle; reviews and everything else by first name when there is one.
    """
    platform = mention.platform
    handle = _handle(mention.author)
    first = first_name(mention.author)
    prefix = f"@{handle} " if platform in SOCIAL and handle else ""
    if platform == "reddit" and handle:
        name = f"u/{handle}"
    elif platform == "hackernews" and handle:
        name = handle
    else:
        name = first or ""
    greeting = f"Hi {name}," if name else "Hi there,"
    return Address(prefix=prefix, name=name, greeting=greeting)


_SWAP = {"my": "your", "our": "your", "your": "our", "the": "the"}


def _clean_object(determiner: str, raw: str) -> str | None:
    tokens = raw.lower().split()
    if any(t in _BANNED_MODIFIERS for t in tokens):
        return None
    return " ".join([_SWAP[determiner.lower()], *tokens])


def find_object(text: str) -> str | None:
    """The thing the author says is affected, seen from our side.

    "my new router" -> "your new router", "your app" -> "our app", "the site" -> "the site".
    """
    for match in _OBJECT.finditer(text):
        cleaned = _clean_object(match.group(1), match.group(2))
        if cleaned:
            return cleaned
    return None


def order_number(text: str) -> str | None:
    """An order/reference number the author quoted (``#4411``, ``order 4411``)."""
    match = _ORDER_NO.search(text)
    return match.group(1) if match else None


def detect_topics(text: str) -> list[str]:
    """Names of every problem topic the text mentions, most specific first."""
    return [t.name for t in TOPICS if t.pattern.search(text)]


def problem(mention: Mention) -> Problem:
    """The specific problem the mention names, phrased for a reply."""
    text = " ".join(part for part in (mention.title, mention.text) if part)
    topics = [t for t in TOPICS if t.pattern.search(text)]
    obj = find_object(text)
    number = order_number(text)
    if number and not obj:
        obj = "your order"
    if obj and number and ("order" in obj or "package" in obj or "parcel" in obj):
        obj = f"{obj} #{number}"
    phrases = [obj] if obj else []
    if topics:
        topic = topics[0]
        target = obj if obj and topic.accepts(obj.split(" #")[0]) else topic.default_object
        phrase = topic.phrase.format(obj=target).strip()
        phrases.extend(t.name.replace("_", " ") for t in topics)
        return Problem(phrase, topic.name, obj or "", number, tuple(phrases))
    phrase = f"the problem with {obj}" if obj else ""
    return Problem(phrase, None, obj or "", number, tuple(phrases))


def stars(rating: int | None) -> str:
    """``4`` -> ``"4-star"``; empty for mentions without a rating."""
    return f"{rating}-star" if rating else ""
