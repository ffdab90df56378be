"""The ``repbot`` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from repbot.config import Config, build_source, load_config
from repbot.connector import registry
from repbot.errors import ConfigError, ModelError, RepbotError, StoreError
from repbot.models import State, utcnow
from repbot.secrets import redact
from repbot.store import Item, SqliteStore

OK, FAILURE, BAD_USAGE = 0, 1, 2
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``repbot`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return BAD_USAGE
    try:
        return int(args.func(args))
    except ConfigError as exc:
        err.print(f"[red]config error[/] in {exc.source}:", markup=True)
        for problem in exc.problems:
            err.print(f"  - {redact(problem)}", markup=False)
        return BAD_USAGE
    except (StoreError, ModelError) as exc:
        err.print(f"error: {redact(str(exc))}", markup=False)
        return BAD_USAGE
    except RepbotError as exc:
        err.print(f"error: {redact(str(exc))}", markup=False)
        return FAILURE
    except KeyboardInterrupt:
        return FAILURE


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c",
        "--config",
        default=None,
        help="config file (default ./repbot.yaml, then $REPBOT_CONFIG)",
    )
    parser = argparse.ArgumentParser(
        prog="repbot", description="Reputation monitoring with human-approved replies."
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add(sub, common, "run", "run the daemon", _cmd_run)
    _add(sub, common, "check", "validate the config and print a summary", _cmd_check)
    poll = _add(sub, common, "poll", "run one poll cycle of a source", _cmd_poll)
    poll.add_argument("--source", required=True, help="source name from the config")
    poll.add_argument("--process", action="store_true", help="also classify and draft")
    queue = _add(sub, common, "queue", "show the queue, most urgent first", _cmd_queue)
    queue.add_argument("--state", action="append", choices=[s.value for s in State])
    queue.add_argument("--platform")
    queue.add_argument("--intent")
    queue.add_argument("--limit", type=int, default=50)
    queue.add_argument("--json", action="store_true", help="print a JSON array")
    _add(sub, common, "connectors", "list installed connectors", _cmd_connectors)
    report = _add(sub, common, "report", "response times and queue counts", _cmd_report)
    report.add_argument("--json", action="store_true")
    from repbot.classify.commands import add_commands as add_classify_commands

    add_classify_commands(_WithCommon(sub, common))  # type: ignore[arg-type]
    return parser


class _WithCommon:
    """Lets subsystems add subcommands that all get the common ``-c/--config`` option."""

    def __init__(self, sub: Any, common: argparse.ArgumentParser) -> None:
        self._sub = sub
        self._common = common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs["parents"] = [*kwargs.get("parents", []), self._common]
        parser: argparse.ArgumentParser = self._sub.add_parser(name, **kwargs)
        return parser


def _add(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: argparse.ArgumentParser,
    name: str,
    help_text: str,
    func: Handler,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, parents=[common], help=help_text)
    parser.set_defaults(func=func)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from repbot.daemon import Daemon
    from repbot.logs import setup_logging

    _check_console_token(config)
    setup_logging(config.logging)
    return asyncio.run(_run_daemon(Daemon(config)))


async def _run_daemon(daemon: Any) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            os._exit(FAILURE)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await daemon.initialise()
        await daemon.run(stop)
    except BaseException:
        await daemon.stop()
        raise
    return OK


def _check_console_token(config: Config) -> None:
    from repbot.server import is_loopback

    web = config.approval.web
    if web.enabled and web.token is None and not is_loopback(config.server.host):
        raise ConfigError(
            [
                f"approval.web.token: required because server.host ({config.server.host}) is not"
                " a loopback address; set a token or bind to 127.0.0.1"
            ],
            str(config.path),
        )


def _cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    problems = _extra_checks(config)
    if problems:
        raise ConfigError(problems, str(config.path))
    table = Table(title=f"repbot config OK: {config.path}", show_lines=False)
    for column in ("source", "type", "interval", "enabled"):
        table.add_column(column)
    for s in config.sources:
        table.add_row(s.name, s.type, _duration(s.interval), "yes" if s.enabled else "no")
    out.print(table)
    for line in _summary_lines(config):
        out.print(line, markup=False)
    return OK


def _extra_checks(config: Config) -> list[str]:
    problems: list[str] = []
    try:
        _check_console_token(config)
    except ConfigError as exc:
        problems += exc.problems
    problems += _store_problems(config.store_file())
    problems += _model_problems(config)
    from repbot.respond import check_templates

    problems += check_templates(config.responder, config.brand)
    return problems


def _store_problems(path: Path) -> list[str]:
    if path.exists():
        ok = path.is_file() and os.access(path, os.R_OK | os.W_OK)
        return [] if ok else [f"store.path: {path} is not a readable, writable file"]
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not (ancestor.is_dir() and os.access(ancestor, os.W_OK)):
        return [f"store.path: cannot create {path} ({ancestor} is not a writable folder)"]
    return []


def _model_problems(config: Config) -> list[str]:
    model = config.classifier.model
    local = model.startswith((".", "/", "~")) or (config.base_dir() / model).exists()
    if model != "embedded" and local:
        path = (config.base_dir() / model).expanduser()
        if not (path / "config.json").is_file():
            return [f"classifier.model: no model found at {path} (expected config.json there)"]
    return []


def _summary_lines(config: Config) -> list[str]:
    slack = config.approval.slack
    approval = "web console only"
    if slack is not None and slack.enabled:
        approval = f"Slack ({slack.mode} mode, channel {slack.channel or '?'}) + web console"

    def secret(value: object) -> str:
        return "set" if value else "missing"

    lines = [
        f"brand: {config.brand.name}",
        f"store: {config.store.path}",
        f"classifier: {config.classifier.model}",
        f"responder: {config.responder.mode}",
        f"approval: {approval}",
        f"server: http://{config.server.host}:{config.server.port}/",
        f"logging: {config.logging.level} {config.logging.format}",
    ]
    if slack is not None and slack.enabled:
        lines.append(
            f"slack tokens: bot {secret(slack.bot_token)}, app {secret(slack.app_token)}, "
            f"signing secret {secret(slack.signing_secret)}"
        )
    return lines


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def _cmd_poll(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    return asyncio.run(_poll(config, args.source, args.process))


async def _poll(config: Config, source: str, process: bool) -> int:
    from repbot.runner import SourceRunner

    config.source(source)
    store = SqliteStore(config.store_file())
    connector = build_source(config, source)
    try:
        runner = SourceRunner(store, connector)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"polling {source}", total=None, stats="")
            result = await runner.poll(
                lambda r: progress.update(
                    task,
                    stats=f"{r.new} new, {r.duplicates} dup, {r.malformed} bad, {r.pages} pages",
                )
            )
        if process and result.new_ids:
            await _process(config, store)
        _print_items([store.get(i) for i in result.new_ids[:50]], title=f"new from {source}")
        out.print(
            f"{result.new} new, {result.duplicates} duplicates, {result.malformed} malformed, "
            f"{result.pages} page(s)"
            + (f"; skipped: {result.skipped_reason}" if result.skipped_reason else ""),
            markup=False,
        )
        if result.error:
            err.print(f"poll failed: {result.error}", markup=False)
            return FAILURE
        return OK
    finally:
        await connector.aclose()
        store.close()


async def _process(config: Config, store: SqliteStore) -> None:
    from repbot.classify import load_classifier
    from repbot.pipeline import Pipeline
    from repbot.respond import Responder

    classifier = await asyncio.to_thread(load_classifier, config.classifier)
    responder = Responder(config.responder, config.brand)
    await Pipeline(store, config, classifier, responder).drain()


def _cmd_queue(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = SqliteStore(config.store_file())
    try:
        states = [State(s) for s in args.state] if args.state else None
        items = store.queue(states, args.platform, args.intent, args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([item_json(i) for i in items], ensure_ascii=False, indent=1))
    else:
        _print_items(items, title="queue (most urgent first)")
    return OK


def item_json(item: Item) -> dict[str, Any]:
    """The `repbot queue --json` object of one item (fields fixed by DESIGN.md)."""
    m = item.mention
    return {
        "id": item.id,
        "platform": m.platform,
        "source": item.source,
        "external_id": m.external_id,
        "url": m.url,
        "state": item.state.value,
        "created_at": m.created_at.isoformat(),
        "author": m.author.handle,
        "followers": m.author.followers,
        "text": m.text,
        "rating": m.rating,
        "sentiment": item.sentiment,
        "urgency": item.urgency,
        "explanation": [[f, round(c, 4)] for f, c in item.explanation],
        "intent": item.intent,
        "language": item.analysis.get("language"),
        "draft": item.draft,
        "final_text": item.final_text,
        "skip_reason": item.skip_reason,
        "last_error": item.last_error,
        "posted_url": item.posted_url,
    }


def _print_items(items: list[Item], title: str) -> None:
    if not items:
        out.print("(nothing)")
        return
    table = Table(title=title, expand=True)
    for column, style in (
        ("id", "dim"),
        ("state", ""),
        ("platform", ""),
        ("age", ""),
        ("author", ""),
        ("urgency", ""),
        ("text", ""),
        ("draft", "green"),
    ):
        table.add_column(column, style=style or None, overflow="fold")
    now = utcnow()
    for item in items:
        m = item.mention
        top = ", ".join(f for f, _ in item.explanation[:2])
        urgency = f"{item.urgency:.2f} {top}" if item.urgency is not None else "-"
        stars = f"{'★' * m.rating} " if m.rating else ""
        table.add_row(
            str(item.id),
            item.state.value,
            m.platform,
            _age(now, m.created_at),
            f"@{m.author.handle}" if m.author.handle else "?",
            urgency,
            stars + _excerpt(m.text, 90),
            _excerpt(item.draft or "", 70),
        )
    out.print(table)


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _excerpt(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def _cmd_connectors(args: argparse.Namespace) -> int:
    table = Table(title="connectors (entry point group repbot.connectors)")
    for column in ("type", "class", "can reply"):
        table.add_column(column)
    for name, ep in sorted(registry().items()):
        try:
            cls = ep.load()
            doc = "yes" if cls.can_reply else "no (post manually)"
            table.add_row(name, ep.value, doc)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is listed, not fatal
            table.add_row(name, ep.value, f"unavailable: {exc}")
    out.print(table)
    return OK


def _cmd_report(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = SqliteStore(config.store_file())
    try:
        counts, times = store.counts(), store.response_times()
        data = {"queue": counts, "response_seconds": times, "alerts": store.alerts(10)}
    finally:
        store.close()
    if args.json:
        print(json.dumps(data, indent=1, default=str))
        return OK
    table = Table(title="response times (seconds since the mention arrived)")
    for column in ("stage", "count", "p50", "p95"):
        table.add_column(column)
    for stage, s in times.items():
        table.add_row(
            stage, f"{int(s.get('count', 0))}", f"{s.get('p50', 0):.1f}", f"{s.get('p95', 0):.1f}"
        )
    out.print(table)
    out.print("queue: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return OK


if __name__ == "__main__":
    sys.exit(main())
