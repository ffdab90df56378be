"""The daemon's one aiohttp server: health, readiness, metrics, and the routes subsystems add
(web console at ``/``, ``/slack/events``, ``/webhooks/{source_name}``)."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from repbot.errors import RepbotError, StoreError
from repbot.metrics import CONTENT_TYPE, Metrics
from repbot.runner import FAILING_AFTER
from repbot.secrets import redact
from repbot.store import SourceStatus, Store

HealthExtra = Callable[[], dict[str, Any]]
STORE_KEY = web.AppKey("store", Store)
METRICS_KEY = web.AppKey("metrics", Metrics)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def health(store: Store, started: float, extra: HealthExtra | None = None) -> dict[str, Any]:
    """The /healthz document: per-source status and last success, queue depth by state.

    The document says ``degraded`` while any source is disabled or failing (``FAILING_AFTER``
    consecutive failed polls).
    """
    sources = [_source_health(s) for s in store.source_status()]
    body: dict[str, Any] = {
        "status": "ok" if all(s["status"] == "ok" for s in sources) else "degraded",
        "uptime_s": round(time.monotonic() - started, 1),
        "sources": sources,
        "queue": store.counts(),
    }
    if extra:
        body.update(extra())
    return body


def _source_health(s: SourceStatus) -> dict[str, Any]:
    status = "disabled" if s.disabled else "failing" if s.failures >= FAILING_AFTER else "ok"
    return {
        "name": s.source,
        "status": status,
        "last_success": s.last_success.isoformat() if s.last_success else None,
        "last_error": s.last_error,
        "failures": s.failures,
        "disabled": s.disabled,
        "disabled_reason": s.disabled_reason,
    }


def readiness(
    store: Store, model_loaded: bool, sources: Collection[str] | None = None
) -> dict[str, Any]:
    """The /readyz document: ``ready`` and each check (store writable, model loaded, sources).

    ``sources`` are the configured ones (None: every source the store knows); the sources check
    fails only when there is at least one and every one is failing or disabled.
    """
    checks = {
        "store": _store_check(store),
        "model": {"ok": model_loaded, "detail": "loaded" if model_loaded else "not loaded"},
        "sources": _sources_check(store, sources),
    }
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


def _store_check(store: Store) -> dict[str, Any]:
    try:
        store.check_writable()
    except RepbotError as exc:
        return {"ok": False, "detail": redact(str(exc))}
    except Exception as exc:  # noqa: BLE001 - a closed or broken store is "not ready"
        return {"ok": False, "detail": redact(f"{type(exc).__name__}: {exc}")}
    return {"ok": True, "detail": "writable"}


def _sources_check(store: Store, names: Collection[str] | None) -> dict[str, Any]:
    try:
        known = {s.source: _source_health(s)["status"] for s in store.source_status()}
    except Exception as exc:  # noqa: BLE001 - an unreadable store says nothing about sources
        return {"ok": False, "detail": redact(f"{type(exc).__name__}: {exc}"), "failing": []}
    wanted = sorted(known if names is None else names)
    failing = [n for n in wanted if known.get(n, "ok") != "ok"]
    ok = not wanted or len(failing) < len(wanted)
    detail = f"{len(wanted) - len(failing)} of {len(wanted)} source(s) healthy"
    return {"ok": ok, "detail": detail, "failing": failing}


def build_app(
    store: Store,
    *,
    health_extra: HealthExtra | None = None,
    metrics: Metrics | None = None,
    model_loaded: Callable[[], bool] = lambda: True,
    sources: Callable[[], Collection[str]] | None = None,
) -> web.Application:
    """The application with /healthz, /readyz and /metrics; callers add the other routes.

    ``metrics`` is the daemon's (a fresh :class:`~repbot.metrics.Metrics` when omitted);
    ``model_loaded`` and ``sources`` feed the readiness checks.
    """
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[STORE_KEY] = store
    app[METRICS_KEY] = metrics = metrics or Metrics(store)
    started = time.monotonic()

    async def healthz(_: web.Request) -> web.Response:
        try:
            return web.json_response(health(store, started, health_extra))
        except StoreError as exc:  # the process is up; its database is not (PostgreSQL outage)
            body = {"status": "store_unavailable", "error": redact(str(exc))}
            return web.json_response(body, status=503)

    async def readyz(_: web.Request) -> web.Response:
        body = readiness(store, model_loaded(), sources() if sources else None)
        return web.json_response(body, status=200 if body["ready"] else 503)

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


class BindError(RepbotError):
    """The server's address cannot be listened on (in use, not local, not permitted)."""


class Server:
    """Owns the listening sockets, the aiohttp runner and its sites for the daemon's lifetime.

    ``bind()`` claims the address before anything else runs (before the store, the models and
    the first poll), so a port in use fails the start at once with one line; ``start(app)``
    serves on the bound sockets; ``stop()`` releases them.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sockets: list[socket.socket] = []
        self._runner: web.AppRunner | None = None

    def bind(self) -> None:
        """Listen on every address ``host`` resolves to; raise ``BindError`` naming it."""
        if self._sockets:
            return
        where = f"{self.host}:{self.port}"
        try:
            infos = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except OSError as exc:
            raise BindError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        try:
            for family, kind, proto, _, address in dict.fromkeys(
                (i[0], i[1], i[2], i[3], i[4][:2]) for i in infos
            ):
                self._sockets.append(_listen(family, kind, proto, (str(address[0]), self.port)))
                self.port = self._sockets[0].getsockname()[1]  # port 0: reuse the one chosen
        except OSError as exc:
            self.close()
            reason = (exc.strerror or str(exc)).lower()
            raise BindError(
                f"cannot listen on {where}: {reason} (server.host / server.port)"
            ) from None

    async def start(self, app: web.Application) -> None:
        """Serve ``app`` on the bound sockets (binding first if ``bind()`` was not called)."""
        self.bind()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        for sock in self._sockets:
            await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving and release the sockets."""
        try:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
        finally:
            self.close()

    def close(self) -> None:
        """Release the sockets without serving (rollback of a failed start)."""
        for sock in self._sockets:
            sock.close()
        self._sockets = []


def _listen(family: int, kind: int, proto: int, address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
