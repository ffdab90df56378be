"""``repbot train``: fine-tune the embedded classifier (LoRA + head) on SemEval tweets."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from repbot.classify.dataset import read_labelled
from repbot.classify.model import (
    AdapterMeta,
    SentimentNet,
    base_model_dir,
    build,
    load_tokenizer,
    save,
)
from repbot.classify.results import LABELS
from repbot.classify.text import sentiment_text

log = logging.getLogger(__name__)

DEV_FILE = "twitter-2016devtest-A.txt"


@dataclass
class TrainOptions:
    """The training recipe; defaults are the documented one."""

    data_dir: Path
    out: Path
    epochs: float = 2.0
    seed: int = 13
    batch_size: int = 32
    lr: float = 4e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    rank: int = 16
    alpha: float = 32.0
    class_weight_power: float = 1.0
    label_smoothing: float = 0.0
    head_lr_scale: float = 1.0
    max_tokens: int = 64
    threads: int = 2
    limit: int | None = None
    checkpoint_every: int = 0
    log_every: int = 50


def training_files(data_dir: Path) -> list[Path]:
    """Every SemEval file in ``data_dir`` except the held-out dev file."""
    files = sorted(p for p in data_dir.glob("*.txt") if p.name != DEV_FILE)
    if not files:
        raise FileNotFoundError(f"no training files (*.txt) in {data_dir}")
    return files


def encode(
    texts: Sequence[str], labels: Sequence[str], max_tokens: int
) -> list[tuple[list[int], int]]:
    """Token ids (truncated) and label index for every example, normalised like inference."""
    tokenizer = load_tokenizer(base_model_dir())
    ids = tokenizer([sentiment_text(t) for t in texts], truncation=True, max_length=max_tokens)
    return [(row, LABELS.index(lab)) for row, lab in zip(ids["input_ids"], labels, strict=True)]


def bucketed_batches(
    examples: list[tuple[list[int], int]], batch_size: int, rng: random.Random
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Shuffle, sort by length within large pools, pad each batch to its own longest item."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(examples[i][0]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    for batch in batches:
        yield collate([examples[i] for i in batch])


def collate(items: list[tuple[list[int], int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a list of (ids, label) to tensors ``(input_ids, attention_mask, labels)``."""
    width = max(len(ids) for ids, _ in items)
    input_ids = torch.zeros((len(items), width), dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, (ids, _) in enumerate(items):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    return input_ids, mask, torch.tensor([lab for _, lab in items])


def class_weights(examples: list[tuple[list[int], int]], power: float = 1.0) -> torch.Tensor:
    """Class weights ``(n / (k * count)) ** power``.

    ``power`` 1 balances the classes fully (each counts equally in the loss), 0.5 is the
    softer square-root inverse frequency, 0 leaves the loss unweighted.
    """
    counts = Counter(lab for _, lab in examples)
    total, k = len(examples), len(LABELS)
    weights = [(total / (k * max(counts[i], 1))) ** power for i in range(k)]
    return torch.tensor(weights, dtype=torch.float)


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / max(warmup, 1)
    return max(0.0, (total - step) / max(total - warmup, 1))


def _optimizer(net: SentimentNet, opts: TrainOptions) -> torch.optim.Optimizer:
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    head = [p for n, p in named if n.startswith("head.")]
    decay = [p for n, p in named if "LayerNorm" not in n and not n.startswith("head.")]
    no_decay = [p for n, p in named if "LayerNorm" in n]
    groups = [
        {"params": decay, "weight_decay": opts.weight_decay, "lr": opts.lr},
        {"params": no_decay, "weight_decay": 0.0, "lr": opts.lr},
        {"params": head, "weight_decay": opts.weight_decay, "lr": opts.lr * opts.head_lr_scale},
    ]
    return torch.optim.AdamW(groups, lr=opts.lr)


def load_examples(opts: TrainOptions, rng: random.Random) -> list[tuple[list[int], int]]:
    """Read, optionally subsample, and encode the training tweets."""
    texts: list[str] = []
    labels: list[str] = []
    for path in training_files(opts.data_dir):
        for text, label in read_labelled(path):
            texts.append(text)
            labels.append(label)
    pairs = list(zip(texts, labels, strict=True))
    if opts.limit is not None:
        rng.shuffle(pairs)
        pairs = pairs[: opts.limit]
    return encode([t for t, _ in pairs], [lab for _, lab in pairs], opts.max_tokens)


def train(opts: TrainOptions) -> dict[str, object]:
    """Run the recipe and save the weights to ``opts.out``; return a summary."""
    torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)
    rng = random.Random(opts.seed)
    examples = load_examples(opts, rng)
    meta = AdapterMeta(rank=opts.rank, alpha=opts.alpha, max_tokens=opts.max_tokens)
    started = time.monotonic()
    net = fit(examples, meta, opts, rng)
    return _save(net, meta, opts, _steps(len(examples), opts), started, len(examples), opts.out)


def _steps(n_examples: int, opts: TrainOptions) -> int:
    return int(-(-n_examples // opts.batch_size) * opts.epochs)


def fit(
    examples: list[tuple[list[int], int]],
    meta: AdapterMeta,
    opts: TrainOptions,
    rng: random.Random,
) -> SentimentNet:
    """Train a fresh network on encoded ``examples`` with the recipe in ``opts``."""
    net = build(meta)
    net.train()
    loss_fn = nn.CrossEntropyLoss(
        weight=class_weights(examples, opts.class_weight_power),
        label_smoothing=opts.label_smoothing,
    )
    optimizer = _optimizer(net, opts)
    total = _steps(len(examples), opts)
    warmup = int(total * opts.warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, total, warmup))
    log.info("training on %d examples, %d steps", len(examples), total)
    started, step, running = time.monotonic(), 0, 0.0
    while step < total:
        for input_ids, mask, labels in bucketed_batches(examples, opts.batch_size, rng):
            loss = loss_fn(net(input_ids, mask), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], max_norm=1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % opts.log_every == 0:
                elapsed = time.monotonic() - started
                log.info("step %d/%d loss %.4f %.0fs", step, total, running, elapsed)
            if opts.checkpoint_every and step % opts.checkpoint_every == 0:
                _save(net, meta, opts, step, started, len(examples), opts.out / "checkpoint")
            if step >= total:
                break
    return net


def _save(
    net: SentimentNet,
    meta: AdapterMeta,
    opts: TrainOptions,
    step: int,
    started: float,
    n_examples: int,
    out: Path,
) -> dict[str, object]:
    meta.train_info = {
        "seed": opts.seed,
        "epochs": opts.epochs,
        "steps": step,
        "batch_size": opts.batch_size,
        "lr": opts.lr,
        "head_lr_scale": opts.head_lr_scale,
        "class_weight_power": opts.class_weight_power,
        "label_smoothing": opts.label_smoothing,
        "examples": n_examples,
        "seconds": round(time.monotonic() - started, 1),
        "threads": opts.threads,
        "files": [p.name for p in training_files(opts.data_dir)],
    }
    was_training = net.training
    save(net.eval(), meta, out)
    net.train(was_training)
    return dict(meta.train_info)
