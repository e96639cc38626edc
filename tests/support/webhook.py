"""A webhook receiver on a loopback port, for the event notification tests.

It records each POST (body, headers) and answers 200, or 503 while `failing` says so
(`failing` may be a predicate on the parsed body, to fail some events only). Records are
checked against X-KloudVault-Signature when a secret is given.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class WebhookReceiver:
    secret: str | None = None
    failing: bool | Callable[[dict[str, Any]], bool] = False
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    port: int = 0
    tls: ssl.SSLContext | None = None  # serve https with this context
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw)
        fail = self.failing(body) if callable(self.failing) else self.failing
        if fail:
            return web.Response(status=503)
        if self.secret is not None:
            want = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("X-KloudVault-Signature", ""), want):
                self.bad_signatures += 1
                return web.Response(status=401)
        self.received.append(Received(body, dict(request.headers)))
        self._arrived.set()
        return web.Response(status=200)

    async def start(self, port: int = 0) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=self.tls)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def records(self) -> list[dict[str, Any]]:
        """Every received record (test events left out), in arrival order."""
        return [r for got in self.received for r in got.body.get("Records", [])]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until `count` records arrived; the records."""
        async with asyncio.timeout(timeout):
            while len(self.records()) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.records()
