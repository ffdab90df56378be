"""The long-lived daemon: initialise → start → run → stop.

Every background task is tracked, cancelled and awaited with a timeout on stop; the store,
connectors, HTTP server and Slack connection are owned here and released in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from repbot.alerts import AlertDispatcher
from repbot.approval.wiring import attach_approval
from repbot.classify import Classifier, SentenceEmbedder, load_classifier
from repbot.config import Config, build_source
from repbot.connector import Connector
from repbot.errors import AuthError, MalformedRecord
from repbot.models import utcnow
from repbot.pipeline import Pipeline
from repbot.poster import Poster
from repbot.respond import Responder
from repbot.runner import SourceRunner
from repbot.scheduler import Scheduler
from repbot.server import Server, build_app
from repbot.store import SqliteStore, Store

log = logging.getLogger(__name__)


class Daemon:
    """Owns every long-lived resource of a running repbot."""

    def __init__(
        self,
        config: Config,
        *,
        classifier: Classifier | None = None,
        responder: Responder | None = None,
    ) -> None:
        self.config = config
        self.scheduler = Scheduler()
        self._classifier = classifier
        self._responder = responder
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.store: Store | None = None
        self.connectors: dict[str, Connector] = {}
        self.runners: dict[str, SourceRunner] = {}
        self.server: Server | None = None
        self.slack: Any = None

    async def __aenter__(self) -> Daemon:
        await self.initialise()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def initialise(self) -> None:
        """Open the store, load models, build connectors and the server (fails fast)."""
        cfg = self.config
        self.store = SqliteStore(cfg.store_file())
        classifier = self._classifier
        if classifier is None:
            classifier = await asyncio.to_thread(load_classifier, cfg.classifier)
        responder = self._responder or Responder(
            cfg.responder, cfg.brand, embedder=await asyncio.to_thread(_embedder, cfg)
        )
        for source in cfg.sources:
            if source.enabled:
                connector = build_source(cfg, source.name)
                self.connectors[source.name] = connector
                self.runners[source.name] = SourceRunner(self.store, connector)
        self.responder = responder
        self.pipeline = Pipeline(self.store, cfg, classifier, responder)
        self.poster = Poster(
            self.store,
            self.connectors,
            max_attempts=cfg.pipeline.max_attempts,
            retry_base=cfg.pipeline.post_retry_base,
        )
        self.alerts = AlertDispatcher(self.store, cfg)
        app = build_app(self.store, health_extra=self._health_extra)
        self._post_wake = asyncio.Event()
        self.slack = attach_approval(
            app, self.store, cfg, on_decision=lambda _id: self._post_wake.set()
        )
        app.router.add_post("/webhooks/{source_name}", self._webhook)
        self.server = Server(app, cfg.server.host, cfg.server.port)

    async def start(self) -> None:
        """Reconcile posts in flight, then start polling, workers and the server."""
        assert self.store is not None and self.server is not None
        for status in self.store.source_status():
            if status.disabled and status.source in self.runners:
                self.store.enable_source(status.source)
                log.info("re-enabled source=%s (was: %s)", status.source, status.disabled_reason)
        reconciled = await self.poster.reconcile()
        if reconciled:
            log.info("reconciled %d post(s) left in flight", reconciled)
        for name, runner in self.runners.items():
            interval = self.config.source(name).interval
            self.scheduler.every(f"poll:{name}", interval, runner.poll)
        self.scheduler.every("wake_snoozed", 30, self._wake_snoozed)
        if self.alerts.enabled:
            self.scheduler.every("alerts", 10, self.alerts.run_once)
        self.scheduler.every("rescore", 60, self.pipeline.rescore, start_now=False)
        self._spawn("pipeline", self.pipeline.run_once)
        self._spawn("poster", self.poster.run_once, wake=self._post_wake)
        if self.slack is not None:
            await self.slack.start()
            self._spawn("slack", self.slack.sync, idle=2.0)
        self.scheduler.start()
        if self.config.server.enabled:
            await self.server.start()
            log.info("serving http://%s:%d/", self.server.host, self.server.port)
        log.info("started sources=%s", ",".join(self.runners) or "none")

    async def run(self, stop: asyncio.Event) -> None:
        """Start, wait for ``stop``, stop."""
        await self.start()
        await stop.wait()
        await self.stop()

    async def stop(self, timeout: float = 8.0) -> None:
        """Stop accepting work, let in-flight steps finish (bounded), release everything."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        log.info("stopping")
        await self.scheduler.shutdown(timeout=timeout / 2)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout / 2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.slack is not None:
            with contextlib.suppress(Exception):
                await self.slack.stop()
        if self.server is not None:
            await self.server.stop()
        for connector in self.connectors.values():
            with contextlib.suppress(Exception):
                await connector.aclose()
        if hasattr(self, "responder"):
            with contextlib.suppress(Exception):
                await self.responder.aclose()
        if self.store is not None:
            self.store.close()
        log.info("stopped")

    def _spawn(
        self,
        name: str,
        step: Callable[[], Awaitable[int | None]],
        idle: float | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        tick = idle if idle is not None else self.config.pipeline.tick
        wake = wake or asyncio.Event()

        async def loop() -> None:
            while not self._stopping.is_set():
                wake.clear()
                try:
                    moved = await step()
                except Exception:
                    log.exception("worker step failed worker=%s", name)
                    moved = 0
                if not moved:
                    await _first(self._stopping, wake, timeout=tick)

        self._tasks.append(asyncio.create_task(loop(), name=name))

    async def _wake_snoozed(self) -> None:
        assert self.store is not None
        self.store.wake_snoozed(utcnow())

    async def _webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/{source_name}``: verify, parse and store pushed mentions."""
        assert self.store is not None
        name = request.match_info["source_name"]
        connector = self.connectors.get(name)
        if connector is None or not connector.accepts_push:
            return web.json_response({"error": f"no webhook source {name!r}"}, status=404)
        body = await request.read()
        try:
            page = connector.receive(dict(request.headers), body)
        except AuthError as exc:
            self.store.audit("webhook_refused", f"source:{name}", reason=str(exc))
            return web.json_response({"error": str(exc)}, status=401)
        except MalformedRecord as exc:
            return web.json_response({"error": str(exc)}, status=400)
        result = self.store.ingest(name, page.mentions, None)
        self.runners[name].malformed_total += page.malformed
        body_out = {"new": len(result.new_ids), "duplicates": result.duplicates}
        return web.json_response({**body_out, "malformed": page.malformed}, status=202)

    def _health_extra(self) -> dict[str, Any]:
        return {
            "jobs": {
                name: (when.isoformat() if when else None)
                for name, when in self.scheduler.next_runs().items()
            },
            "malformed": {name: r.malformed_total for name, r in self.runners.items()},
        }


async def _first(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of ``events`` is set or ``timeout`` passes."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _embedder(config: Config) -> SentenceEmbedder | None:
    if config.classifier.model != "embedded":
        return None
    try:
        return SentenceEmbedder.default()
    except Exception as exc:  # noqa: BLE001 - retrieval falls back to lexical similarity
        log.warning("no sentence embedder, knowledge retrieval is lexical: %s", exc)
        return None
