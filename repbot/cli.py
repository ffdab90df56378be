"""The ``repbot`` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from repbot.config import Config, build_source, load_config
from repbot.connector import registry
from repbot.durations import parse_duration
from repbot.errors import ConfigError, ModelError, RepbotError, StoreError
from repbot.models import State, utcnow
from repbot.secrets import redact
from repbot.store import Item, SqliteStore, Store, store_for

if TYPE_CHECKING:
    from repbot.pipeline import Pipeline

OK, FAILURE, BAD_USAGE = 0, 1, 2
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
Handler = Callable[[argparse.Namespace], int]
log = logging.getLogger("repbot.cli")


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
    report.add_argument("--period", default="7d", help="KPI window, e.g. 24h, 7d (default 7d)")
    report.add_argument("--out", type=Path, help="write the full report as one HTML page")
    report.add_argument("--lexical", action="store_true", help="group issues by words only")
    prune = _add(sub, common, "prune", "apply the retention policy to the store", _cmd_prune)
    prune.add_argument("--vacuum", action="store_true", help="then rewrite the file (VACUUM)")
    prune.add_argument("--json", action="store_true")
    requeue = _add(sub, common, "requeue", "put failed or skipped items back", _cmd_requeue)
    requeue.add_argument("ids", nargs="*", type=int, metavar="ID", help="items to requeue")
    requeue.add_argument("--state", choices=["failed", "skipped"], help="every item in STATE")
    from repbot.classify.commands import add_commands as add_classify_commands

    add_classify_commands(_WithCommon(sub, common))  # type: ignore[arg-type]
    from repbot.approval.users_cli import add_commands as add_user_commands

    add_user_commands(_WithCommon(sub, common))
    from repbot.store.commands import add_commands as add_store_commands

    add_store_commands(_WithCommon(sub, common))
    from repbot.backup import add_command as add_backup_command

    add_backup_command(_WithCommon(sub, common))
    backup = sub.choices["backup"]
    backup.set_defaults(func=_sqlite_only("backup", backup.get_default("func")))
    return parser


def _sqlite_only(command: str, func: Handler) -> Handler:
    """``func``, refused with a clear error (exit 2) when the store is on PostgreSQL."""

    def checked(args: argparse.Namespace) -> int:
        if getattr(args, "verify", None) is None:
            config = load_config(args.config)
            if config.store.backend == "postgres":
                err.print(
                    f"error: `repbot {command}` copies the SQLite store; this config uses "
                    "PostgreSQL (back it up with pg_dump or your database's own backups)",
                    markup=False,
                )
                return BAD_USAGE
        return func(args)

    return checked


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
    """``repbot run``: 0 after a clean stop, 1 on a runtime failure (port in use), 2 bad config."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the loop's handler is installed
    return serve(load_config(args.config))


def serve(config: Config, **daemon_options: Any) -> int:
    """Run the daemon for ``config`` in this process until a stop signal, then end the process.

    The port is bound before the heavy imports and the models. Once the daemon has stopped and
    released everything, the process exits at once with the code (0 after a stop signal): it
    does not return. ``daemon_options`` go to ``Daemon`` (tests pass a fake classifier).
    """
    from repbot.memory import tune_process
    from repbot.server import Server

    tuned = tune_process()  # before torch is imported: OpenMP reads its settings once
    _check_console_token(config)
    server = Server(config.server.host, config.server.port)
    if config.server.enabled:
        server.bind()
    from repbot.daemon import Daemon
    from repbot.executor import DaemonThreadExecutor
    from repbot.logs import setup_logging

    setup_logging(config.logging)
    logging.getLogger("repbot.memory").info("process settings %s", " ".join(tuned) or "none")
    executor = DaemonThreadExecutor()
    code = asyncio.run(_run_daemon(Daemon(config, server=server, **daemon_options), executor))
    if executor.closed:
        # The daemon's loop ran and finished: everything is released and the logs are written.
        # Skip the interpreter's teardown: torch and transformers take seconds to unload (5 s
        # idle, far more under load), and inference may still run on a worker thread.
        _exit_now(code)
    return code


async def _run_daemon(daemon: Any, executor: Executor | None = None) -> int:
    """Run ``daemon`` until SIGTERM/SIGINT; SIGHUP reloads the config; a second stop
    signal exits at once with code 1."""
    loop = asyncio.get_running_loop()
    if executor is not None:
        loop.set_default_executor(executor)
    stop = asyncio.Event()
    signals = 0

    def on_stop() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            log.warning("second stop signal; exiting at once")
            _exit_now(FAILURE)
        stop.set()

    reloads: set[asyncio.Task[Any]] = set()

    def on_hup() -> None:
        log.info("SIGHUP received; reloading the config")
        task = asyncio.ensure_future(daemon.reload("SIGHUP"))
        reloads.add(task)  # a reference until it is done; failures are logged by the daemon
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_stop)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    try:
        if await _unless_stopped(daemon.initialise(), stop):
            await daemon.run(stop)
        else:
            log.info("stopped during start-up")
    except BaseException:
        await daemon.stop()
        raise
    return OK


async def _unless_stopped(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Await ``work`` unless ``stop`` is set first (then cancel it); True if it completed."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=10)  # hang guard; cancelling a model load is prompt
        return False
    task.result()
    return True


def _exit_now(code: int) -> None:
    """Flush logs and output, then end the process without waiting for worker threads."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _check_console_token(config: Config) -> None:
    """Refuse to run what ``check`` refuses, in the same words, before anything starts.

    ``load_config`` already refused what the config alone shows (a public console without a
    token, incomplete Slack, empty secrets ...); this adds what needs the filesystem.
    """
    problems = _preflight_problems(config)
    if problems:
        raise ConfigError(problems, str(config.path))


def _preflight_problems(config: Config) -> list[str]:
    store = _store_problems(config.store_file()) if config.store.backend == "sqlite" else []
    return store + _model_problems(config)


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
    problems = _preflight_problems(config)
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
    classifier = config.classifier
    model, weights = classifier.model, classifier.weights
    local = model.startswith((".", "/", "~")) or (config.base_dir() / model).exists()
    if model != "embedded" and local:
        path = (config.base_dir() / model).expanduser()
        if not (path / "config.json").is_file():
            return [f"classifier.model: no model found at {path} (expected config.json there)"]
    if model == "embedded" and weights:
        path = (config.base_dir() / weights).expanduser()
        if not all((path / name).is_file() for name in ("adapter.json", "adapter.safetensors")):
            return [f"classifier.weights: no adapter weights at {path}"]
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
        f"store: {config.store.path}" if config.store.backend == "sqlite" else "store: postgres",
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
    from repbot.approval.users_cli import auth_mode

    lines.append(auth_mode(config))
    alerts = config.alerts
    lines.append(
        f"alerts: webhook {'set' if alerts.webhook_url else 'none'}, "
        f"slack channel {alerts.slack_channel or 'none'}"
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
    store = store_for(config)
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


async def _process(config: Config, store: Store, **models: Any) -> Pipeline:
    """Classify and draft what is pending, with the daemon's models (``models``: test fakes)."""
    from repbot import app
    from repbot.logs import loading_status

    with loading_status("loading the classifier"):
        loaded = await app.load_models(config, **models)
    pipeline = app.build_pipeline(config, store, loaded)
    try:
        await pipeline.drain()
    finally:
        await pipeline.responder.aclose()
    return pipeline


def _cmd_queue(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = store_for(config)
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
        "sandbox": item.sandbox_post,
        "revisions": item.revisions,
        "original_rating": item.original_rating,
        "conversation_id": item.conversation_id,
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
            item.state.value + (" (sandbox: demo only)" if item.sandbox_post else ""),
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
    from repbot import report as period_report

    try:
        period = parse_duration(args.period)
    except ValueError as exc:
        err.print(f"error: --period: {exc}", markup=False)
        return BAD_USAGE
    config = load_config(args.config)
    if args.out:
        digest = period_report.write_report(config, period, args.out, lexical=args.lexical)
        out.print(f"wrote {args.out} ({digest.total} mentions, {len(digest.issues)} issues)")
        return OK
    store = store_for(config)
    try:
        counts, times = store.counts(), store.response_times()
        data = {"queue": counts, "response_seconds": times, "alerts": store.alerts(10)}
    finally:
        store.close()
    kpis = period_report.period_kpis(config, period)
    data["kpis"] = period_report.kpi_json(kpis)
    if args.json:
        print(json.dumps(data, indent=1, default=str))
        return OK
    out.print(period_report.kpi_table(kpis))
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


def _cmd_requeue(args: argparse.Namespace) -> int:
    """``repbot requeue ID...`` or ``--state failed``: all named items move, or none (exit 2)."""
    from repbot import workflow

    if bool(args.ids) == bool(args.state):
        err.print("error: give item ids or --state, not both or neither", markup=False)
        return BAD_USAGE
    config = load_config(args.config)
    store = store_for(config)
    try:
        if args.state:
            moved = workflow.requeue_state(store, State(args.state))
        else:
            moved = workflow.requeue(store, args.ids)
    finally:
        store.close()
    out.print(f"requeued {len(moved)} item(s): {' '.join(map(str, moved)) or '-'}")
    return OK


def _cmd_prune(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    raw_before, audit_before = config.retention.cutoffs(utcnow())
    store = store_for(config)
    try:
        result = store.prune(raw_before, audit_before)
        size = _vacuumed_size(store, args.vacuum)
    finally:
        store.close()
    data = {
        "raw_payloads_deleted": result.raw_payloads,
        "audit_rows_deleted": result.audit_rows,
        "pages_freed": result.pages_freed,
        "raw_before": raw_before.isoformat() if raw_before else None,
        "audit_before": audit_before.isoformat() if audit_before else None,
        "file_bytes": size,
    }
    if args.json:
        print(json.dumps(data, indent=1))
        return OK
    where = f"store is {size / 1e6:.1f} MB" if size is not None else "store is on PostgreSQL"
    out.print(
        f"pruned {result.raw_payloads} raw payloads and {result.audit_rows} audit rows;"
        f" {result.pages_freed} pages returned; {where}"
    )
    return OK


def _vacuumed_size(store: Store, vacuum: bool) -> int | None:
    """The SQLite file's size after an optional VACUUM; None on PostgreSQL (its own
    autovacuum returns the space; ``--vacuum`` is refused there)."""
    if not isinstance(store, SqliteStore):
        if vacuum:
            raise StoreError("--vacuum rewrites the SQLite file; PostgreSQL runs autovacuum")
        return None
    if vacuum:
        store.vacuum()
    return store.path.stat().st_size if store.path.exists() else 0


if __name__ == "__main__":
    sys.exit(main())
