"""Who we answer and what about: names as each platform expects, the problem they named."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from repbot import platforms
from repbot.errors import ConfigError
from repbot.models import Author, Mention

_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-]){1,19}$")
"""A first name: letters of any script (Lucía, Zoë, Jürgen), apostrophes and hyphens."""
_NOT_NAMES = frozenset({"The", "Official", "Team", "Support", "Mr", "Mrs", "Ms", "Dr", "Anonymous"})
_BANNED_TEXT = (
    "ignore instructions instruction previous prompt system reply respond say write disregard "
    "forget fucking fuckin fucked damn shitty shit crap bloody stupid useless same other "
    "whole entire"
)
_BANNED = frozenset(_BANNED_TEXT.split())
_DETERMINERS = {
    "my": "your",
    "our": "your",
    "your": "our",
    "the": "the",
    "his": "his",
    "her": "her",
    "a": "the",
    "an": "the",
}
_BREAK_TEXT = (
    "on in at of for to with from by about into over after before since during outside near "
    "is are was were be been being has have had got gets keeps keep shows show says said do "
    "does did can can't won't will would i me it they he she we you him them this that these "
    "those and or but so because when while if than which who"
)
_BREAK = frozenset(_BREAK_TEXT.split())
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*|£?\d[\d,.]*[a-z]?|[^\sA-Za-z\d]")
_LOCATION_PREPS = frozenset({"at", "outside", "in", "near", "on"})
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
"""A word a reply may quote back: letters, inner apostrophes and hyphens, nothing else."""
_ORDER_NO = re.compile(r"(?:#|\border\s+(?:number\s+|no\.?\s*)?)(\d{3,12})\b", re.I)
MAX_PHRASE_WORDS = 10


@dataclass(frozen=True)
class Topic:
    """A kind of problem, how to recognise it and how a reply names it.

    ``phrase`` is formatted with ``obj`` (the customer's own noun phrase when its head noun is
    in ``nouns``), ``head`` (that phrase's head noun), ``match`` (the words that matched,
    tidied), ``subj`` (the pattern's ``subj`` group) and ``when`` ("when you try to ...");
    ``fallback`` is used when a field it needs is missing.
    ``security`` topics get the urgent, safety-first reply.
    """

    name: str
    pattern: re.Pattern[str]
    phrase: str
    fallback: str = ""
    nouns: frozenset[str] = frozenset()
    security: bool = False

    def accepts(self, head: str) -> bool:
        """Whether a noun phrase with this head noun can be the subject of this topic's phrase."""
        return bool(head) and (not self.nouns or head.lower() in self.nouns)


@dataclass(frozen=True)
class Vocabulary:
    """The brand's words from ``prompts/topics.yaml``: problem topics and the nouns replies quote.

    ``nouns`` are the head nouns a quoted noun phrase may end in ("my rent *transfer*"),
    ``praisable`` the extra things a compliment may name, ``acronyms`` words kept in capitals,
    ``located`` the heads that take a place ("the cash machine outside the Elm Road *branch*"),
    ``places`` the words that end such a place, ``staff_at`` where a named person works
    ("Aisha at the *desk*").
    """

    topics: tuple[Topic, ...]
    nouns: frozenset[str] = frozenset()
    praisable: frozenset[str] = frozenset()
    acronyms: frozenset[str] = frozenset()
    located: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    staff_at: tuple[str, ...] = ()

    def lexicon(self, brand: str) -> Lexicon:
        """These words with the brand's own (which are never quoted back)."""
        return Lexicon(self, frozenset(w.lower() for w in brand.split()))


@dataclass(frozen=True)
class Lexicon:
    """A vocabulary bound to one brand name: what the phrase finders consult."""

    vocabulary: Vocabulary
    brand: frozenset[str]

    @property
    def nouns(self) -> frozenset[str]:
        return self.vocabulary.nouns

    @property
    def praisable(self) -> frozenset[str]:
        return self.vocabulary.nouns | self.vocabulary.praisable

    @property
    def acronyms(self) -> frozenset[str]:
        return self.vocabulary.acronyms

    @property
    def located(self) -> frozenset[str]:
        return self.vocabulary.located

    @property
    def places(self) -> frozenset[str]:
        return self.vocabulary.places

    @functools.cached_property
    def staff(self) -> re.Pattern[str]:
        """ "Aisha at the desk": a capitalised name before one of ``staff_at``."""
        at = "|".join(re.escape(w) for w in self.vocabulary.staff_at) or "(?!)"
        return re.compile(rf"\b([A-Z][a-z]{{2,15}}) (?:at|on|from|behind) the (?:{at})\b")

    def is_noun(self, lower: str) -> bool:
        """Whether ``lower`` (or its singular) is a head noun."""
        nouns = self.vocabulary.nouns
        return lower in nouns or (lower.endswith("s") and lower[:-1] in nouns)


_TOPIC_KEYS = frozenset({"name", "pattern", "phrase", "fallback", "nouns", "security"})
_WORD_LISTS = ("nouns", "praisable", "acronyms", "located", "places", "staff_at")
_VOCABULARY_KEYS = frozenset({"topics", *_WORD_LISTS})
_FIELDS = frozenset({"obj", "head", "match", "subj", "when"})
TOPICS_FILE = "topics.yaml"


def load_topics(root: Path) -> tuple[Topic, ...]:
    """The problem topics of the prompts folder ``root`` (see :func:`load_vocabulary`)."""
    return load_vocabulary(root).topics


def load_vocabulary(root: Path, packaged: bool = False) -> Vocabulary:
    """The vocabulary of the prompts folder ``root`` (``root/topics.yaml``).

    A folder without the file uses the packaged ``prompts/topics.yaml``, and a word list the
    file does not name is the packaged one (``nouns: []`` names none). Every problem is
    reported with its key path (``topics.yaml: topics[3].pattern: ...``) in one ConfigError.
    """
    path = root / TOPICS_FILE
    if not path.is_file():
        return default_vocabulary()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{TOPICS_FILE}: not readable YAML: {exc}"], "topics") from None
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        raise ConfigError([f"{TOPICS_FILE}: topics: a list of topics expected"], "topics")
    topics, problems = _topics(data["topics"])
    problems += [
        f"{TOPICS_FILE}: {key}: unknown key (known: {', '.join(sorted(_VOCABULARY_KEYS))})"
        for key in sorted(str(k) for k in data if k not in _VOCABULARY_KEYS)
    ]
    lists: dict[str, list[str]] = {}
    for key in _WORD_LISTS:
        if key not in data and not packaged:
            lists[key] = list(getattr(default_vocabulary(), key))
            continue
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
            problems.append(f"{TOPICS_FILE}: {key}: a list of words expected")
            value = []
        lists[key] = value
    if problems:
        raise ConfigError(problems, "topics")
    return _vocabulary(topics, lists)


def _vocabulary(topics: tuple[Topic, ...], lists: dict[str, list[str]]) -> Vocabulary:
    lower = {key: frozenset(w.lower() for w in lists[key]) for key in _WORD_LISTS}
    return Vocabulary(
        topics=topics,
        nouns=lower["nouns"],
        praisable=lower["praisable"],
        acronyms=frozenset(lists["acronyms"]),
        located=lower["located"],
        places=lower["places"],
        staff_at=tuple(w.lower() for w in lists["staff_at"]),
    )


def _topics(entries: list[object]) -> tuple[tuple[Topic, ...], list[str]]:
    """The topics of the ``topics:`` list, and a problem line for each bad one."""
    topics, problems = [], []
    for i, entry in enumerate(entries):
        try:
            topics.append(_topic(entry))
        except ValueError as exc:
            problems.append(f"{TOPICS_FILE}: topics[{i}]{exc}")
    names = [str(e.get("name")) for e in entries if isinstance(e, dict) and "name" in e]
    problems += [
        f"{TOPICS_FILE}: duplicate topic {n!r}" for n in sorted(set(names)) if names.count(n) > 1
    ]
    return tuple(topics), problems


def _topic(entry: object) -> Topic:
    """One topic from its YAML mapping; ValueError ``.key: why`` for a bad one."""
    if not isinstance(entry, dict):
        raise ValueError(": a mapping with name, pattern and phrase expected")
    unknown = sorted(str(k) for k in entry if k not in _TOPIC_KEYS)
    if unknown:
        raise ValueError(f".{unknown[0]}: unknown key (known: {', '.join(sorted(_TOPIC_KEYS))})")
    for key in ("name", "pattern", "phrase", "fallback"):
        if not isinstance(entry.get(key, ""), str) or (key != "fallback" and key not in entry):
            raise ValueError(f".{key}: a string is required")
    try:
        pattern = re.compile(entry["pattern"], re.I)
    except re.error as exc:
        raise ValueError(f".pattern: not a valid regex: {exc}") from None
    for key in ("phrase", "fallback"):
        unknown = sorted(set(re.findall(r"\{(\w*)\}", entry.get(key, ""))) - _FIELDS)
        if unknown:
            raise ValueError(
                f".{key}: unknown field {{{unknown[0]}}} (known: obj, head, match, subj, when)"
            )
    nouns = entry.get("nouns", [])
    if not isinstance(nouns, list) or not all(isinstance(n, str) for n in nouns):
        raise ValueError(".nouns: a list of words expected")
    if not isinstance(entry.get("security", False), bool):
        raise ValueError(".security: true or false expected")
    return Topic(
        name=entry["name"],
        pattern=pattern,
        phrase=entry["phrase"],
        fallback=entry.get("fallback", ""),
        nouns=frozenset(n.lower() for n in nouns),
        security=entry.get("security", False),
    )


def default_topics() -> tuple[Topic, ...]:
    """The packaged ``prompts/topics.yaml`` topics (the demo bank's)."""
    return default_vocabulary().topics


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The packaged ``prompts/topics.yaml`` (the demo bank's vocabulary)."""
    import repbot.prompts

    return load_vocabulary(Path(repbot.prompts.__file__).parent, packaged=True)


@dataclass(frozen=True)
class Problem:
    """What the mention is about, phrased for a reply (empty strings when unknown).

    ``phrase`` names the problem ("the double charge on your rent transfer"); ``object`` is
    the thing the author named themselves ("your rent transfer"), empty when they named none.
    """

    phrase: str = ""
    topic: str | None = None
    object: str = ""
    order_number: str | None = None
    key_phrases: tuple[str, ...] = field(default_factory=tuple)
    topics: tuple[str, ...] = ()
    security: bool = False
    """Whether the mention reports fraud, a hacked account or a scam (urgent, safety first)."""


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
    if not _NAME.fullmatch(first) or not first[0].isupper() or first in _NOT_NAMES:
        return None
    return first


def address(mention: Mention) -> Address:
    """Address the author the way ``mention.platform`` expects.

    X, Mastodon and Bluesky replies start with ``@handle``; Reddit names people ``u/name``;
    Hacker News by handle; reviews and everything else by first name when there is one.
    A handle that is not valid on its platform (:mod:`repbot.platforms`) is never used.
    """
    named = platforms.mention_of(mention.platform, mention.author.handle)
    first = first_name(mention.author)
    family = platforms.family(mention.platform)
    prefix = f"{named} " if family == "social" and named else ""
    name = named if named and family == "forum" else first or ""
    greeting = f"Hi {name}," if name else "Hi there,"
    return Address(prefix=prefix, name=name, greeting=greeting)


@dataclass(frozen=True)
class Phrase:
    """A noun phrase the customer wrote, seen from our side ("your rent transfer")."""

    text: str
    head: str
    start: int
    modifiers: tuple[str, ...] = ()


def _tokens(text: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in _WORD_RE.finditer(text)]


def _tidy_word(word: str, lex: Lexicon) -> str | None:
    """A word as we quote it: shouting lowered, acronyms and names kept; None drops it."""
    if word.lower() in lex.brand:
        return None
    if word in lex.acronyms:
        return word
    if word.isupper() and len(word) > 1:
        return word.upper() if word.upper() in lex.acronyms else word.lower()
    return word


def _is_word(token: str) -> bool:
    return token[0].isalpha()


def noun_phrases(text: str, brand: str = "", vocabulary: Vocabulary | None = None) -> list[Phrase]:
    """Noun phrases the customer wrote ("my rent transfer", "the King Street branch").

    A phrase starts with a possessive or "the" (or the brand's name + 's), has at most three
    modifiers and ends in a known head noun (the longest such run); a location that follows a
    cash machine or branch ("outside the Elm Road branch") is kept. Determiners are swapped to
    our side: my -> your, your/Orbit's -> our.
    """
    lex = (vocabulary or default_vocabulary()).lexicon(brand)
    tokens = _tokens(text.replace("’", "'"))
    phrases: list[Phrase] = []
    i = 0
    while i < len(tokens):
        found = _phrase_at(tokens, i, lex)
        if found is None:
            i += 1
            continue
        phrase, end = found
        phrases.append(phrase)
        i = end
    return phrases


def _determiner(tokens: list[tuple[str, int]], i: int, lex: Lexicon) -> str | None:
    word = tokens[i][0]
    if word.lower() in _DETERMINERS:
        return _DETERMINERS[word.lower()]
    if word.lower().removesuffix("'s") in lex.brand and word.lower().endswith("'s"):
        return "our"
    return None


def _phrase_at(tokens: list[tuple[str, int]], i: int, lex: Lexicon) -> tuple[Phrase, int] | None:
    determiner = _determiner(tokens, i, lex)
    if determiner is None:
        return None
    words: list[str] = []
    head_end = -1
    for j in range(i + 1, min(i + 6, len(tokens))):
        word = tokens[j][0]
        lower = word.lower()
        if not _is_word(word) or lower in _BANNED or lower in _DETERMINERS or lower in _BREAK:
            break
        words.append(word)
        if lex.is_noun(lower):
            head_end = j
    if head_end < 0:
        return None
    kept = [w for w in (_tidy_word(w, lex) for w in words[: head_end - i]) if w]
    if not kept:
        return None
    head = kept[-1].lower()
    end = head_end + 1
    tail, end = _location(tokens, end, head, lex)
    text = " ".join([determiner, *kept, *tail])
    singular = head.removesuffix("s") if head[:-1] in lex.nouns else head
    return Phrase(text, singular, tokens[i][1], tuple(kept[:-1])), end


def _location(
    tokens: list[tuple[str, int]], end: int, head: str, lex: Lexicon
) -> tuple[list[str], int]:
    """ "outside the Elm Road branch" after a machine/atm/branch, when there is one."""
    if head not in lex.located or end + 2 >= len(tokens):
        return [], end
    if tokens[end][0].lower() not in _LOCATION_PREPS or tokens[end + 1][0].lower() != "the":
        return [], end
    words: list[str] = []
    for j in range(end + 2, min(end + 6, len(tokens))):
        word = tokens[j][0]
        if not _is_word(word) or word.lower() in _BANNED:
            return [], end
        words.append(word)
        if word.lower() in lex.places:
            kept = [w for w in (_tidy_word(w, lex) for w in words) if w]
            return [tokens[end][0].lower(), "the", *kept], j + 1
    return [], end


def order_number(text: str) -> str | None:
    """A reference number the author quoted (``#4411``, ``order 4411``)."""
    match = _ORDER_NO.search(text)
    return match.group(1) if match else None


def detect_topics(text: str, topics: tuple[Topic, ...] | None = None) -> list[str]:
    """Names of every problem topic the text mentions, most specific first.

    ``topics`` are the prompts folder's (:func:`load_topics`); default: the packaged ones.
    """
    return [t.name for t in (topics or default_topics()) if t.pattern.search(text)]


_WHEN = re.compile(
    r"\bwhen (?:i|we) (?:try|tried|want) to ((?:[a-z]+ ){0,4}?(?:[a-z]+))(?=[.,!?;]|$| and| but)",
    re.I,
)
_MATCH_WORDS = {
    "faceid": "Face ID",
    "face id": "Face ID",
    "touchid": "Touch ID",
    "touch id": "Touch ID",
}


def _match_phrase(match: re.Match[str]) -> str:
    raw = " ".join(match.group(0).split())
    key = raw.lower()
    if key in _MATCH_WORDS:
        return _MATCH_WORDS[key]
    if key.startswith("fingerprint") or key.startswith("biometric"):
        return key if key.endswith("login") else f"{key.removesuffix('s')} login"
    return raw[0].lower() + raw[1:] if not raw[:2].isupper() else raw


def _when(text: str) -> str:
    match = _WHEN.search(text)
    if not match or any(w.lower() in _BANNED for w in match.group(1).split()):
        return ""
    words = ["your" if w.lower() == "my" else w for w in match.group(1).split()]
    return "when you try to " + " ".join(words)


def _phrase(topic: Topic, text: str, phrases: list[Phrase]) -> tuple[str, str]:
    """The problem phrase for ``topic`` and the customer's noun phrase it used (or "")."""
    match = topic.pattern.search(text)
    assert match is not None
    fitting = [p for p in phrases if topic.nouns and topic.accepts(p.head)]
    quoted = fitting[0] if fitting else None
    if quoted and topic.pattern.search(" ".join(quoted.modifiers)):
        return quoted.text, quoted.text  # "your declined card": the phrase already says it
    fields = {
        "obj": quoted.text if quoted else "",
        "head": quoted.head if quoted else "",
        "match": _match_phrase(match),
        "subj": (match.groupdict().get("subj") or "").lower(),
        "when": _when(text),
    }
    needed = re.findall(r"\{(\w+)\}", topic.phrase)
    if any(not fields[n] for n in needed):
        return topic.fallback, ""
    phrase = " ".join(topic.phrase.format(**fields).split())
    if len(phrase.split()) > MAX_PHRASE_WORDS + 4:
        return topic.fallback, ""
    return phrase, quoted.text if quoted else ""


def problem(
    mention: Mention,
    brand: str = "",
    topics: tuple[Topic, ...] | None = None,
    vocabulary: Vocabulary | None = None,
) -> Problem:
    """The specific problem the mention names, phrased for a reply.

    The first (most specific) of ``topics`` (default: the packaged ones) with a phrase decides
    the wording; the customer's own noun phrase is quoted when it fits that topic, else a
    neutral default is used.
    """
    text = " ".join(part for part in (mention.title, mention.text) if part)
    found = [t for t in (topics or default_topics()) if t.pattern.search(text)]
    phrases = [
        p for p in noun_phrases(text, brand, vocabulary) if len(p.text.split()) <= MAX_PHRASE_WORDS
    ]
    number = order_number(text)
    names = tuple(t.name for t in found)
    security = any(t.security for t in found)
    for topic in found:
        if not topic.phrase:
            continue
        phrase, quoted = _phrase(topic, text, phrases)
        obj = quoted or (phrases[0].text if phrases else "")
        keys = tuple(k for k in dict.fromkeys([obj, *(n.replace("_", " ") for n in names)]) if k)
        return Problem(phrase, topic.name, obj, number, keys, names, security)
    obj = phrases[0].text if phrases else ""
    return Problem("", None, obj, number, (obj,) if obj else (), names, security)


_PRAISE_ADJ = (
    "brilliant|great|amazing|fantastic|excellent|helpful|motivating|instant|better|easy|fast|"
    "quick|lovely|superb|awesome|perfect|friendly|smooth|seamless|incredible|outstanding"
)
_ATTRIBUTIVE = frozenset({"instant", "easy", "fast", "quick", "smooth", "seamless"})
"""Praise adjectives that read well before a bare noun: "notifications are instant" ->
"the instant notifications"."""
_CLAUSE = re.compile(r"[^.!?,;:]+")
_COPULA_PRAISE = re.compile(
    r"^(?P<subject>.+?)\s+(?:is|are|was|were)\s+(?:(?:really|so|very|absolutely|way|just|truly)"
    rf"\s+)*(?P<adj>{_PRAISE_ADJ})\b",
    re.I,
)
_ADJ_FIRST = re.compile(
    rf"\b(?P<thing>(?:{_PRAISE_ADJ})\s+(?:[a-z]+\s+){{0,2}}?[a-z]+)"
    r"(?P<place>\s+at\s+the\s+(?:[A-Z][a-z]+\s+){1,3}branch)?",
    re.I,
)
_LOVE = re.compile(
    r"\b(?:lov(?:e|ing|ed)|enjoying|thanks for)\s+"
    r"(?P<thing>(?:the|your|my|our)(?:\s+[A-Za-z'’]+){1,4})",
    re.I,
)
_SHOUT = re.compile(r"\bshout-?out to (?P<thing>[\w'’]+(?:\s+[a-z]+)?)", re.I)


def praised(
    mention: Mention, brand: str = "", vocabulary: Vocabulary | None = None
) -> tuple[str, str]:
    """What a praising mention praised, from our side, and a staff member it named.

    "the new Orbit budgeting pots are brilliant" -> ("the new budgeting pots", "");
    "Aisha at the desk was fantastic" -> ("", "Aisha"). Empty strings when unsure.
    """
    text = mention.text.replace("’", "'")
    lex = (vocabulary or default_vocabulary()).lexicon(brand)
    person = _staff_name(text, lex)
    if person:
        return "", person
    for clause in _CLAUSE.findall(text):
        match = _COPULA_PRAISE.search(clause.strip())
        words = match.group("subject").split() if match else []
        if match and len(words) == 1 and match.group("adj").lower() in _ATTRIBUTIVE:
            words = [match.group("adj").lower(), words[0].lower()]
        thing = _praised_words(words, lex) if match else ""
        if thing:
            return thing, ""
    for regex in (_LOVE, _ADJ_FIRST, _SHOUT):
        for match in regex.finditer(text):
            thing = _praised_words(match.group("thing").split(), lex, bare="the")
            if thing:
                place = match.groupdict().get("place") or ""
                return " ".join([thing, *place.split()]), ""
    return "", ""


def _praised_words(words: list[str], lex: Lexicon, bare: str = "") -> str:
    """ "Orbit's currency exchange rate" -> "our currency exchange rate"; "" if not a thing."""
    start = next((i for i, w in enumerate(words) if _determiner_of(w, lex)), None)
    if start is None:
        determiner, rest = bare, words[-3:]
    else:
        determiner, rest = _determiner_of(words[start], lex), words[start + 1 :]
    kept: list[str] = []
    for word in rest:
        if word.lower() in _BREAK or word.lower() in _BANNED or not _PLAIN_WORD.fullmatch(word):
            break
        tidy = _tidy_word(word, lex)
        if tidy:
            kept.append(tidy)
    if not kept or len(kept) > 4 or kept[-1].lower().removesuffix("s") not in lex.praisable:
        return ""
    if kept[0] not in lex.acronyms and not kept[0][1:2].isupper() and start is None:
        kept[0] = kept[0].lower()
    if kept[-1].lower() == "support":
        kept.append("team")
    if not determiner:
        determiner = "the" if kept[-1].lower().endswith("s") or len(kept) > 1 else "our"
    return " ".join([determiner, *kept])


def _determiner_of(word: str, lex: Lexicon) -> str:
    lower = word.lower()
    if lower in ("a", "an"):
        return ""
    if lower in _DETERMINERS:
        return _DETERMINERS[lower]
    if lower.endswith("'s") and lower.removesuffix("'s") in lex.brand:
        return "our"
    if lower in lex.brand:
        return "our"
    return ""


def _is_name(word: str, lex: Lexicon) -> bool:
    lower = word.lower()
    return (
        bool(_NAME.fullmatch(word))
        and word not in _NOT_NAMES
        and lower not in lex.brand | lex.nouns
    )


def _staff_name(text: str, lex: Lexicon) -> str:
    match = lex.staff.search(text)
    return match.group(1) if match and _is_name(match.group(1), lex) else ""


def stars(rating: int | None) -> str:
    """``4`` -> ``"4-star"``; empty for mentions without a rating."""
    return f"{rating}-star" if rating else ""
