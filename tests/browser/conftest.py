"""A real browser against a live gateway: Debian's Chromium (/usr/bin/chromium, never a
downloaded build) driven by Playwright, loading a page from a second origin.

`gateway` is a gateway process (tests/support/gateway.py) on 127.0.0.1; `page_origin` an
aiohttp static server on `localhost` (another origin: another host and port) serving an
empty page and tus-js-client's browser build, which .ci/run installs from npm into
.venv/node/browser (KLOUDVAULT_BROWSER_NODE_PREFIX points elsewhere). `browser` is one
Chromium per module; each test opens its own context (its own localStorage).
Missing Chromium, Playwright or tus-js-client skips, or fails under
KLOUDVAULT_REQUIRE_SERVICES=1 (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import require_service
from tests.support.clients import boto3_client
from tests.support.gateway import REPO_ROOT, GatewayProcess, start_gateway
from tests.support.ports import free_port

CHROMIUM = "/usr/bin/chromium"
NODE_PREFIX_ENV = "KLOUDVAULT_BROWSER_NODE_PREFIX"
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>kloudvault browser tests</title>
<script src="/tus.min.js"></script></head><body></body></html>
"""


def tus_client_js() -> Path:
    prefix = Path(os.environ.get(NODE_PREFIX_ENV, REPO_ROOT / ".venv" / "node" / "browser"))
    return prefix / "node_modules" / "tus-js-client" / "dist" / "tus.min.js"


class PageServer:
    """The second origin: a static server on its own event loop and thread."""

    def __init__(self, script: Path) -> None:  # served if it exists (404 otherwise)
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        self._script = script
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    async def _tus(self, request: web.Request) -> web.StreamResponse:
        if not self._script.exists():
            raise web.HTTPNotFound()
        return web.FileResponse(self._script)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/tus.min.js", self._tus)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> PageServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        require_service("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright", "the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    server = PageServer(tus_client_js()).start()
    yield server.origin
    server.stop()


@pytest.fixture
def tus_client() -> None:
    """For tests that load tus-js-client in the page."""
    script = tus_client_js()
    if not script.exists():
        require_service("tus-js-client", f"{script} is missing (.ci/run installs it from npm)")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = start_gateway(tmp_path_factory.mktemp("gw-browser"), extra_args=["--access-log"])
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def s3(gateway: GatewayProcess) -> Any:
    # SigV4 also for presigned URLs (boto3 presigns with SigV2 by default for us-east-1,
    # whose string to sign holds the Content-Type that fetch() adds to a string body).
    return boto3_client(gateway, signature_version="s3v4")


@pytest.fixture
def page(browser: Any, page_origin: str) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(page_origin + "/")
    yield opened
    context.close()
