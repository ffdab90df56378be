"""Sentiment classifier: label mapping, loading errors, bad input, eval metrics and command."""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from repbot.classify import (
    ClassifierConfig,
    SentenceEmbedder,
    SentimentResult,
    UrgencyConfig,
    analyze,
    detect_language,
    load_classifier,
)
from repbot.classify.commands import add_commands
from repbot.classify.config import WEIGHTS_DIR
from repbot.classify.dataset import parse_line, read_labelled
from repbot.classify.evaluate import evaluate, metrics
from repbot.classify.model import (
    ADAPTER_FILE,
    META_FILE,
    base_model_dir,
    load_tokenizer,
)
from repbot.classify.sentiment import TorchClassifier, label_projection
from repbot.classify.text import MAX_MODEL_CHARS, normalize, sentiment_text
from repbot.errors import ModelError
from repbot.models import Mention

LABELS = {"negative", "neutral", "positive"}
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEV_FILE = SHARED / "data/sentiment/semeval-twitter-2013-2016/twitter-2016devtest-A.txt"
DATA = Path(__file__).parent / "data"
BAD_INPUTS = [
    "",
    "   \n\t ",
    "x" * 100_000,
    "😀🔥💯🙏" * 10,
    "<div><p>Great <b>service</b>!</p><script>alert(1)</script></div>",
    "Bonjour 你好 привет مرحبا hello 🙂",
    "El servicio fue terrible, nunca más vuelvo",
    "\x00\x01 control chars \ud7ff",
]


def tiny_model(path: Path, id2label: dict[int, str]) -> Path:
    """A random-weight BERT sequence classifier with the base tokenizer, saved to ``path``."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(config).save_pretrained(path)
    load_tokenizer(base_model_dir()).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def odd_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    return tiny_model(tmp_path_factory.mktemp("odd"), labels)


@pytest.fixture(scope="module")
def embedded() -> TorchClassifier:
    return load_classifier(ClassifierConfig())


@pytest.fixture(scope="module")
def fp32() -> TorchClassifier:
    return load_classifier(ClassifierConfig(quantize=False))


ODD_MAP = {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}


def test_normalize_like_tweeteval() -> None:
    assert normalize("@Acme_Help see https://t.co/x1 &amp; www.a.com") == "@user see http & http"
    assert normalize("<p>hi <b>there</b></p>") == "hi there"
    assert len(normalize("word " * 50_000)) <= MAX_MODEL_CHARS


def test_model_text_spells_emoji_and_typography_as_the_training_tweets_read() -> None:
    assert (
        sentiment_text("So done 😡😡😡 … didn’t “work”")
        == 'So done enraged face ... didn\'t "work"'
    )
    assert sentiment_text("ok 👍🏽 🤦🏾‍♀️") == "ok thumbs up woman facepalming"
    assert sentiment_text("@Acme_Help 😂 https://t.co/x") == "@user face with tears of joy http"
    assert sentiment_text("") == "" and sentiment_text("plain") == "plain"


def test_label_projection_names_and_map() -> None:
    matrix = label_projection({0: "Negative", 1: "NEU", 2: "positive"}, {})
    assert torch.equal(matrix, torch.eye(3))
    swapped = label_projection(
        {0: "LABEL_0", 1: "LABEL_1"}, {"LABEL_0": "positive", "LABEL_1": "negative"}
    )
    assert swapped.tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ModelError, match="label_map"):
        label_projection({0: "LABEL_0"}, {})


def test_hf_model_with_label_map(odd_model: Path) -> None:
    clf = load_classifier(ClassifierConfig(model=str(odd_model), label_map=ODD_MAP))
    results = clf.classify(["great", "awful", *BAD_INPUTS])
    assert len(results) == 2 + len(BAD_INPUTS)
    for r in results:
        assert r.label in LABELS and set(r.probs) == LABELS
        assert math.isclose(sum(r.probs.values()), 1.0, abs_tol=1e-4)
        assert r.label == max(r.probs, key=r.probs.__getitem__)


def test_hf_model_odd_labels_without_map_fail_at_load(odd_model: Path) -> None:
    with pytest.raises(ModelError, match="LABEL_0"):
        load_classifier(ClassifierConfig(model=str(odd_model)))


def test_two_label_model_gives_zero_neutral(tmp_path: Path) -> None:
    path = tiny_model(tmp_path / "m", {0: "NEGATIVE", 1: "POSITIVE"})
    result = load_classifier(ClassifierConfig(model=str(path))).classify(["fine"])[0]
    assert result.probs["neutral"] == 0.0 and result.label != "neutral"


def test_missing_model_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ModelError, match=str(missing)):
        load_classifier(ClassifierConfig(model=str(missing)))
    with pytest.raises(ModelError, match=str(missing)):
        load_classifier(ClassifierConfig(weights=str(missing)))


def test_uncached_hub_id_fails_without_network() -> None:
    with pytest.raises(ModelError, match="no-such-org/no-such-model"):
        load_classifier(ClassifierConfig(model="no-such-org/no-such-model"))


def test_corrupt_weights_name_the_path(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text((WEIGHTS_DIR / META_FILE).read_text())
    (tmp_path / ADAPTER_FILE).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelError, match=str(tmp_path)):
        load_classifier(ClassifierConfig(weights=str(tmp_path)))
    (tmp_path / META_FILE).write_text("{not json")
    with pytest.raises(ModelError, match=str(tmp_path)):
        load_classifier(ClassifierConfig(weights=str(tmp_path)))


def test_corrupt_hf_model_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ModelError, match=str(tmp_path)):
        load_classifier(ClassifierConfig(model=str(tmp_path)))


def test_committed_weights_fit_the_budget() -> None:
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir() if p.is_file())
    assert 0 < total <= 5 * 1024 * 1024


def test_embedded_bad_input_always_gives_a_result(embedded: TorchClassifier) -> None:
    results = embedded.classify(BAD_INPUTS)
    assert [r.label in LABELS for r in results] == [True] * len(BAD_INPUTS)
    assert all(math.isclose(sum(r.probs.values()), 1.0, abs_tol=1e-4) for r in results)


def test_embedded_gets_obvious_cases_and_keeps_order(embedded: TorchClassifier) -> None:
    texts = ["I love this, best day ever, thank you!", "This is the worst, I hate it, awful"] * 3
    labels = [r.label for r in embedded.classify(texts)]
    assert labels == ["positive", "negative"] * 3


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("My order never arrived and support is not answering", "en"),
        ("Mi pedido nunca llegó y nadie responde a mis correos", "es"),
        ("Meine Bestellung ist nie angekommen, sehr enttäuschend", "de"),
        ("注文した商品がまだ届きません", "ja"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
    assert detect_language(text) == detect_language(text)


@pytest.mark.parametrize("text", ["", "  ", "ok", "😀😀😀", "@user http", "#tag 123"])
def test_detect_language_short_or_empty_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_detect_language_never_raises() -> None:
    for text in BAD_INPUTS:
        result = detect_language(text)
        assert result is None or (isinstance(result, str) and 2 <= len(result) <= 3)


def test_metrics_maths_with_absent_predicted_label() -> None:
    gold = ["negative", "negative", "positive", "positive", "positive", "neutral"]
    pred = ["negative", "positive", "positive", "neutral", "bogus", "neutral"]
    m = metrics(gold, pred)
    assert m["n"] == 6
    assert m["per_class"]["negative"] == {"recall": 0.5, "precision": 1.0, "support": 2}
    assert m["per_class"]["positive"]["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["per_class"]["neutral"]["precision"] == 0.5
    assert m["per_class"]["bogus"]["support"] == 0
    assert m["macro_recall"] == pytest.approx((0.5 + 1 / 3 + 1.0) / 3, abs=1e-4)
    assert m["accuracy"] == pytest.approx(3 / 6, abs=1e-4)
    assert m["confusion"]["positive"] == {"bogus": 1, "neutral": 1, "positive": 1}


def test_macro_recall_only_over_labels_present() -> None:
    m = metrics(["positive", "positive"], ["positive", "negative"])
    assert m["macro_recall"] == 0.5


def test_parse_both_formats() -> None:
    assert parse_line("123\tpositive\tgood day\n") == ("good day", "positive")
    assert parse_line("good day\tNegative\n") == ("good day", "negative")
    assert parse_line("no label here\n") is None


class Fixed:
    """A fake classifier answering the same label for every text."""

    def __init__(self, label: str) -> None:
        self.label = label

    def classify(self, texts: list[str]) -> list[SentimentResult]:
        return [SentimentResult(self.label, {self.label: 1.0}) for _ in texts]


def test_evaluate_with_fake(tmp_path: Path) -> None:
    data = tmp_path / "d.tsv"
    data.write_text("a\tpositive\nb\tnegative\n1\tneutral\tc\n\n")
    report = evaluate(Fixed("positive"), data)
    assert report["n"] == 3 and report["macro_recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["texts_per_second"] > 0


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", default=None)
    add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_eval_command_json(
    odd_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repbot.yaml").write_text(
        "classifier:\n  model: "
        + str(odd_model)
        + "\n  label_map:\n"
        + "".join(f"    {k}: {v}\n" for k, v in ODD_MAP.items())
    )
    data = tmp_path / "d.tsv"
    data.write_text("good\tpositive\nbad\tnegative\n9\tneutral\tmeh\n")
    assert run_cli(["eval", "--data", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"n", "macro_recall", "accuracy", "per_class", "confusion", "texts_per_second"} <= set(
        report
    )
    assert report["n"] == 3 and 0 <= report["macro_recall"] <= 1
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 3
    assert run_cli(["eval", "--data", str(data)]) == 0
    assert "macro_recall" in capsys.readouterr().out
    assert run_cli(["eval", "--data", str(tmp_path / "missing.tsv")]) == 2
    assert run_cli(["eval", "--data", str(data), "--model", str(tmp_path / "x")]) == 1


def test_classify_command_explains(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPBOT_CONFIG", raising=False)
    code = run_cli(
        ["classify", "--json", "--followers", "50000", "I want a refund, you charged me twice!!"]
    )
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["label"] == "negative" and row["urgency"] > 0.3
    assert any(name.startswith("escalation") for name, _ in row["explanation"])


def test_analyze_is_json_serialisable(embedded: TorchClassifier) -> None:
    now = datetime.now(UTC)
    mentions = [
        Mention(platform="x", external_id=str(i), text=t, created_at=now)
        for i, t in enumerate([*BAD_INPUTS, "Follow me for free followers"])
    ]
    results = analyze(mentions, embedded, UrgencyConfig(), None, {"0": 2}, now)
    assert len(results) == len(mentions)
    assert results[-1].skip and results[-1].intent == "spam"
    decoded = json.loads(json.dumps([r.to_dict() for r in results]))
    assert decoded[6]["language"] == "es"
    assert any(name.startswith("repeat contact") for name, _ in decoded[0]["explanation"])


def test_sentence_embedder() -> None:
    emb = SentenceEmbedder.default()
    vectors = emb.embed(["how do I reset my password", "password reset help", "pizza toppings"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert emb.embed([]).shape == (0, 384)
    assert SentenceEmbedder.default() is emb


@pytest.mark.shared
@pytest.mark.skipif(not DEV_FILE.is_file(), reason="../shared data absent")
def test_committed_weights_reach_dev_quality(embedded: TorchClassifier, tmp_path: Path) -> None:
    """A fixed 300-tweet subset of the held-out SemEval dev file (every 6th line)."""
    lines = DEV_FILE.read_text(encoding="utf-8").splitlines()[::6][:300]
    subset = tmp_path / "dev300.tsv"
    subset.write_text("\n".join(lines) + "\n")
    report = evaluate(embedded, subset)
    assert report["n"] == 300
    assert report["macro_recall"] >= 0.55  # chance is 0.33; full dev figures in docs


def test_int8_failure_falls_back_to_a_clean_fp32_model(
    fp32: TorchClassifier, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A CPU without int8 kernels gets the fp32 network, not a half-converted one."""

    def half_convert(net: torch.nn.Module, *_: object, **__: object) -> torch.nn.Module:
        net.head = torch.nn.Identity()  # type: ignore[assignment]  # damage, then fail
        raise RuntimeError("no quantized engine on this CPU")

    monkeypatch.setattr(torch.ao.quantization, "quantize_dynamic", half_convert)
    fallback = load_classifier(ClassifierConfig(quantize=True))
    texts = ["love the new app", "you charged me twice", "branch opens at 9"]
    assert [r.probs for r in fallback.classify(texts)] == [r.probs for r in fp32.classify(texts)]
    assert "int8 quantisation unavailable (no quantized engine" in caplog.text


def test_int8_default_agrees_with_fp32(embedded: TorchClassifier, fp32: TorchClassifier) -> None:
    texts = [text for text, _ in read_labelled(DATA / "classify_brand_tweets.tsv")]
    same = sum(
        a.label == b.label
        for a, b in zip(embedded.classify(texts), fp32.classify(texts), strict=True)
    )
    assert same >= 0.95 * len(texts)


@pytest.mark.parametrize("name", ["classify_reviews.tsv", "classify_brand_tweets.tsv"])
def test_committed_weights_on_own_sets(embedded: TorchClassifier, name: str) -> None:
    report = evaluate(embedded, DATA / name)
    assert report["n"] >= 60
    assert report["macro_recall"] >= 0.6


def test_class_weights_power_softens_balancing() -> None:
    from repbot.classify.train import class_weights

    examples = [([1], 0)] * 10 + [([1], 1)] * 40 + [([1], 2)] * 30
    balanced = class_weights(examples)
    assert torch.allclose(balanced, torch.tensor([80 / 30, 80 / 120, 80 / 90]))
    assert torch.allclose(class_weights(examples, 0.5), balanced.sqrt())
    assert torch.allclose(class_weights(examples, 0.0), torch.ones(3))


def test_train_options_build_loss_and_head_learning_rate(tmp_path: Path) -> None:
    from repbot.classify.model import AdapterMeta, build
    from repbot.classify.train import TrainOptions, _optimizer

    opts = TrainOptions(data_dir=tmp_path, out=tmp_path, lr=1e-4, head_lr_scale=5.0)
    optimizer = _optimizer(build(AdapterMeta(rank=2)), opts)
    by_size = {len(g["params"]): g["lr"] for g in optimizer.param_groups}
    assert by_size[2] == pytest.approx(5e-4)  # head weight and bias
    assert sorted(by_size.values())[0] == pytest.approx(1e-4)
