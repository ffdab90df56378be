"""A hand-rolled LoRA adapter for ``nn.Linear`` layers (no extra dependency)."""

from __future__ import annotations

import math

import torch
from torch import nn

TARGETS: tuple[str, ...] = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
"""Linear layers of each BERT block that get an adapter (attention and FFN)."""


class LoRALinear(nn.Module):
    """``base(x) + scale * x @ A.T @ B.T`` with the base layer frozen."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the frozen layer plus the low-rank update."""
        update = (self.dropout(x) @ self.lora_a.T) @ self.lora_b.T
        out: torch.Tensor = self.base(x) + update * self.scale
        return out

    def merged(self) -> nn.Linear:
        """The base ``nn.Linear`` with the update folded into its weight, in place."""
        with torch.no_grad():
            self.base.weight.add_(self.scale * (self.lora_b @ self.lora_a))
        return self.base


def _parent_and_name(root: nn.Module, dotted: str) -> tuple[nn.Module, str]:
    parent_path, _, name = dotted.rpartition(".")
    return root.get_submodule(parent_path) if parent_path else root, name


def target_names(encoder: nn.Module) -> list[str]:
    """Dotted names of the ``nn.Linear`` modules in ``encoder`` that LoRA adapts."""
    return [
        name
        for name, module in encoder.named_modules()
        if isinstance(module, nn.Linear) and ".layer." in f".{name}" and name.endswith(TARGETS)
    ]


def inject(encoder: nn.Module, rank: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Replace every target linear layer of ``encoder`` by a ``LoRALinear``; return the names."""
    names = target_names(encoder)
    for name in names:
        parent, attr = _parent_and_name(encoder, name)
        base = getattr(parent, attr)
        setattr(parent, attr, LoRALinear(base, rank, alpha, dropout))
    return names


def merge(encoder: nn.Module) -> None:
    """Fold every ``LoRALinear`` of ``encoder`` back into a plain linear layer, in place."""
    names = [n for n, m in encoder.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        parent, attr = _parent_and_name(encoder, name)
        setattr(parent, attr, getattr(parent, attr).merged())
