"""Sentiment for Spanish, French, German and Portuguese: polarity lexicons over the model.

English gets a short list of customer-care cues too (``LEXICONS["en"]``).

The embedded model was trained on English tweets: on other languages it mostly answers
neutral (docs/CLASSIFIER.md, "Other languages"). For a mention detected as one of
``LEXICONS``' languages, polarity words and phrases of that language (accents and case
ignored, whole words) move the model's probabilities toward the side they take; a negator
just before a positive word turns it negative ("no es bueno" needs no entry of its own when
"bueno" is positive). A mention without any lexicon hit keeps the model's answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from repbot.classify.results import LABELS, Classifier, SentimentResult

WEIGHT_PER_HIT = 0.6
"""Share of the probability mass moved to the lexicon's side per net hit (at most 0.9):
on these languages the English model's "neutral" mostly means "not understood"."""
MAX_WEIGHT = 0.9
NEGATION_WINDOW = 3
"""A negator up to this many words before a positive word makes it negative."""


@dataclass(frozen=True)
class Lexicon:
    """Polarity terms of one language (accent-free, lower-case; ``*`` ends a prefix)."""

    negative: tuple[str, ...]
    positive: tuple[str, ...]
    negators: tuple[str, ...]


LEXICONS: dict[str, Lexicon] = {
    # English: the model reads English well, so only unambiguous customer-care cues that it
    # was measured to miss (praise that tells the story of a problem, "charged me twice").
    "en": Lexicon(
        negative=(
            "charged me twice", "charged twice", "double charged", "overcharged",
            "calling my lawyer", "contacting my lawyer", "my lawyer", "chargeback",
            "never arrived", "still waiting", "worst",
        ),
        positive=(
            "shout-out", "shout out", "shoutout", "kudos", "hats off", "props to",
            "above and beyond", "thank you so much", "big thanks", "lifesaver", "brilliant",
        ),
        negators=("not", "no", "never", "nobody", "without"),
    ),
    "es": Lexicon(
        negative=(
            "mal", "malo", "mala", "pesim*", "horrible*", "fatal", "terrible*", "verguenza",
            "estafa*", "fraude", "timo", "peor", "harto", "harta", "nadie responde",
            "nadie contesta", "no contesta*", "no responde*", "no funciona*", "falla*", "fallo",
            "roto", "rota", "bloque*", "decepcion*", "queja*", "cobraron dos veces",
            "indignad*", "inaceptable", "lamentable", "desastre", "nunca llego", "sin respuesta",
            "esperando", "abogado", "denuncia*", "odio",
        ),
        positive=(
            "excelente*", "genial*", "gracias", "encanta*", "perfect*", "buenisim*",
            "recomendad*", "recomiendo", "content*", "feliz", "rapid*", "fantastic*",
            "maravill*", "increible", "mejor", "bueno", "buena", "resuelto",
            "resolverlo", "ayudaron", "facil",
        ),
        negators=("no", "nunca", "nada", "ni", "sin", "jamas"),
    ),
    "fr": Lexicon(
        negative=(
            "catastroph*", "nul", "nulle", "honteu*", "honte", "decu*", "decevant*", "pire",
            "arnaque*", "escroc*", "horrible*", "inadmissible", "mauvais*", "personne ne repond",
            "aucune reponse", "ne fonctionne pas", "ne marche pas", "ne marche plus", "plante*",
            "bloque*", "jamais recu*", "pas rembourse*", "toujours pas", "scandale*",
            "inacceptable", "lamentable", "attente", "debite deux fois", "avocat", "plainte",
            "deteste",
        ),
        positive=(
            "super", "merci", "adore*", "excellent*", "parfait*", "genial*", "recommande",
            "satisfait*", "bravo", "rapide*", "pratique", "sympa*", "top", "formidable",
            "regle", "content*", "meilleur*",
        ),
        negators=("ne", "pas", "jamais", "aucun", "aucune", "sans"),
    ),
    "de": Lexicon(
        negative=(
            "schrecklich*", "schlecht*", "katastroph*", "frechheit", "betrug*", "enttausch*",
            "nervig", "sturzt", "absturz*", "gesperrt", "funktioniert nicht", "klappt nicht",
            "keiner hilft", "niemand antwortet", "reagiert nicht", "nie angekommen",
            "finger weg", "unverschamt*", "argerlich*", "miserabel*", "mies*", "zweimal belastet",
            "hangt", "warte", "beschwerde", "anwalt", "unmoglich*", "schlimm*", "abzocke*",
        ),
        positive=(
            "super", "danke", "dank", "toll*", "einwandfrei", "perfekt*", "zufrieden*", "beste*",
            "empfehlenswert", "schnell*", "gelost", "bestens", "klasse", "prima", "hervorragend*",
            "gut", "gute*", "freundlich*", "hilfreich*",
        ),
        negators=("nicht", "kein", "keine", "keinen", "nie", "niemals", "ohne"),
    ),
    "pt": Lexicon(
        negative=(
            "pessim*", "horrivel", "terrivel", "vergonha", "pior", "golpe", "fraude",
            "farto", "farta", "ninguem responde", "nao responde*", "nao funciona*",
            "trava*", "falha*", "bloquea*", "nunca chegou", "decepcion*", "absurdo",
            "lamentavel", "inaceitavel", "desastre", "cobraram duas vezes", "esperando",
            "advogado", "reclamacao", "odeio", "ruim",
        ),
        positive=(
            "otim*", "excelente*", "obrigad*", "adorei", "adoro", "perfeit*", "satisfeit*",
            "recomendo", "rapid*", "demais", "maravilhos*", "incrivel", "melhor", "bom", "boa",
            "resolveram", "facil", "parabens",
        ),
        negators=("nao", "nunca", "nada", "nem", "sem", "jamais"),
    ),
}  # fmt: skip


def fold(text: str) -> str:
    """Lower-case ``text`` without accents (``Pésimo`` -> ``pesimo``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _pattern(terms: Sequence[str]) -> re.Pattern[str]:
    parts = [
        re.escape(t[:-1]) + r"\w*" if t.endswith("*") else re.escape(t)
        for t in sorted(terms, key=len, reverse=True)
    ]
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


_COMPILED = {
    lang: (_pattern(lex.negative), _pattern(lex.positive), frozenset(lex.negators))
    for lang, lex in LEXICONS.items()
}
_WORD = re.compile(r"\w+")


def polarity_hits(text: str, language: str) -> tuple[int, int]:
    """``(negative, positive)`` hits of ``language``'s lexicon in ``text`` (0, 0 if none)."""
    compiled = _COMPILED.get(language)
    if compiled is None:
        return 0, 0
    negative, positive, negators = compiled
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    n_neg = 0
    for match in negative.finditer(folded):
        spans.append(match.span())
        n_neg += 1
    n_pos = 0
    for match in positive.finditer(folded):
        if any(s <= match.start() < e for s, e in spans):
            continue  # inside a negative phrase ("no funciona")
        before = _WORD.findall(folded[: match.start()])[-NEGATION_WINDOW:]
        if negators.intersection(before):
            n_neg += 1
        else:
            n_pos += 1
    return n_neg, n_pos


def adjust(result: SentimentResult, n_neg: int, n_pos: int) -> SentimentResult:
    """Move ``result``'s probabilities toward the side the lexicon hits take."""
    net = n_pos - n_neg
    if net == 0:
        return result
    weight = min(MAX_WEIGHT, WEIGHT_PER_HIT * abs(net))
    side = "positive" if net > 0 else "negative"
    probs = {
        label: round(
            (1 - weight) * result.probs.get(label, 0.0) + (weight if label == side else 0.0), 6
        )
        for label in LABELS
    }
    return SentimentResult(max(probs, key=lambda k: probs[k]), probs)


class LanguageAwareClassifier:
    """Wraps an English classifier: mentions in a ``LEXICONS`` language get the lexicon's say.

    ``detect`` is the language detector (``detect_language``, about 0.3 ms a text).
    """

    def __init__(
        self,
        inner: Classifier,
        languages: Sequence[str],
        detect: Callable[[str], str | None],
    ) -> None:
        unknown = sorted(set(languages) - set(LEXICONS))
        if unknown:
            raise ValueError(f"no sentiment lexicon for {unknown}; known: {sorted(LEXICONS)}")
        self.inner = inner
        self.languages = tuple(languages)
        self._detect = detect

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        """The inner classifier's results, adjusted for mentions in a lexicon language."""
        results = self.inner.classify(texts)
        return [self._one(t, r) for t, r in zip(texts, results, strict=True)]

    def _one(self, text: object, result: SentimentResult) -> SentimentResult:
        if not isinstance(text, str) or not text:
            return result
        language = self._detect(text)
        if language not in self.languages:
            return result
        return adjust(result, *polarity_hits(text, language))
