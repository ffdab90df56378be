"""CLI verbs of the classifier: ``repbot train``, ``repbot eval``, ``repbot classify``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from repbot.classify.analyze import analyze
from repbot.classify.config import WEIGHTS_DIR, ClassifierConfig, UrgencyConfig
from repbot.classify.intent import BrandContext
from repbot.classify.intent_model import Embedder, IntentPredictor
from repbot.errors import ConfigError, ModelError, RepbotError
from repbot.models import Author, Mention, Metrics

DEFAULT_DATA_DIR = (
    Path(__file__).resolve().parents[3] / "shared/data/sentiment/semeval-twitter-2013-2016"
)
Handler = Callable[[argparse.Namespace], int]


@dataclass
class Sections:
    """The config sections the classifier verbs use."""

    classifier: ClassifierConfig
    urgency: UrgencyConfig
    brand: BrandContext | None


def load_sections(config_path: str | None) -> Sections:
    """Sections from the config file when one exists, else the defaults."""
    from repbot.config import load_config, resolve_config_path

    path = resolve_config_path(config_path)
    if not path.exists():
        if config_path:
            raise ConfigError([f"config file not found: {path}"], str(path))
        return Sections(ClassifierConfig(), UrgencyConfig(), None)
    cfg = load_config(path)
    return Sections(cfg.classifier, cfg.urgency, BrandContext.from_config(cfg.brand))


def _classifier_config(args: argparse.Namespace, base: ClassifierConfig) -> ClassifierConfig:
    updates = {
        key: value
        for key, value in (("model", args.model), ("weights", args.weights))
        if value is not None
    }
    return base.model_copy(update=updates)


def _feedback_labels(config_path: str | None) -> list[tuple[str, str]]:
    """``(text, label)`` of each labelled mention's latest human label, from the store."""
    from repbot.classify.feedback import latest_labels
    from repbot.config import load_config
    from repbot.store import store_for

    store = store_for(load_config(config_path))
    try:
        return [(f.text, f.label) for f in latest_labels(store)]
    finally:
        store.close()


def cmd_train_intent(args: argparse.Namespace) -> int:
    """Fit the intent model on the packaged examples (and the approvers' labels)."""
    from repbot.classify.intent_train import run

    feedback = _feedback_labels(args.config) if args.feedback else []
    summary = run(Path(args.out), feedback, embeddings=not args.no_embeddings)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_eval_feedback(args: argparse.Namespace) -> int:
    """Agreement of the configured intent model with the approvers' labels."""
    from repbot.classify.feedback import agreement_report, current_intents, format_report
    from repbot.classify.feedback import latest_labels as latest
    from repbot.config import load_config
    from repbot.store import store_for

    config = load_config(args.config)
    store = store_for(config)
    try:
        labels = latest(store)
    finally:
        store.close()
    sentiments, model = None, None
    if labels:
        from repbot.classify.sentiment import load_classifier

        sentiments = load_classifier(config.classifier).classify([f.text for f in labels])
        model = intent_predictor(config.classifier, embedder=None)
    report = agreement_report(labels, current_intents(labels, model, sentiments))
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def intent_predictor(
    cfg: ClassifierConfig, embedder: Embedder | None, *, load_encoder: bool = True
) -> IntentPredictor | None:
    """The configured intent model (None when ``classifier.intent`` is ``rules``).

    Its embedding head runs on ``embedder``; without one, on the packaged encoder when
    ``load_encoder``, else the n-gram head alone.
    """
    from repbot.classify.intent_model import load_intent_model

    if cfg.intent == "rules":
        return None
    model = load_intent_model(Path(cfg.intent_weights) if cfg.intent_weights else None)
    if embedder is None and load_encoder and model.uses_embeddings:
        from repbot.classify.embed import SentenceEmbedder

        embedder = SentenceEmbedder.default()
    return IntentPredictor(model, embedder)


def cmd_train(args: argparse.Namespace) -> int:
    """Fine-tune the embedded classifier and write its weights."""
    from repbot.classify.train import TrainOptions, train

    if args.intent or args.feedback:
        return cmd_train_intent(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"error: data directory not found: {data_dir}", file=sys.stderr)
        return 2
    opts = TrainOptions(
        data_dir=data_dir,
        out=Path(args.out),
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
    )
    for name in ("class_weight_power", "label_smoothing", "head_lr_scale"):
        if getattr(args, name) is not None:
            setattr(opts, name, getattr(args, name))
    if args.limit:
        opts.limit = args.limit
    summary = train(opts)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the configured classifier on a labelled TSV file."""
    from repbot.classify.evaluate import evaluate, format_table
    from repbot.classify.sentiment import load_classifier

    if args.feedback:
        return cmd_eval_feedback(args)
    if not args.data:
        print("error: give --data FILE.tsv or --feedback", file=sys.stderr)
        return 2
    data = Path(args.data)
    if not data.is_file():
        print(f"error: data file not found: {data}", file=sys.stderr)
        return 2
    sections = load_sections(args.config)
    classifier = load_classifier(_classifier_config(args, sections.classifier))
    report = evaluate(classifier, data, args.limit)
    if report["n"] == 0:
        print(f"error: no labelled lines in {data}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_table(report))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify texts given on the command line (or stdin lines) and explain their urgency."""
    from repbot.classify.sentiment import load_classifier

    texts = list(args.texts) or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    sections = load_sections(args.config)
    from repbot.logs import loading_status

    with loading_status("loading the classifier"):
        classifier = load_classifier(_classifier_config(args, sections.classifier))
    now = datetime.now(UTC)
    author = Author(handle=args.author or "", followers=args.followers)
    mentions = [
        Mention(
            platform="cli",
            external_id=str(i),
            text=text,
            rating=args.rating,
            kind="review" if args.rating else "post",
            author=author,
            metrics=Metrics(likes=args.likes),
            created_at=now,
        )
        for i, text in enumerate(texts)
    ]
    intents = intent_predictor(sections.classifier, None)
    results = analyze(
        mentions, classifier, sections.urgency, sections.brand, None, now, intent_model=intents
    )
    if args.json:
        print(
            json.dumps(
                [r.to_dict() | {"text": m.text} for m, r in zip(mentions, results, strict=True)]
            )
        )
        return 0
    for mention, result in zip(mentions, results, strict=True):
        probs = "  ".join(f"{k} {v:.3f}" for k, v in result.probs.items())
        print(f"{mention.text[:100]}\n  sentiment: {result.label}  ({probs})")
        print(
            f"  language: {result.language or 'und'}  intent: {result.intent} "
            f"({result.intent_reason})\n  urgency: {result.urgency:.3f}"
        )
        for factor, contribution in result.explanation:
            print(f"    {contribution:+.3f}  {factor}")
    return 0


def _guard(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except (ModelError, RepbotError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    run.__doc__ = handler.__doc__
    return run


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="override classifier.model (path or hub id)")
    parser.add_argument("--weights", help="override classifier.weights (embedded adapter dir)")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``train``, ``eval`` and ``classify`` on the main parser's subcommands."""
    train = sub.add_parser("train", help="fine-tune the embedded sentiment classifier")
    train.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="SemEval folder")
    train.add_argument("--out", default=str(WEIGHTS_DIR), help="where to write the weights")
    train.add_argument("--epochs", type=float, default=2.0)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--limit", type=int, default=None, help="train on N tweets (pilot)")
    train.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    train.add_argument(
        "--class-weight-power",
        type=float,
        help="class weights (n / (3 * count)) ** P: 1 balanced, 0.5 sqrt (default: recipe)",
    )
    train.add_argument("--label-smoothing", type=float, help="default: the recipe's")
    train.add_argument("--head-lr-scale", type=float, help="head lr = lr * S (default: recipe)")
    train.add_argument(
        "--intent", action="store_true", help="fit the intent model (repbot/data/intents.tsv)"
    )
    train.add_argument(
        "--feedback", action="store_true", help="intent model + the approvers' relabels"
    )
    train.add_argument("--no-embeddings", action="store_true", help="intent: the n-gram head only")
    train.set_defaults(func=_guard(cmd_train))

    ev = sub.add_parser("eval", help="score the classifier on a labelled TSV file")
    ev.add_argument("--data", help="text<TAB>label or id<TAB>label<TAB>text")
    ev.add_argument(
        "--feedback", action="store_true", help="intent agreement with the approvers' labels"
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--limit", type=int, default=None, help="first N lines only")
    _model_options(ev)
    ev.set_defaults(func=_guard(cmd_eval))

    cl = sub.add_parser("classify", help="classify texts and explain their urgency")
    cl.add_argument("texts", nargs="*", help="texts (default: lines on stdin)")
    cl.add_argument("--json", action="store_true")
    cl.add_argument("--author", help="author handle (for VIP matching)")
    cl.add_argument("--followers", type=int, default=None)
    cl.add_argument("--likes", type=int, default=0)
    cl.add_argument("--rating", type=int, choices=range(1, 6), default=None)
    _model_options(cl)
    cl.set_defaults(func=_guard(cmd_classify))
