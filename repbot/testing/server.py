"""The machinery every platform simulator shares.

A simulator is a small aiohttp application on loopback. Each route has a name (``"mentions"``,
``"create_tweet"``, ...) so tests can queue responses for it with :meth:`SimulatorServer.inject`
and read what the client sent from :attr:`SimulatorServer.requests`.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

JSONBody = dict[str, Any] | list[Any] | str | bytes | None


@dataclass
class RecordedRequest:
    """One request the simulator received, as the client sent it."""

    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Reply:
    """What a route handler answers: status, JSON body and extra headers."""

    status: int = 200
    body: JSONBody = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Injected:
    """A queued response for one route; with ``apply`` the real handler runs first."""

    reply: Reply
    apply: bool = False
    drop: bool = False


Handler = Callable[[web.Request, RecordedRequest], Awaitable[Reply]]


class SimulatorServer:
    """An aiohttp server on loopback with named routes, injection and request recording."""

    gzip_responses = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Injected]] = defaultdict(deque)
        self._app = web.Application()
        self._runner: web.AppRunner | None = None
        self._register()

    def _register(self) -> None:
        """Subclasses add their routes with :meth:`route`."""

    def route(self, name: str, method: str, path: str, handler: Handler) -> None:
        """Serve ``handler`` at ``method path`` under the route name ``name``."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            return await self._dispatch(name, request, handler)

        self._app.router.add_route(method, path, wrapped)

    @property
    def url(self) -> str:
        """The base URL clients should use, e.g. ``http://127.0.0.1:43121``."""
        if self._runner is None:
            raise RuntimeError("simulator not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Self:
        """Bind and serve (port 0 picks a free port)."""
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Stop serving and release the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def inject(
        self,
        route: str,
        status: int,
        body: JSONBody = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        apply: bool = False,
        drop: bool = False,
    ) -> None:
        """Answer the next ``times`` requests to ``route`` with this response.

        With ``apply=True`` the request still takes effect (a reply is created) before the
        queued response is sent: the client sees a failure although the action happened.
        With ``drop=True`` the connection is closed without any response (aiohttp clients
        retry an idempotent request once on a reused connection, so queue two).
        """
        for _ in range(times):
            self._queues[route].append(
                Injected(Reply(status, body, dict(headers or {})), apply=apply, drop=drop)
            )

    def clear_injections(self) -> None:
        """Drop every queued response that was not used."""
        self._queues.clear()

    def calls(self, route: str) -> list[RecordedRequest]:
        """The recorded requests to ``route``, oldest first."""
        return [r for r in self.requests if r.route == route]

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        self.requests.clear()

    def authenticate(self, route: str, request: web.Request) -> Reply | None:
        """Return an error reply when the request's credentials are not accepted."""
        return None

    def rate_limit(self, route: str) -> tuple[dict[str, str], Reply | None]:
        """Count a request against the route's window.

        Returns the rate-limit headers to send and, when the window is spent, the 429 reply.
        """
        return {}, None

    async def _dispatch(
        self, name: str, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        recorded = RecordedRequest(
            route=name,
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=await request.read(),
        )
        self.requests.append(recorded)
        reply = await self._answer(name, request, recorded, handler)
        if reply is None:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        return self._encode(request, reply)

    async def _answer(
        self, name: str, request: web.Request, recorded: RecordedRequest, handler: Handler
    ) -> Reply | None:
        queue = self._queues.get(name)
        if queue:
            injected = queue.popleft()
            if injected.apply:
                await handler(request, recorded)
            if injected.drop:
                return None
            counted, _ = self.rate_limit(name)
            reply = injected.reply
            return Reply(reply.status, reply.body, {**counted, **reply.headers})
        denied = self.authenticate(name, request)
        if denied is not None:
            return denied
        counted, exhausted = self.rate_limit(name)
        if exhausted is not None:
            return exhausted
        reply = await handler(request, recorded)
        reply.headers = {**counted, **reply.headers}
        return reply

    def _encode(self, request: web.Request, reply: Reply) -> web.Response:
        headers = dict(reply.headers)
        if isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = json.dumps(reply.body, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        accepts_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
        if self.gzip_responses and accepts_gzip and payload:
            payload = gzip.compress(payload, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        return web.Response(status=reply.status, body=payload, headers=headers)
