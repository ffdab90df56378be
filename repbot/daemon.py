"""The long-lived daemon: initialise → start → run → stop.

Every background task is tracked, cancelled and awaited with a timeout on stop; the store,
connectors, HTTP server and Slack connection are owned here and released in reverse order.
Work is event driven: a poll or webhook that stores new mentions wakes the pipeline, a drafted
item or a decision wakes Slack delivery, a decision wakes the poster; ``pipeline.tick`` and the
Slack pass interval are only fall-backs (retries, snoozes, changes made by other processes).
On PostgreSQL, other daemons' new work and decisions arrive as ``NOTIFY`` (:class:`WorkListener`)
and wake this daemon's pipeline, poster and Slack delivery the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from repbot import app, followups
from repbot.alerts import AlertDispatcher
from repbot.approval.slack import SlackApproval
from repbot.classify import BrandContext, Classifier
from repbot.config import Config, build_source, load_config
from repbot.connector import Connector
from repbot.errors import AuthError, ConfigError, MalformedRecord
from repbot.metrics import Metrics
from repbot.models import utcnow
from repbot.ops import OpsJobs
from repbot.reload import WATCH_EVERY, ConfigWatcher, ReloadPlan, plan
from repbot.respond import Responder
from repbot.runner import SourceRunner
from repbot.scheduler import Scheduler
from repbot.secrets import redact
from repbot.server import Server
from repbot.store import Store
from repbot.workflow import RetryPolicy

log = logging.getLogger(__name__)
STOP_GRACE = 3.0  # seconds in-flight polls, posts and Slack passes get to finish on stop
CLOSE_TIMEOUT = 2.0  # seconds for each group of clients (Slack, connectors, LLM) to close
SLACK_PASS = 2.0  # fall-back interval of the Slack delivery pass
OPS_JOBS = ("sla", "crisis", "silence", "digest")  # scheduled by OpsJobs.schedule
WORKER_BACKOFF = (0.5, 30.0)  # first and longest wait (full jitter) after a failed worker step
LISTEN_WAIT = 1.0  # seconds a listener waits for a NOTIFY before it checks for stop
LISTEN_PING = 10.0  # seconds between liveness checks of an idle listening connection
LISTEN_BACKOFF = (0.5, 30.0)  # first and longest wait (full jitter) before reconnecting


class WorkListener:
    """Wakes this daemon when another daemon on the same PostgreSQL database has work for it.

    One thread holds one connection subscribed to ``LISTEN repbot_work`` (``NOTIFY`` is sent by
    ingest and by decisions, see :mod:`repbot.store.postgres`) and calls ``wake`` for each
    notification. The subscription is kept between waits, so no notification is lost while a
    wake is handled; after every (re)connect ``wake`` is called once to catch up on what was
    sent while unsubscribed. A lost connection (server down, network cut) is retried with
    exponential backoff and full jitter; the daemon's other work never waits on this thread.
    """

    def __init__(self, dsn: str, wake: Callable[[], None]) -> None:
        """``dsn``: the store's connection string (a secret: never logged)."""
        self._dsn = dsn
        self._wake = wake
        self._stop = threading.Event()
        self.listening = threading.Event()
        """Set while subscribed (tests wait on it before sending a ``NOTIFY``)."""
        self.backend_pid: int | None = None
        self._thread = threading.Thread(target=self._run, name="repbot-listen", daemon=True)

    def start(self) -> None:
        """Start the listening thread."""
        self._thread.start()

    async def stop(self) -> None:
        """Ask the thread to end and wait for it (at most ``LISTEN_WAIT`` plus a query)."""
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, LISTEN_WAIT + 2.0)

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def _run(self) -> None:
        import psycopg

        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    failures = 0
                    self._listen(conn)
            except psycopg.Error as exc:
                self.listening.clear()
                failures += 1
                delay = _jittered(LISTEN_BACKOFF, failures)
                log.warning(
                    "listener lost the database (%s); reconnecting in %.1fs",
                    redact(type(exc).__name__), delay,
                )  # fmt: skip
                self._stop.wait(delay)
        self.listening.clear()

    def _listen(self, conn: Any) -> None:
        from repbot.store.postgres import WAKE_CHANNEL

        conn.execute(f"LISTEN {WAKE_CHANNEL}")
        self.backend_pid = conn.info.backend_pid
        self.listening.set()
        self._wake()  # whatever was sent before the subscription
        checked = time.monotonic()
        while not self._stop.is_set():
            woke = False
            for _ in conn.notifies(timeout=LISTEN_WAIT):
                woke = True
            if woke:
                self._wake()
            elif time.monotonic() - checked >= LISTEN_PING:
                conn.execute("SELECT 1")  # a silent, dead connection raises here
                checked = time.monotonic()


class Daemon:
    """Owns every long-lived resource of a running repbot."""

    def __init__(
        self,
        config: Config,
        *,
        classifier: Classifier | None = None,
        responder: Responder | None = None,
        server: Server | None = None,
        watch_config: bool = True,
    ) -> None:
        """``server`` may come already bound (the CLI binds before loading anything);
        ``watch_config`` reloads the config file when its content changes."""
        self.config = config
        self.scheduler = Scheduler()
        self._classifier = classifier
        self._responder = responder
        self._tasks: list[asyncio.Task[None]] = []
        self._interruptible: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._pipeline_wake = asyncio.Event()
        self._post_wake = asyncio.Event()
        self._slack_wake = asyncio.Event()
        self.store: Store | None = None
        self.connectors: dict[str, Connector] = {}
        self.runners: dict[str, SourceRunner] = {}
        self.server = server or Server(config.server.host, config.server.port)
        self.app: web.Application | None = None
        self.responder: Responder | None = None
        self.components: app.Components | None = None
        self._opening = False
        self.slack: SlackApproval | None = None
        self.metrics: Metrics | None = None
        self._poll_locks: dict[str, asyncio.Lock] = {}
        self._pipeline_lock = asyncio.Lock()  # a reload swaps the responder between passes
        self._reload_lock = asyncio.Lock()
        self._watcher = ConfigWatcher(config.path) if config.path and watch_config else None
        self.listener: WorkListener | None = None

    async def __aenter__(self) -> Daemon:
        await self.initialise()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def initialise(self) -> None:
        """Claim the port, open the store, load models, build connectors (fails fast).

        The port is bound first, so a port in use fails before anything is opened or polled;
        whatever was opened before a failure (or a cancellation) is released again.
        """
        try:
            await self._initialise()
        except BaseException:
            await self._release(rollback=True)
            raise

    async def _initialise(self) -> None:
        cfg = self.config
        if cfg.server.enabled:
            self.server.bind()
        self._opening = True  # from here a failure has opened (and released) the store
        built = await app.build(cfg, classifier=self._classifier, responder=self._responder)
        self.components = built
        self.store, self.connectors, self.runners = built.store, built.connectors, built.runners
        self.responder, self.pipeline, self.poster = built.responder, built.pipeline, built.poster
        self.alerts = built.alerts
        self.metrics = Metrics(built.store)
        self.pipeline.timing = self.metrics.timing
        self.app, self.slack = app.routes(
            built,
            webhook=self._webhook,
            on_decision=self._decided,
            health_extra=self._health_extra,
            metrics=self.metrics,
            sources=lambda: list(self.runners),
        )
        if self.slack is not None:
            self._slack_wake = self.slack.wake_event  # one event: Slack's own wake() too

    async def start(self) -> None:
        """Reconcile posts in flight, then start polling, workers and the server.

        A failure stops whatever was started and releases everything before it propagates.
        """
        assert self.store is not None and self.app is not None
        try:
            await self._start(self.store, self.app)
        except BaseException as exc:
            log.error("start failed (%s); stopping", redact(f"{type(exc).__name__}: {exc}"))
            await self.stop()
            raise

    async def _start(self, store: Store, app: web.Application) -> None:
        for status in store.source_status():
            if status.disabled and status.source in self.runners:
                store.enable_source(status.source)
                log.info("re-enabled source=%s (was: %s)", status.source, status.disabled_reason)
        reconciled = await self.poster.reconcile()
        if reconciled:
            log.info("reconciled %d post(s) left in flight", reconciled)
        for name, runner in self.runners.items():
            self._schedule_poll(name, runner)
        self.scheduler.every("wake_snoozed", 30, self._wake_snoozed)
        self._schedule_alerts(store)
        if self._watcher is not None:
            self.scheduler.every("config_watch", WATCH_EVERY, self._watch, start_now=False)
        self.scheduler.every("rescore", 60, self.pipeline.rescore, start_now=False)
        self._spawn("pipeline", self._pipeline_pass, wake=self._pipeline_wake, interruptible=True)
        self._spawn("poster", self._poster_pass, wake=self._post_wake)
        if self.slack is not None:
            await self.slack.start()
            self._spawn("slack", self.slack.sync, idle=SLACK_PASS, wake=self._slack_wake)
        self._listen(store)
        self.scheduler.start()
        if self.config.server.enabled:
            await self.server.start(app)
            log.info("serving http://%s:%d/", self.server.host, self.server.port)
        log.info("started sources=%s", ",".join(self.runners) or "none")

    def _listen(self, store: Store) -> None:
        """On PostgreSQL, wake on other daemons' ``NOTIFY`` (new work, decisions)."""
        dsn = _postgres_dsn(store)
        if dsn is None:
            return
        loop = asyncio.get_running_loop()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed under a stopping daemon
                loop.call_soon_threadsafe(self._woken_by_other)

        self.listener = WorkListener(dsn, wake)
        self.listener.start()

    def _woken_by_other(self) -> None:
        if not self._stopping.is_set():
            self._pipeline_wake.set()
            self._post_wake.set()
            self._slack_wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Start, wait for ``stop``, stop."""
        await self.start()
        await stop.wait()
        await self.stop()

    async def stop(self) -> None:
        """Stop accepting work and release everything in bounded time (7 s at most).

        Model inference in flight is not waited for: its worker is cancelled at once and the
        result discarded (the item stays in its earlier state and is redone after a restart).
        Polls, posts and Slack passes get ``STOP_GRACE`` seconds to finish, then are cancelled.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        log.info("stopping")
        await self._release(rollback=False)
        log.info("stopped")

    async def _release(self, *, rollback: bool) -> None:
        self._stopping.set()
        opened = self._opening
        for task in self._interruptible:
            task.cancel()
        listener = self.listener.stop() if self.listener is not None else asyncio.sleep(0)
        await asyncio.gather(
            _bounded("scheduler", self.scheduler.shutdown(timeout=STOP_GRACE), STOP_GRACE + 1.5),
            _bounded("workers", self._stop_workers(), STOP_GRACE + 1.5),
            _bounded("server", self.server.stop(), STOP_GRACE),
            _bounded("listener", listener, STOP_GRACE),
        )
        closers: list[Awaitable[object]] = self.components.closers() if self.components else []
        if self.slack is not None:
            closers.append(self.slack.stop())
        await asyncio.gather(*(_bounded("close", c, CLOSE_TIMEOUT) for c in closers))
        self.components, self.connectors, self.slack, self.responder = None, {}, None, None
        if self.store is not None:
            self.store.close()
            self.store = None
        if rollback and opened:
            log.info("start-up aborted; released the store, the port and the connectors")

    async def _stop_workers(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    def _spawn(
        self,
        name: str,
        step: Callable[[], Awaitable[int | None]],
        idle: float | None = None,
        wake: asyncio.Event | None = None,
        *,
        interruptible: bool = False,
    ) -> None:
        tick = idle if idle is not None else self.config.pipeline.tick
        wake = wake or asyncio.Event()

        async def loop() -> None:
            failures = 0
            while not self._stopping.is_set():
                wake.clear()
                try:
                    moved = await step()
                    failures = 0
                except Exception as exc:  # noqa: BLE001 - logged by _back_off; the worker goes on
                    failures += 1
                    await self._back_off(name, exc, failures)
                    continue
                if moved:
                    await asyncio.sleep(0)  # a busy worker still lets the loop serve others
                else:
                    await _first(self._stopping, wake, timeout=tick)

        task = asyncio.create_task(loop(), name=name)
        self._tasks.append(task)
        if interruptible:
            self._interruptible.append(task)

    async def _back_off(self, worker: str, exc: Exception, failures: int) -> None:
        """After a failed step (the store unreachable, say): wait with exponential backoff
        and full jitter, so a worker neither spins on an outage nor retries in step with the
        other daemons; a stop ends the wait."""
        delay = _jittered(WORKER_BACKOFF, failures)
        if failures == 1:
            log.exception("worker step failed worker=%s", worker)
        else:
            error = redact(f"{type(exc).__name__}: {exc}")[:300]
            log.warning(
                "worker step failed again worker=%s failures=%d error=%s; next try in %.1fs",
                worker, failures, error, delay,
            )  # fmt: skip
        await _first(self._stopping, timeout=delay)

    def _schedule_poll(self, name: str, runner: SourceRunner) -> None:
        interval = self.config.source(name).interval
        self.scheduler.every(f"poll:{name}", interval, self._poll_job(runner))

    def _schedule_alerts(self, store: Store) -> None:
        for job in ("alerts", *OPS_JOBS):
            self.scheduler.remove(job)
        if self.alerts.enabled:
            self.scheduler.every("alerts", 10, self.alerts.run_once)
        embedder = self.components.models.embedder if self.components else None
        self.ops = OpsJobs.build(store, self.config, embedder=embedder)  # issue 16
        self.ops.schedule(self.scheduler, self.config)

    def _poll_job(self, runner: SourceRunner) -> Callable[[], Awaitable[None]]:
        lock = self._poll_locks.setdefault(runner.name, asyncio.Lock())

        failures, not_before = 0, 0.0

        async def poll() -> None:
            nonlocal failures, not_before
            if time.monotonic() < not_before:
                return  # the store failed under the last poll: backing off
            async with lock:  # a reload closes the connector only between polls
                if self.runners.get(runner.name) is not runner:
                    return  # removed or rebuilt by a reload
                try:
                    result = await runner.poll()
                except Exception as exc:  # noqa: BLE001 - the store, not the source, failed
                    failures += 1
                    not_before = time.monotonic() + _jittered(WORKER_BACKOFF, failures)
                    error = redact(f"{type(exc).__name__}: {exc}")[:300]
                    log.warning("poll failed source=%s failures=%d error=%s",
                                runner.name, failures, error)  # fmt: skip
                    return
                failures = 0
            if self.metrics is not None:
                self.metrics.poll(runner.name, result.new, result.malformed, result.error_kind)
            if result.new or result.revised:
                self._pipeline_wake.set()

        return poll

    async def _pipeline_pass(self) -> int:
        async with self._pipeline_lock:
            moved = await self.pipeline.run_once()
        if moved:
            self._slack_wake.set()
        return moved

    # hot reload (issue 16)
    async def _watch(self) -> None:
        if self._watcher is not None and self._watcher.changed():
            await self.reload("config file changed")

    async def reload(self, reason: str = "SIGHUP") -> ReloadPlan | None:
        """Validate the config file again and apply it; keep the running config if invalid.

        Returns the applied plan, or None when the file was refused (every problem, with its
        key and line, is logged and raised as a ``config`` alert). The model is not reloaded
        and work in flight is not dropped: a source's connector is closed between its polls,
        the responder is swapped between pipeline passes.
        """
        async with self._reload_lock:
            if self._stopping.is_set() or self.store is None or self.config.path is None:
                return None
            log.info("reloading config reason=%s path=%s", reason, self.config.path)
            try:
                new = await asyncio.to_thread(load_config, self.config.path)
            except ConfigError as exc:
                self._refused(exc)
                return None
            change = plan(self.config, new)
            await self._apply(change, self.store)
            self.store.audit("config_reloaded", "system", summary=change.summary())
            log.info("config reloaded %s", change.summary())
            for key in change.needs_restart:
                log.warning("config section %s changed; it applies after a restart", key)
            return change

    def _refused(self, exc: ConfigError) -> None:
        problems = [redact(p) for p in exc.problems]
        log.error("config reload refused, keeping the running config: %s", "; ".join(problems))
        if self.store is not None:
            message = "config reload refused, still running the previous config:\n"
            self.store.add_alert("config", "config_invalid", message + "\n".join(problems))

    async def _apply(self, change: ReloadPlan, store: Store) -> None:
        cfg = self.config = change.config
        for name in (*change.removed, *change.rebuilt):
            await self._drop_source(name)
        for name in (*change.added, *change.rebuilt):
            connector = build_source(cfg, name)
            self.connectors[name] = connector
            self.runners[name] = runner = SourceRunner(store, connector)
            self._schedule_poll(name, runner)
        for name in change.rescheduled:
            self._schedule_poll(name, self.runners[name])
        await self._swap_workers(cfg, store)
        self._schedule_alerts(store)

    async def _drop_source(self, name: str) -> None:
        self.scheduler.remove(f"poll:{name}")
        async with self._poll_locks.setdefault(name, asyncio.Lock()):
            self.runners.pop(name, None)
            connector = self.connectors.pop(name, None)
        if connector is not None:
            await _bounded("close", connector.aclose(), CLOSE_TIMEOUT)

    async def _swap_workers(self, cfg: Config, store: Store) -> None:
        assert self.components is not None
        models = self.components.models
        responder = app.build_responder(cfg.responder, cfg.brand, models.embedder)
        await responder.warm()  # prompts and knowledge read again, before the swap
        async with self._pipeline_lock:  # waits for the pass in flight (its drafts are kept)
            if self._stopping.is_set():
                await _bounded("close", responder.aclose(), CLOSE_TIMEOUT)
                return
            old = self.pipeline.responder
            self.pipeline.config, self.pipeline.responder = cfg, responder
            self.pipeline.brand = BrandContext.from_config(cfg.brand)
        self.poster.retry = RetryPolicy(cfg.pipeline.max_attempts, cfg.pipeline.post_retry_base)
        self.alerts = AlertDispatcher(store, cfg)
        self.responder = responder
        self.components = dataclasses.replace(
            self.components, config=cfg, responder=responder, alerts=self.alerts
        )
        if old is not self._responder:
            await _bounded("close", old.aclose(), CLOSE_TIMEOUT)

    async def _poster_pass(self) -> int:
        moved = await self.poster.run_once()
        if moved:
            self._slack_wake.set()  # the Slack message shows the post result
        return moved

    def _decided(self, _item_id: int) -> None:
        self._post_wake.set()
        self._slack_wake.set()

    async def _wake_snoozed(self) -> None:
        assert self.store is not None
        if self.store.wake_snoozed(utcnow()):
            self._slack_wake.set()

    async def _webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/{source_name}``: verify, parse and store pushed mentions.

        404 unknown source, 415 not ``application/json``, 401 unsigned or stale, 400 a body
        that is not UTF-8 JSON; bad input never answers 500.
        """
        assert self.store is not None
        name = request.match_info["source_name"]
        connector = self.connectors.get(name)
        if connector is None or not connector.accepts_push:
            return web.json_response({"error": f"no webhook source {name!r}"}, status=404)
        mime = request.content_type
        if mime != "application/json" and not mime.endswith("+json"):
            error = f"Content-Type must be application/json, not {mime[:60]!r}"
            return web.json_response({"error": error}, status=415)
        body = await request.read()
        try:
            page = connector.receive(dict(request.headers), body)
        except AuthError as exc:
            self.store.audit("webhook_refused", f"source:{name}", reason=str(exc))
            return web.json_response({"error": str(exc)}, status=401)
        except MalformedRecord as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Exception as exc:  # noqa: BLE001 - unreadable input is the sender's error
            log.warning("webhook body refused source=%s error=%s", name, type(exc).__name__)
            error = f"cannot read the body ({type(exc).__name__})"
            return web.json_response({"error": error}, status=400)
        result = followups.ingest(self.store, name, page.mentions, None)
        if result.new_ids or result.revised_ids:
            self._pipeline_wake.set()
        for reason in result.rejected:
            log.warning("skipped unstorable webhook record source=%s error=%s", name, reason)
        malformed = page.malformed + result.malformed
        self.runners[name].malformed_total += malformed
        if self.metrics is not None:
            self.metrics.poll(name, len(result.new_ids), malformed, None)
        body_out = {
            "new": len(result.new_ids),
            "revised": len(result.revised_ids),
            "duplicates": result.duplicates,
        }
        return web.json_response({**body_out, "malformed": malformed}, status=202)

    def _health_extra(self) -> dict[str, Any]:
        return {
            "jobs": {
                name: (when.isoformat() if when else None)
                for name, when in self.scheduler.next_runs().items()
            },
            "malformed": {name: r.malformed_total for name, r in self.runners.items()},
        }


def _jittered(backoff: tuple[float, float], failures: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(longest, first * 2**n)]."""
    first, longest = backoff
    return random.uniform(0, min(longest, first * 2 ** min(failures, 16)))


def _postgres_dsn(store: Store) -> str | None:
    """The DSN of a PostgreSQL store (imported lazily: SQLite installs need no psycopg)."""
    if "repbot.store.postgres" not in sys.modules:
        return None  # no PostgreSQL store was ever opened in this process
    from repbot.store.postgres import PostgresStore

    return store.dsn if isinstance(store, PostgresStore) else None


async def _first(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of ``events`` is set or ``timeout`` passes."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _bounded(step: str, work: Awaitable[object], seconds: float) -> None:
    """Await ``work`` for at most ``seconds``; log (never raise) a failure or a timeout."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
        log.warning("stop step timed out step=%s after=%.1fs", step, seconds)
    elif not task.cancelled() and task.exception() is not None:
        error = redact(f"{type(task.exception()).__name__}: {task.exception()}")
        log.warning("stop step failed step=%s error=%s", step, error)
