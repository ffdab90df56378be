"""Issue 15, memory and start-up: config loading stays light, the daemon's models skip
transformers' modelling stack, and the torch-only encoder computes exactly what transformers does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from repbot.classify.config import WEIGHTS_DIR
from repbot.classify.minilm import WordPieceTokenizer, base_model_dir, shared_encoder
from repbot.classify.model import load, load_base_encoder, load_tokenizer
from repbot.classify.sentiment import quantized

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "scipy", "sympy")
TEXTS = [
    "my order never arrived",
    "Muy mal servicio, me cobraron dos veces!!! 😡",
    "",
    "   ",
    "Ünïcödé ß café naïve 東京 Straße " * 3,
    "refund " * 300,
    "@user http #Orbit <b>bold</b> £900 moved",
]


def loaded_after(code: str) -> list[str]:
    """The top-level packages of ``HEAVY`` a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def test_config_and_packages_import_without_torch_transformers_or_scipy() -> None:
    code = "import repbot.config, repbot.classify, repbot.respond, repbot.classify.config"
    assert loaded_after(code) == []


def test_parsing_the_example_config_imports_no_model_stack() -> None:
    code = (
        "from repbot.config import load_config\n"
        f"config = load_config({str(ROOT / 'config.example.yaml')!r})\n"
        "assert config.classifier.model == 'embedded'"
    )
    assert loaded_after(code) == []


def test_repbot_check_imports_no_model_stack() -> None:
    example = str(ROOT / "config.example.yaml")
    code = f"from repbot.cli import main\nassert main(['check', '-c', {example!r}]) == 0"
    assert loaded_after(code) == []


def test_importing_the_composition_root_defers_torch() -> None:
    assert loaded_after("import repbot.app") == []


@pytest.mark.slow
def test_daemon_models_run_without_transformers() -> None:
    code = (
        "from repbot.classify import ClassifierConfig, SentenceEmbedder, load_classifier\n"
        "from repbot.classify.commands import intent_predictor\n"
        "clf = load_classifier(ClassifierConfig(device='cpu'))\n"
        "emb = SentenceEmbedder.default()\n"
        "assert clf.classify(['my card was charged twice'])[0].label == 'negative'\n"
        "assert emb.embed(['where is my parcel']).shape == (1, 384)\n"
        "intent_predictor(ClassifierConfig(), emb, load_encoder=False)"
    )
    assert loaded_after(code) == ["torch"]


@pytest.mark.slow
@pytest.mark.parametrize("max_length", [8, 128])
def test_wordpiece_tokenizer_gives_transformers_ids(max_length: int) -> None:
    ours = WordPieceTokenizer(base_model_dir())
    theirs = load_tokenizer(base_model_dir())
    kwargs = {"truncation": True, "max_length": max_length, "padding": True}
    a = ours(TEXTS, return_tensors="pt", **kwargs)
    b = theirs(TEXTS, return_tensors="pt", **kwargs)
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert torch.equal(a["attention_mask"], b["attention_mask"])
    assert a["input_ids"].shape[1] == max_length  # the long text was cut, the rest padded


def test_wordpiece_tokenizer_refuses_other_call_styles() -> None:
    with pytest.raises(ValueError, match="always truncates"):
        WordPieceTokenizer(base_model_dir())(
            TEXTS, truncation=False, max_length=8, padding=True, return_tensors="pt"
        )


def batch() -> dict[str, torch.Tensor]:
    tokenizer = WordPieceTokenizer(base_model_dir())
    return tokenizer(TEXTS, truncation=True, max_length=128, padding=True, return_tensors="pt")


@pytest.mark.slow
def test_encoder_matches_transformers_bert() -> None:
    inputs = batch()
    keep = inputs["attention_mask"].bool()
    with torch.inference_mode():
        ours = shared_encoder()(**inputs).last_hidden_state
        theirs = load_base_encoder()(**inputs).last_hidden_state
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours[keep], theirs[keep], atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_embedded_classifier_matches_the_transformers_build_fp32_and_int8() -> None:
    inputs = batch()
    ours, _ = load(WEIGHTS_DIR, share=True)  # the torch-only encoder, tables shared
    theirs, _ = load(WEIGHTS_DIR, share=False)  # transformers' BertModel
    with torch.inference_mode():
        fp32 = theirs(**inputs)
        torch.testing.assert_close(ours(**inputs), fp32, atol=1e-5, rtol=1e-5)
        int8_ours, int8_theirs = quantized(ours)(**inputs), quantized(theirs)(**inputs)
    torch.testing.assert_close(int8_ours, int8_theirs, atol=1e-5, rtol=1e-5)
    assert not torch.equal(int8_ours, fp32)  # quantisation did change the network
