"""Checks every draft passes, whichever mode wrote it. Each returns readable problems."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from repbot.brand import BrandConfig
from repbot.respond.config import GuardrailConfig
from repbot.respond.limits import x_urls
from repbot.respond.textsim import ngrams, shared_ngram, words

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"']+", re.I)
_BARE_DOMAIN = re.compile(
    r"(?<![@\w./-])((?:[a-z0-9-]+\.)+(?:com|net|org|io|co|ly|app|dev|info|biz|me|ai|xyz|shop|"
    r"store|link|click|top|online|site|gg|tv|us|uk|de|fr|ru|cn|in|au|ca))\b(?!\.\w)",
    re.I,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<![\w#/])\+?\(?\d[\d\s().-]{5,}\d(?![\w/])")
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules?|above)\b"
    r"|\b(?:system prompt|you are now|act as|pretend to be|new instructions?)\b"
    r"|\b(?:reply|respond|answer|say|write|post|tweet)\s+(?:only\s+)?(?:with|exactly|this)\b",
    re.I,
)
_PAYLOAD = re.compile(
    r"\b(?:reply|respond|answer|say|write|post|tweet)\s+(?:only\s+)?(?:with|exactly|this)\s*:?\s*"
    r"(.{3,400})",
    re.I | re.S,
)
_MASS = re.compile(
    r"<!(?:everyone|here|channel|subteam\^)[^>]*>|<[@#][A-Z0-9]+(?:\|[^>]*)?>"
    r"|(?<![\w.@])@(?:everyone|here|channel|all)\b",
    re.I,
)
_AT = re.compile(r"(?<![\w.@+-])@([A-Za-z0-9_][\w.@-]*[A-Za-z0-9_]|[A-Za-z0-9_])")
_LEADING_AT = re.compile(r"^@[A-Za-z0-9_][\w.@-]*\s")
"""The reply's own address ("@dana "), built only from a valid handle."""
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*>|&#?\w+;|javascript:", re.I)
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


def normalise(text: str) -> str:
    """Lower-case, straight quotes, single spaces: the form phrases are matched in."""
    return " ".join(text.translate(_QUOTES).lower().split())


def forbidden_phrases(text: str, cfg: GuardrailConfig) -> list[str]:
    """Configured phrases the text contains (liability, compensation unless allowed, extras)."""
    phrases = [*cfg.liability_phrases, *cfg.forbidden_phrases]
    if not cfg.allow_compensation:
        phrases += cfg.compensation_phrases
    flat = normalise(text)
    found = []
    for phrase in phrases:
        if phrase.startswith("re:"):
            hit = re.search(phrase[3:], flat, re.I) is not None
        else:
            hit = re.search(rf"(?<!\w){re.escape(normalise(phrase))}(?!\w)", flat) is not None
        if hit:
            found.append(f"forbidden phrase: {phrase!r}")
    return found


def allowed_hosts(brand: BrandConfig) -> set[str]:
    """Domains drafts may link to: the brand's website and support site plus allowed_domains."""
    hosts = {urlsplit(u).hostname or "" for u in (brand.website, brand.support_url)}
    hosts |= {d.lower().strip().removeprefix("www.") for d in brand.allowed_domains}
    return {h.removeprefix("www.") for h in hosts if h}


def _host_allowed(host: str, allowed: set[str]) -> bool:
    host = host.lower().rstrip(".").removeprefix("www.")
    return any(host == a or host.endswith("." + a) for a in allowed)


def links(text: str, brand: BrandConfig) -> list[str]:
    """Links (with or without a scheme) to hosts outside the allowlist."""
    allowed = allowed_hosts(brand)
    problems = []
    for raw in _URL.findall(text):
        url = raw.rstrip(".,;:!?")
        host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
        if not _host_allowed(host, allowed):
            problems.append(f"link outside the allowlist: {url}")
    no_urls = _URL.sub(" ", _EMAIL.sub(" ", text))
    domains = _BARE_DOMAIN.findall(no_urls)
    domains += [urlsplit("http://" + u).hostname or "" for u in x_urls(no_urls)]
    for domain in dict.fromkeys(domains):
        if not _host_allowed(domain, allowed):
            problems.append(f"domain outside the allowlist: {domain}")
    return problems


def addresses(text: str, brand: BrandConfig) -> list[str]:
    """Mass mentions (``@everyone``, Slack ``<!here>``), @-mentions of anyone but the brand's
    own accounts, markup and invisible control characters.

    The ``@handle`` a reply starts with is exempt: it is built only from a handle valid on its
    platform (:mod:`repbot.platforms`); a mass mention there is still refused.
    """
    problems = [f"mass mention: {m}" for m in _MASS.findall(text)]
    own = {h.lower().lstrip("@") for h in brand.handles.values()}
    no_email = _LEADING_AT.sub("", _EMAIL.sub(" ", text))
    problems += [
        f"mentions someone: @{m}"
        for m in _AT.findall(no_email)
        if m.lower() not in own and m.lower() not in ("everyone", "here", "channel", "all")
    ]
    problems += [f"markup: {m}" for m in _MARKUP.findall(text)]
    if _CONTROL.search(text):
        problems.append("invisible or control characters")
    return problems


def contacts(text: str, brand: BrandConfig) -> list[str]:
    """E-mail addresses and phone numbers other than the brand's own."""
    own_email = (brand.support_email or "").lower()
    own_phone = re.sub(r"\D", "", brand.support_phone or "")
    problems = [
        f"e-mail address not the brand's: {e}"
        for e in _EMAIL.findall(text)
        if e.lower() != own_email
    ]
    for phone in _PHONE.findall(text):
        digits = re.sub(r"\D", "", phone)
        if 7 <= len(digits) <= 15 and digits != own_phone:
            problems.append(f"phone number not the brand's: {phone.strip()}")
    return problems


def copied(text: str, others: Iterable[str], n: int) -> list[str]:
    """Text shared word-for-word (``n`` words in a row) with other customers' mentions."""
    hit = shared_ngram(text, others, n)
    return [f"copies another customer's words: {hit!r}"] if hit else []


def injection_suspected(mention_text: str) -> bool:
    """Whether the mention tries to instruct the responder."""
    return _INJECTION.search(mention_text) is not None


def strip_instructions(mention_text: str) -> str:
    """``mention_text`` without instructions aimed at us and what they ask us to say.

    Personalisation and retrieval read this, so an injected payload ("reply with: ... scam")
    cannot steer which problem, topic or snippet a reply is about.
    """
    if not injection_suspected(mention_text):
        return mention_text
    return " ".join(_INJECTION.sub(" ", _PAYLOAD.sub(" ", mention_text)).split())


def obeys_injection(text: str, mention_text: str, n: int) -> list[str]:
    """Problems when the draft repeats what an instruction inside the mention asked for."""
    if not injection_suspected(mention_text):
        return []
    problems = []
    for payload in _PAYLOAD.findall(mention_text):
        tokens = words(payload)
        size = min(n, len(tokens))
        if size and ngrams(words(text), size) & ngrams(tokens, size):
            problems.append("follows an instruction embedded in the mention")
            break
    lowered = normalise(text)
    if "system prompt" in lowered or "my instructions" in lowered:
        problems.append("talks about its own instructions")
    return problems


def check(
    text: str,
    *,
    brand: BrandConfig,
    cfg: GuardrailConfig,
    mention_text: str = "",
    others: Sequence[str] = (),
) -> list[str]:
    """Every problem ``text`` has; an empty list means the draft may be shown to approvers."""
    if not text.strip():
        return ["empty draft"]
    return [
        *forbidden_phrases(text, cfg),
        *links(text, brand),
        *contacts(text, brand),
        *addresses(text, brand),
        *copied(text, [o for o in others if o != mention_text], cfg.copy_ngram),
        *obeys_injection(text, mention_text, cfg.injection_ngram),
    ]
