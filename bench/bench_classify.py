"""Classifier benchmark: quality on three sets, throughput, latency, memory, naive baseline."""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from repbot.classify import ClassifierConfig, load_classifier
from repbot.classify.config import WEIGHTS_DIR
from repbot.classify.dataset import read_labelled, read_split, read_twcs_split, write_labelled
from repbot.classify.evaluate import evaluate
from repbot.classify.model import base_model_dir, load, load_tokenizer
from repbot.classify.results import LABELS, Classifier
from repbot.classify.sentiment import TorchClassifier
from repbot.classify.text import normalize
from repbot.classify.train import DEV_FILE

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data/sentiment/semeval-twitter-2013-2016"
DEV = DATA / DEV_FILE
SETS = {
    "SemEval 2016 devtest (held out)": DEV,
    "customer-to-brand tweets (tests/data)": ROOT / "tests/data/classify_brand_tweets.tsv",
    "product/place reviews (tests/data)": ROOT / "tests/data/classify_reviews.tsv",
}
TWCS = SHARED / "data/conversations/twcs-first-5000.csv"
TEST_DATA = ROOT / "tests/data"
OWN_SPLITS = {  # the project's own sets (issue 15): tuned on dev, reported on test
    "customer tweets, Customer Support on Twitter, hand-labelled (test split)": "twcs",
    "customer tweets with emoji, Customer Support on Twitter, hand-labelled (test split)": (
        "twcs_emoji"
    ),
    "review sentences (tests/data, test split)": TEST_DATA / "review_sentences.tsv",
    "es/fr/de/pt mentions (tests/data, test split)": TEST_DATA / "sentiment_multilingual.tsv",
}
TWCS_LABELS = {"twcs": "twcs_labels.tsv", "twcs_emoji": "twcs_emoji_labels.tsv"}
FIXTURES = SHARED / "fixtures/other_platforms"
RECORDED_REVIEWS = "real reviews recorded in ../shared/fixtures (Google Places, Yelp)"
RSS_SCRIPT = """
import re
from repbot.classify import ClassifierConfig, load_classifier
clf = load_classifier(ClassifierConfig(quantize=QUANT, threads=2))
clf.classify(["warm up text"] * 64)
status = open("/proc/self/status").read()
for key in ("VmRSS", "VmHWM"):
    print(int(re.search(key + r":\\s+(\\d+)", status).group(1)) // 1024, end=" ")
"""

MODELS_RSS_SCRIPT = """
import re
from repbot.classify import ClassifierConfig, SentenceEmbedder, load_classifier
from repbot.classify.language import detect_language
from repbot.classify import model
if not SHARE:  # as before issue 15: the classifier loads a copy of its own
    build = model.build
    model.build = lambda meta, *args, share=False, **kw: build(meta, *args, **kw)
clf = load_classifier(ClassifierConfig(threads=2))
emb = SentenceEmbedder.default() if SHARE else SentenceEmbedder(model.base_model_dir())
clf.classify(["warm up text"] * 64)
emb.embed(["warm up text"] * 64)
detect_language("warm up text in English")
status = open("/proc/self/status").read()
for key in ("VmRSS", "VmHWM"):
    print(int(re.search(key + r":\\s+(\\d+)", status).group(1)) // 1024, end=" ")
"""


class MeanPoolBertForSequenceClassification(BertPreTrainedModel):  # type: ignore[misc,no-untyped-call]
    """The embedded network as a standard HF classifier, so ``pipeline()`` can run it."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, int(config.num_labels or 3))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any
    ) -> SequenceClassifierOutput:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return SequenceClassifierOutput(logits=self.classifier(pooled))


def naive_pipeline() -> Any:
    """``transformers.pipeline("sentiment-analysis")`` over the same merged fp32 network."""
    from transformers import pipeline

    net, _ = load(WEIGHTS_DIR)
    config = BertConfig.from_pretrained(
        str(base_model_dir()), id2label=dict(enumerate(LABELS)), num_labels=3
    )
    model = MeanPoolBertForSequenceClassification(config)
    model.bert.load_state_dict(net.encoder.state_dict(), strict=False)
    model.classifier.load_state_dict(net.head.state_dict())
    model.eval()  # type: ignore[no-untyped-call]
    return pipeline(  # type: ignore[call-overload]
        "sentiment-analysis",
        model=model,
        tokenizer=load_tokenizer(base_model_dir()),
        device=-1,
    )


def corpus(n: int) -> list[str]:
    """``n`` realistic texts: the dev tweets when shared data is present, else our own sets."""
    source = DEV if DEV.is_file() else SETS["customer-to-brand tweets (tests/data)"]
    texts = [text for text, _ in read_labelled(source)]
    return (texts * (n // max(len(texts), 1) + 1))[:n]


def throughput(clf: Classifier, texts: list[str]) -> float:
    clf.classify(texts[:64])
    started = time.perf_counter()
    clf.classify(texts)
    return len(texts) / (time.perf_counter() - started)


def latency_ms(clf: Classifier, texts: list[str]) -> tuple[float, float]:
    samples = []
    for text in texts:
        started = time.perf_counter()
        clf.classify([text])
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def rss_mb(quantize: bool, script: str = RSS_SCRIPT) -> tuple[int, int]:
    """Resident and peak memory (MB) of a fresh process holding the loaded classifier."""
    script = script.replace("QUANT", str(quantize)).replace("SHARE", str(quantize))
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rss, peak = out.stdout.strip().splitlines()[-1].split()
    return int(rss), int(peak)


def naive_rate(texts: list[str]) -> float:
    pipe = naive_pipeline()
    pipe(normalize(texts[0]))
    started = time.perf_counter()
    for text in texts:
        pipe(normalize(text), truncation=True, max_length=128)
    return len(texts) / (time.perf_counter() - started)


def star_label(stars: int) -> str:
    """1–2★ negative, 3★ neutral, 4–5★ positive (as in tests/data/classify_reviews.tsv)."""
    return "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"


def recorded_reviews(out: Path) -> Path | None:
    """The star-rated reviews in the recorded API fixtures, as a labelled TSV at ``out``."""
    google = (
        FIXTURES / "google_places_reviews_extracted/places_v1_place_details_reviews_response.json"
    )
    yelp = FIXTURES / "yelp_fusion_extracted/yelp_v3_business_reviews_response.json"
    if not google.is_file() or not yelp.is_file():
        return None
    rows = [(r["text"]["text"], r["rating"]) for r in json.loads(google.read_text())["reviews"]]
    rows += [(r["text"], r["rating"]) for r in json.loads(yelp.read_text())["reviews"]]
    out.write_text(
        "".join(f"{' '.join(text.split())}\t{star_label(int(stars))}\n" for text, stars in rows)
    )
    return out


def own_splits(tmp: Path, split: str = "test") -> dict[str, Path]:
    """The project's own evaluation sets as ``text<TAB>label`` files under ``tmp``."""
    out = {}
    for index, (name, source) in enumerate(OWN_SPLITS.items()):
        if source in ("twcs", "twcs_emoji"):
            if not TWCS.is_file():
                continue
            rows = read_twcs_split(TEST_DATA / TWCS_LABELS[source], TWCS, split)
        else:
            rows = read_split(Path(source), split)
        out[name] = write_labelled(rows, tmp / f"own-{index}.tsv")
    return out


def quality(clf: Any) -> dict[str, dict[str, Any]]:
    sets = {name: path for name, path in SETS.items() if path.is_file()}
    with tempfile.TemporaryDirectory() as tmp:
        recorded = recorded_reviews(Path(tmp) / "reviews.tsv")
        if recorded is not None:
            sets[RECORDED_REVIEWS] = recorded
        sets |= own_splits(Path(tmp))
        return {name: evaluate(clf, path) for name, path in sets.items()}


def onnx_classifier(tmp: Path) -> TorchClassifier | None:
    """The same merged network exported to ONNX and quantised to int8 (per channel) by
    ONNX Runtime: measured against the shipped torch runtime, not used by repbot."""
    try:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        return None
    net, _ = load(WEIGHTS_DIR)
    sample = torch.ones((2, 16), dtype=torch.long)
    mask = sample.clone()
    mask[1, 8:] = 0  # trace the padded-batch path, as inference batches are padded
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    fp32, int8 = tmp / "model.onnx", tmp / "model.int8.onnx"
    with warnings.catch_warnings():  # tracer notes on shapes; checked by the quality rows
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (sample, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    logging.getLogger().setLevel(logging.ERROR)  # ORT's "consider pre-processing" hint
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    session = onnxruntime.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])

    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
        (logits,) = session.run(["logits"], feed)
        return torch.softmax(torch.from_numpy(logits), dim=-1)

    cfg = ClassifierConfig()
    return TorchClassifier(
        forward,
        load_tokenizer(base_model_dir()),
        max_tokens=cfg.max_tokens,
        batch_size=cfg.batch_size,
        device=torch.device("cpu"),
    )


def speed(clf: Classifier, texts: list[str], single: list[str]) -> dict[str, Any]:
    return {"rate": throughput(clf, texts), "latency": latency_ms(clf, single)}


def measure(quick: bool) -> dict[str, Any]:
    torch.set_num_threads(2)
    texts = corpus(300 if quick else 2000)
    single = texts[: 50 if quick else 200]
    variants: dict[str, Any] = {}
    for quantize, name in ((True, "int8 dynamic (default)"), (False, "fp32")):
        clf = load_classifier(ClassifierConfig(quantize=quantize, threads=2))
        variants[name] = speed(clf, texts, single) | {
            "rss": rss_mb(quantize),
            "quality": quality(clf),
        }
    plain = load_classifier(ClassifierConfig(threads=2, languages=[]))
    variants["int8, lexicons off"] = speed(plain, texts, single) | {"quality": quality(plain)}
    with tempfile.TemporaryDirectory() as tmp:
        onnx = onnx_classifier(Path(tmp))
        if onnx is not None:
            variants["ONNX Runtime int8 (not shipped)"] = speed(onnx, texts, single) | {
                "quality": quality(onnx)
            }
    return {
        "n_batch": len(texts),
        "variants": variants,
        "naive_rate": naive_rate(texts[: 100 if quick else 300]),
        "models_rss": {
            "shared": rss_mb(True, MODELS_RSS_SCRIPT),
            "separate": rss_mb(False, MODELS_RSS_SCRIPT),
        },
    }


def _row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def _table(results: dict[str, Any]) -> list[str]:
    variants = results["variants"]
    cols = list(variants.values())
    naive = results["naive_rate"]
    rows = [
        _row("figure", list(variants)),
        "|---" * (len(cols) + 1) + "|",
        _row(
            f"batch throughput, texts/s ({results['n_batch']} texts)",
            [f"{v['rate']:.0f}" for v in cols],
        ),
        _row(
            "single-mention latency p50 / p95, ms",
            [f"{v['latency'][0]:.1f} / {v['latency'][1]:.1f}" for v in cols],
        ),
        _row(
            "RSS / peak of a process with the loaded classifier, MB",
            [f"{v['rss'][0]} / {v['rss'][1]}" if "rss" in v else "—" for v in cols],
        ),
        _row(
            f"speed-up vs naive per-item `pipeline()` ({naive:.0f} texts/s)",
            [f"{v['rate'] / naive:.1f}x" for v in cols],
        ),
    ]
    for name, first in cols[0]["quality"].items():
        rows.append(
            _row(
                f"macro recall / accuracy: {name}, n={first['n']}",
                [
                    f"{v['quality'][name]['macro_recall']:.3f} / "
                    f"{v['quality'][name]['accuracy']:.3f}"
                    for v in cols
                ],
            )
        )
    return rows


def run(quick: bool = False) -> str:
    """Measure and return the Markdown section for bench/RESULTS.md."""
    results = measure(quick)
    meta = json.loads((WEIGHTS_DIR / "adapter.json").read_text())
    info = meta.get("train_info", {})
    size_mb = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir()) / 1e6
    lines = [
        "### Sentiment classifier (embedded MiniLM-L6 + LoRA adapter)",
        "",
        *_table(results),
        "",
        "One process holding the classifier, the retrieval encoder and the language "
        "detector (RSS / peak, MB): "
        f"{results['models_rss']['shared'][0]} / {results['models_rss']['shared'][1]} with the "
        "embedding tables shared (default), "
        f"{results['models_rss']['separate'][0]} / {results['models_rss']['separate'][1]} "
        "with a separate encoder copy (as before issue 15).",
        "",
        f"Weights: `repbot/classify/weights/` ({size_mb:.1f} MB), "
        f"trained by `repbot train` in {info.get('seconds', '?')} s on {info.get('threads', '?')} "
        f"threads, seed {info.get('seed', '?')}, {info.get('epochs', '?')} epochs, "
        f"{info.get('examples', '?')} tweets. Per-class figures: `repbot eval --data FILE --json`.",
        "The issue's reference figures, and those re-measured on this dev file, are in "
        'the section "Classifier references re-measured on the dev file".',
        "",
        "Command: `python -m bench classify`" + (" (quick)" if quick else ""),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
