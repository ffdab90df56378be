"""Sentence embeddings from the base all-MiniLM-L6-v2 encoder (for knowledge retrieval)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from repbot.classify.minilm import MiniLM, WordPieceTokenizer, base_model_dir, mean_pool
from repbot.classify.model import load_tokenizer, quiet_transformers, shared_base_encoder
from repbot.classify.sentiment import resolve_device
from repbot.classify.text import trim_heap
from repbot.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_DEFAULT: SentenceEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


class SentenceEmbedder:
    """Mean-pooled, L2-normalised float32 embeddings (384 dimensions for MiniLM).

    Over the packaged encoder on the CPU (``path`` None) it runs the process-wide
    :func:`~repbot.classify.model.shared_base_encoder`, whose embedding tables the embedded
    classifier shares: one copy of them in memory, not two.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        max_tokens: int = 256,
        batch_size: int = 64,
        device: str = "auto",
    ) -> None:
        self.path = path or base_model_dir()
        self._device = resolve_device(device)
        shared = path is None and self._device.type == "cpu"
        self._model = self._encoder(shared)
        self._tokenizer: PreTrainedTokenizerBase | WordPieceTokenizer = (
            WordPieceTokenizer(self.path) if shared else load_tokenizer(self.path)
        )
        self._lock = threading.Lock()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.dimension = int(self._model.config.hidden_size)

    def _encoder(self, shared: bool) -> MiniLM | PreTrainedModel:
        """The process-wide base encoder (on the CPU) or a copy of its own on the device."""
        if shared:
            return shared_base_encoder()
        from transformers import AutoModel

        quiet_transformers()
        try:
            model: PreTrainedModel = AutoModel.from_pretrained(
                str(self.path), local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load sentence encoder from {self.path}: {exc}") from exc
        model.requires_grad_(False)
        model.train(False)
        model.to(self._device)  # type: ignore[arg-type]
        return model

    @property
    def encoder(self) -> MiniLM | PreTrainedModel:
        """The encoder this embedder runs (the shared base one over the packaged model)."""
        return self._model

    @property
    def model_id(self) -> str:
        """Names stored vectors: the model folder (with its parent) and the dimension."""
        return f"{self.path.parent.name}/{self.path.name}:{self.dimension}"

    @classmethod
    def default(cls) -> SentenceEmbedder:
        """A process-wide shared embedder over the packaged base encoder."""
        global _DEFAULT
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = cls()
            return _DEFAULT

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dimension)`` float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        chunks = [
            self._embed_batch(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        trim_heap()  # the batches' activations, back to the OS
        return np.concatenate(chunks).astype(np.float32)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # fast tokenizers are not safe to share between threads
            batch = self._tokenizer(
                [t[: self.max_tokens * 16] for t in texts],
                truncation=True,
                max_length=self.max_tokens,
                padding=True,
                return_tensors="pt",
            )
        mask = batch["attention_mask"].to(self._device)
        with torch.inference_mode():
            out = self._model(input_ids=batch["input_ids"].to(self._device), attention_mask=mask)
            pooled = torch.nn.functional.normalize(mean_pool(out.last_hidden_state, mask), dim=-1)
        result: np.ndarray = pooled.float().cpu().numpy()
        return result
