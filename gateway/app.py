"""Build the aiohttp Application: typed app keys, the middleware order, start and stop."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from auth.credentials import CredentialCache
from backends.base import Backend, BackendError
from gateway.collector import Collector
from gateway.context import Clock, Services
from gateway.dispatch import APP_HANDLERS, APP_SERVICES, handle, load_handlers
from gateway.meta.base import MetaStore
from gateway.meta.sqlite import SqliteMetaStore
from gateway.middlewares.access_log import access_log_middleware
from gateway.middlewares.errors import error_middleware
from gateway.middlewares.request_id import request_id_middleware
from gateway.settings import Settings

log = logging.getLogger("kloudvault")
APP_COLLECTOR = web.AppKey("collector", Collector)


def make_backend(settings: Settings) -> Backend:
    if settings.backend == "local":
        from backends.local import LocalBackend

        return LocalBackend(settings.blob_dir)
    if settings.backend == "memory":
        from backends.memory import MemoryBackend

        return MemoryBackend()
    raise SystemExit(f"unknown backend {settings.backend!r}")


def make_metastore(settings: Settings) -> MetaStore:
    url = settings.metadata_url
    if url is None or url.startswith("sqlite:"):
        Path(settings.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteMetaStore(settings.sqlite_path)
    raise SystemExit(f"unsupported --metadata-url {url!r}")


async def open_services(settings: Settings, clock: Clock = time.time) -> Services:
    meta = make_metastore(settings)
    await meta.open()
    backend = make_backend(settings)
    return Services(
        settings=settings,
        meta=meta,
        backend=backend,
        credentials=CredentialCache(meta),
        clock=clock,
    )


async def close_services(services: Services) -> None:
    await services.backend.close()
    await services.meta.close()


async def health_live(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def health_ready(request: web.Request) -> web.Response:
    services = request.app[APP_SERVICES]
    try:
        await services.backend.health()
    except BackendError as exc:
        log.warning("backend not ready: %s", exc)
        return web.Response(status=503, text=f"backend {services.backend.name} unavailable\n")
    return web.Response(text="OK\n")


def build_app(services: Services, *, run_collector: bool = True) -> web.Application:
    # Order matters: the request id exists before anything logs or fails, the access log
    # sees the status the error middleware rendered.
    app = web.Application(
        middlewares=[request_id_middleware, access_log_middleware, error_middleware]
        if services.settings.access_log
        else [request_id_middleware, error_middleware],
        handler_args={"max_field_size": 16 * 1024, "max_line_size": 16 * 1024},
    )
    app[APP_SERVICES] = services
    app[APP_HANDLERS] = load_handlers()
    for path in ("/minio/health/live", "/health/live", "/health"):
        app.router.add_get(path, health_live)
    for path in ("/minio/health/ready", "/health/ready"):
        app.router.add_get(path, health_ready)
    app.router.add_route("*", "/{tail:.*}", handle)
    if run_collector:
        settings = services.settings
        collector = Collector(
            services.meta,
            services.backend,
            interval=settings.gc_interval,
            garbage_grace=settings.gc_grace,
            pending_ttl=settings.pending_ttl,
            clock=services.clock,
        )
        app[APP_COLLECTOR] = collector

        async def collector_ctx(app: web.Application) -> AsyncIterator[None]:
            collector.start()
            yield
            await collector.stop()

        app.cleanup_ctx.append(collector_ctx)
    return app
