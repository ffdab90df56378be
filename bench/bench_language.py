"""Language detection benchmark: accuracy per language, abstention, texts/s, memory.

Every candidate sees the same input as ``repbot.classify.language.detect_language``: the text
normalised, @user/URLs/hashtags/digits removed, ``None`` below ``MIN_LETTERS`` letters and
Japanese/Korean/Thai/Hebrew decided by script (``prepare``); only the library call differs.
Each candidate runs in a fresh interpreter so its memory (RSS delta) is its own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from repbot.classify.language import LANGUAGES, MIN_PROBABILITY, prepare

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/data/languages.tsv"
LANGDETECT_MIN_PROB = 0.5
REPLY_LANGUAGES = (
    "ar", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "it", "ja", "ko",
    "nl", "no", "pl", "pt", "ro", "ru", "sv", "th", "tr", "uk", "zh",
)  # fmt: skip
"""A narrow set for comparison: the responder's language names plus Hebrew and Thai."""

Detect = Callable[[str], str | None]


def read_set(path: Path = DATA) -> list[tuple[str, str]]:
    """``(text, lang)`` rows of a ``text<TAB>lang`` file."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            text, lang = line.rsplit("\t", 1)
            rows.append((text, lang))
    return rows


def _wrap(raw: Detect) -> Detect:
    """``raw`` behind the shared preparation (noise removal, length floor, script shortcuts)."""

    def detect(text: str) -> str | None:
        prepared = prepare(text)
        if prepared is None:
            return None
        cleaned, by_script = prepared
        return by_script or raw(cleaned)

    return detect


def _langdetect() -> Detect:
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    def raw(text: str) -> str | None:
        DetectorFactory.seed = 0
        try:
            guesses = detect_langs(text)
        except LangDetectException:
            return None
        if not guesses or guesses[0].prob < LANGDETECT_MIN_PROB:
            return None
        return str(guesses[0].lang).split("-")[0]

    return _wrap(raw)


def _py3langid(languages: Sequence[str] | None) -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages:
        identifier.set_languages(languages)

    def raw(text: str) -> str | None:
        return str(identifier.classify(text)[0])

    return _wrap(raw)


def _lingua(low_accuracy: bool, restricted: bool) -> Detect:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if restricted:
        names = [{"no": "NB"}.get(c, c.upper()) for c in LANGUAGES]
        codes = [getattr(IsoCode639_1, n) for n in names if hasattr(IsoCode639_1, n)]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def raw(text: str) -> str | None:
        found: Language | None = detector.detect_language_of(text)
        code = found.iso_code_639_1.name.lower() if found else None
        return "no" if code == "nb" else code

    return _wrap(raw)


def _shipped() -> Detect:
    from repbot.classify.language import detect_language

    return detect_language


CANDIDATES: dict[str, Callable[[], Detect]] = {
    "langdetect (before)": _langdetect,
    "py3langid, all 142": lambda: _py3langid(None),
    f"py3langid, {len(REPLY_LANGUAGES)} reply languages": lambda: _py3langid(REPLY_LANGUAGES),
    "py3langid, restricted": lambda: _py3langid(LANGUAGES),
    "lingua low acc., all 75": lambda: _lingua(low_accuracy=True, restricted=False),
    "lingua low acc., restricted": lambda: _lingua(True, True),
    "lingua high acc., all 75": lambda: _lingua(low_accuracy=False, restricted=False),
    "lingua high acc., restricted": lambda: _lingua(False, True),
    "repbot detect_language (shipped)": _shipped,
}


def _memory_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    rss, peak = (re.search(key + r":\s+(\d+)", status) for key in ("VmRSS", "VmHWM"))
    return (int(rss.group(1)) / 1024 if rss else 0.0, int(peak.group(1)) / 1024 if peak else 0.0)


def measure(name: str, reps: int) -> dict[str, Any]:
    """Predictions, load and run seconds and memory of one candidate (run in its own process)."""
    texts = [text for text, _ in read_set()]
    rss0, _ = _memory_mb()
    started = time.perf_counter()
    detect = CANDIDATES[name]()
    predictions = [detect(t) for t in texts]
    load_s = time.perf_counter() - started
    timed = time.perf_counter()
    for _ in range(reps):
        for text in texts:
            detect(text)
    seconds = time.perf_counter() - timed
    rss, peak = _memory_mb()
    return {
        "predictions": list(predictions),
        "texts_per_s": reps * len(texts) / seconds,
        "first_pass_s": load_s,
        "rss_mb": rss - rss0,
        "peak_mb": peak - rss0,
    }


def _in_subprocess(name: str, reps: int) -> dict[str, Any] | str:
    code = (
        "import json, sys\nfrom bench.bench_language import measure\n"
        "print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, name, str(reps)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if out.returncode != 0:
        return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _row(name: str, res: dict[str, Any], gold: list[str], base_rate: float | None) -> str:
    preds = res["predictions"]
    right = sum(p == g for p, g in zip(preds, gold, strict=True))
    answered = sum(p is not None for p in preds)
    speed = f" ({res['texts_per_s'] / base_rate:.0f}x)" if base_rate else ""
    return (
        f"| {name} | {right / len(gold):.3f} | {right / max(answered, 1):.3f} | "
        f"{1 - answered / len(gold):.3f} | {res['texts_per_s']:,.0f}{speed} | "
        f"{res['first_pass_s']:.2f} | {res['rss_mb']:.0f} | {res['peak_mb']:.0f} |"
    )


def _per_language(results: dict[str, dict[str, Any]], gold: list[str]) -> list[str]:
    names = list(results)
    langs = sorted(set(gold), key=lambda lang: (-gold.count(lang), lang))
    lines = [
        "| lang | n | " + " | ".join(f"({i + 1})" for i in range(len(names))) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for lang in langs:
        idx = [i for i, g in enumerate(gold) if g == lang]
        cells = [
            f"{sum(results[n]['predictions'][i] == lang for i in idx) / len(idx):.2f}"
            for n in names
        ]
        lines.append(f"| {lang} | {len(idx)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Columns: " + "; ".join(f"({i + 1}) {n}" for i, n in enumerate(names)) + ".")
    return lines


def run(quick: bool = False) -> str:
    """Measure every candidate on tests/data/languages.tsv; the Markdown section."""
    rows = read_set()
    gold = [lang for _, lang in rows]
    reps = 1 if quick else 3
    results: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for name in CANDIDATES:
        res = _in_subprocess(name, reps)
        if isinstance(res, str):
            failures.append(f"* {name}: not measured ({res})")
        else:
            results[name] = res
    base = results.get("langdetect (before)")
    base_rate = float(base["texts_per_s"]) if base else None
    lengths = sorted(len(text) for text, _ in rows)
    lines = [
        "### Language detection: accuracy on short mentions, throughput, memory",
        "",
        "| candidate | accuracy | acc. when answered | abstained | texts/s (vs langdetect)"
        " | first pass s | RSS Δ MB | peak Δ MB |",
        "|---|---|---|---|---|---|---|---|",
        *(_row(name, res, gold, base_rate) for name, res in results.items()),
        *failures,
        "",
        *_per_language(results, gold),
        "",
        f"Input: tests/data/languages.tsv, {len(rows)} hand-written brand mentions in "
        f"{len(set(gold))} languages, {lengths[0]}-{lengths[-1]} characters (median "
        f"{lengths[len(lengths) // 2]}). Restricted = `LANGUAGES` in repbot/classify/language.py "
        f"({len(LANGUAGES)}: {', '.join(LANGUAGES)}; lingua lacks some). The shipped detector is "
        f"py3langid restricted plus `None` under probability {MIN_PROBABILITY}. Library rows "
        "have no threshold but langdetect's 0.5 as before. Accuracy counts "
        "an abstention (None) as wrong. texts/s: one thread, "
        f"{reps} pass(es) after a first pass that loads the models (first pass s); "
        "RSS Δ: resident memory after the runs minus before building the detector, in a "
        "fresh interpreter. Command: `python -m bench language`.",
        "",
    ]
    return "\n".join(lines)
