"""The daemon's one aiohttp server: health, metrics, and the routes subsystems add
(web console at ``/``, ``/slack/events``, ``/webhooks/{source_name}``)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from repbot.store import Store

HealthExtra = Callable[[], dict[str, Any]]
STORE_KEY = web.AppKey("store", Store)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def health(store: Store, started: float, extra: HealthExtra | None = None) -> dict[str, Any]:
    """The /healthz document: per-source last success, queue depth by state."""
    sources = [
        {
            "name": s.source,
            "last_success": s.last_success.isoformat() if s.last_success else None,
            "last_error": s.last_error,
            "failures": s.failures,
            "disabled": s.disabled,
            "disabled_reason": s.disabled_reason,
        }
        for s in store.source_status()
    ]
    disabled = any(s["disabled"] for s in sources)
    body: dict[str, Any] = {
        "status": "degraded" if disabled else "ok",
        "uptime_s": round(time.monotonic() - started, 1),
        "sources": sources,
        "queue": store.counts(),
    }
    if extra:
        body.update(extra())
    return body


def metrics_text(store: Store, extra: dict[str, float] | None = None) -> str:
    """Prometheus text exposition of queue depth, source health and response times."""
    lines = ["# TYPE repbot_mentions gauge"]
    lines += [f'repbot_mentions{{state="{k}"}} {v}' for k, v in sorted(store.counts().items())]
    lines.append("# TYPE repbot_source_failures gauge")
    for s in store.source_status():
        lines.append(f'repbot_source_failures{{source="{s.source}"}} {s.failures}')
        lines.append(f'repbot_source_disabled{{source="{s.source}"}} {int(s.disabled)}')
    lines.append("# TYPE repbot_response_seconds summary")
    for stage, summary in store.response_times().items():
        for quantile in ("p50", "p95"):
            if quantile in summary:
                q = "0.5" if quantile == "p50" else "0.95"
                lines.append(
                    f'repbot_response_seconds{{stage="{stage}",quantile="{q}"}} '
                    f"{summary[quantile]:.3f}"
                )
        lines.append(f'repbot_response_seconds_count{{stage="{stage}"}} {int(summary["count"])}')
    for name, value in (extra or {}).items():
        lines.append(f"{name} {value}")
    return "\n".join(lines) + "\n"


def build_app(
    store: Store,
    *,
    health_extra: HealthExtra | None = None,
    metrics_extra: Callable[[], dict[str, float]] | None = None,
) -> web.Application:
    """The application with /healthz and /metrics; callers add the console and Slack routes."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[STORE_KEY] = store
    started = time.monotonic()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(health(store, started, health_extra))

    async def metrics(_: web.Request) -> web.Response:
        extra = metrics_extra() if metrics_extra else None
        return web.Response(text=metrics_text(store, extra), content_type="text/plain")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


class Server:
    """Owns the aiohttp runner and site for the daemon's lifetime."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the only way to learn an ephemeral port
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving and release the socket."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
