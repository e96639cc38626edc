"""The real application (gateway/app.py) served in this process, for the tests/app layer.

`AppServer` builds the same Services and Application as `kloudvault serve` (open_services,
build_app, the root key from ensure_root) and serves it with an AppRunner set up as cli.py
sets it up, on a loopback port, from an event loop of its own in a background thread.
Synchronous clients (boto3, http.client) talk to it over a socket as they would to a live
gateway, with no process to start: a server costs milliseconds, so a fixture may start one
with settings of its own.

It has the attributes of a GatewayProcess that the client helpers use (conformance's
S3Endpoint: endpoint, keys, region, workdir...), so a test moved here from
tests/integration keeps its body. What only a separate process can show (kill -9, restarts,
several workers, TLS, real CLI clients) stays in tests/integration.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from auth.credentials import create_access_key, ensure_root
from gateway.app import build_app, close_services, open_services
from gateway.context import Clock, Services
from gateway.settings import Settings, validate
from tests.support.gateway import DEFAULT_REGION, random_access_key, random_secret_key
from tests.support.tls import TLSFiles

T = TypeVar("T")

# Seconds a synchronous caller waits for a coroutine on the server's loop.
CALL_TIMEOUT = 60.0


class MovableClock:
    """The server's clock: `base()` plus an offset that a test moves, so a rule that waits
    for time to pass (an expired presigned URL, a retention date) is tested without
    sleeping. Only the server's clock moves; clients keep signing with the real time."""

    def __init__(self, base: Clock = time.time) -> None:
        self.base = base
        self.offset = 0.0

    def __call__(self) -> float:
        return self.base() + self.offset

    @contextmanager
    def moved(self, seconds: float) -> Iterator[None]:
        """Run the block `seconds` in the server's future; the offset is undone after."""
        self.offset += seconds
        try:
            yield
        finally:
            self.offset -= seconds


class AppServer:
    """One application on 127.0.0.1, http (or https with `tls`), with its own data dir and
    root keys."""

    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        *,
        backend: str = "memory",
        clock: Clock = time.time,
        tls: TLSFiles | None = None,
        **settings: Any,
    ) -> None:
        self.tls = tls
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.access_key = random_access_key()
        self.secret_key = random_secret_key()
        self.region = DEFAULT_REGION
        self.settings = Settings(
            data_dir=str(self.data_dir),
            region=self.region,
            workers=1,
            backend=backend,
            root_access_key=self.access_key,
            root_secret_key=self.secret_key,
            # As every integration gateway has it: the middleware runs on every request.
            access_log=True,
            tls_cert=str(tls.cert) if tls else None,
            tls_key=str(tls.key) if tls else None,
            **settings,
        )
        validate(self.settings)
        self.clock = MovableClock(clock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"app-server {self.workdir.name}", daemon=True
        )
        self._runner: web.AppRunner | None = None
        self._services: Services | None = None
        self._port: int | None = None

    # -- addressing ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._port is not None, "not started"
        return self._port

    @property
    def scheme(self) -> str:
        return self.settings.scheme

    @property
    def ca_bundle(self) -> Path | None:
        return self.tls.ca_bundle if self.tls else None

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context trusting only the test CA (None for http)."""
        if self.tls is None:
            return None
        return ssl.create_default_context(cafile=str(self.tls.ca_bundle))

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def services(self) -> Services:
        assert self._services is not None, "not started"
        return self._services

    # -- life -------------------------------------------------------------------------------

    def start(self) -> AppServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        services = await open_services(self.settings, clock=self.clock)
        self._services = services
        await ensure_root(
            services.meta,
            self.access_key,
            self.secret_key,
            now=time.time(),
            sealer=services.credentials.sealer,
        )
        # As cli.py's _serve: no aiohttp access log, handlers not cancelled on disconnect.
        self._runner = web.AppRunner(build_app(services), access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._server_tls(), backlog=1024).start()
        if (console := self.settings.console_address) is not None:  # as cli.py: a 2nd site
            await web.TCPSite(
                self._runner, console[0], console[1], ssl_context=self._server_tls()
            ).start()

    def _server_tls(self) -> ssl.SSLContext | None:
        """The server side, as cli.py builds it from --tls-cert and --tls-key."""
        if self.tls is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.tls.cert, self.tls.key)
        return ctx

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=CALL_TIMEOUT)
            self._loop.close()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._services is not None:
            await close_services(self._services)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Run `coro` on the server's loop (where its store and backend live); its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def blob_ids(self) -> list[str]:
        """The ids of the blobs the server's backend holds."""

        async def listed() -> list[str]:
            return [info.blob_id async for info in self.services.backend.list_blobs()]

        return self.call(listed())

    # -- what the admin CLI does -------------------------------------------------------------

    def create_user(self, name: str) -> tuple[str, str]:
        """As `admin user create NAME`: the user and one access key; (access, secret)."""

        async def create() -> tuple[str, str]:
            meta = self.services.meta
            now = time.time()
            await meta.create_user(name, now=now)
            key = await create_access_key(meta, self.services.credentials.sealer, name, now=now)
            return key.access_key, key.secret_key

        return self.call(create())

    def __repr__(self) -> str:
        return f"<AppServer {self.scheme} {self.settings.backend} data={self.data_dir}>"
