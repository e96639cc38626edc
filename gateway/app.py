"""Build the aiohttp Application: typed app keys, the middleware order, start and stop."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from auth.credentials import CredentialCache
from auth.sealed import SecretSealer
from backends.base import Backend, BackendError
from events.scan.worker import ScanWorker
from gateway import tracing
from gateway.audit_writer import AuditWriter
from gateway.codec.keys import load_master_key
from gateway.context import Clock, Services
from gateway.dispatch import APP_SERVICES, handle
from gateway.expect import continue_middleware, defer_continue
from gateway.jobs.collector import Collector
from gateway.jobs.event_dispatch import EventDispatcher
from gateway.jobs.leader import SingletonTask, leader_lock_of
from gateway.jobs.replication import ReplicationWorker
from gateway.limits.rate import rate_limiter
from gateway.limits.uploads import UploadSlots
from gateway.logs import protocol_logger
from gateway.meta.base import MetaStore
from gateway.meta.outbox import outbox_of
from gateway.meta.sqlite import SqliteMetaStore
from gateway.metrics.backend import MeteredBackend
from gateway.middlewares.access_log import access_log_middleware
from gateway.middlewares.audit import audit_middleware
from gateway.middlewares.cors import add_cors_headers, cors_middleware
from gateway.middlewares.errors import error_middleware
from gateway.middlewares.metrics import metrics_middleware, record_first_byte
from gateway.middlewares.request_id import request_id_middleware
from gateway.ops.notification import quarantine_events
from gateway.replication.copy import Copier
from gateway.replication.targets import TargetClients
from gateway.settings import Settings
from gateway.tracing import tracing_middleware
from gateway.website.endpoint import serve_website
from lifecycle.worker import lifecycle_task

log = logging.getLogger("kloudvault")
APP_COLLECTOR = web.AppKey("collector", Collector)
APP_AUDIT = web.AppKey("audit", AuditWriter)
APP_EVENTS = web.AppKey("events", EventDispatcher)
APP_REPLICATION = web.AppKey("replication", ReplicationWorker)
LIVE_PATHS = ("/minio/health/live", "/health/live", "/health")
READY_PATHS = ("/minio/health/ready", "/health/ready")
CONNECT_TIMEOUT = 5.0  # seconds: a reachable store accepts a connection long before this
# /minio/health/ready answers within this, whatever the backend's timeouts and retries:
# probes (Kubernetes: 1 s by default) must get an answer, and a store that slow is not ready.
HEALTH_TIMEOUT = 5.0


def import_backend(name: str) -> None:
    """Import the `s3` or `azure` backend now, so that a missing SDK ends the command with
    one line on stderr rather than a traceback (and `serve` fails before its banner).
    `pip install .` brings both SDKs; this is for environments that lost one."""
    sdk = {"s3": "aiobotocore", "azure": "azure-storage-blob"}.get(name)
    if sdk is None:
        return
    try:
        importlib.import_module(f"backends.{name}")
    except ModuleNotFoundError as exc:
        raise SystemExit(
            f"--backend {name} needs {sdk}, but module {exc.name!r} is not installed"
            " (`pip install .` installs the local, s3 and azure backends)"
        ) from None


def make_backend(settings: Settings) -> Backend:
    import_backend(settings.backend)
    if settings.backend == "local":
        from backends.local import LocalBackend

        return LocalBackend(settings.blob_dir)
    if settings.backend == "memory":
        from backends.memory import MemoryBackend

        return MemoryBackend()
    if settings.backend == "s3":
        from backends.s3 import S3Backend

        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        return S3Backend(
            settings.s3_endpoint,
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            server_md5=not settings.s3_hash_locally,
            **_timeouts(settings),
        )
    if settings.backend == "azure":
        from backends.azure import AzureBackend

        # The SDK logs every request and response with its headers at INFO: a gateway
        # log is no place for that (its own errors still come through, at WARNING).
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(
            logging.WARNING
        )
        # An account URL without a key (and without a SAS in it) is Entra ID: the backend
        # creates azure-identity's DefaultAzureCredential and closes it when it closes.
        return AzureBackend(
            settings.azure_container,
            connection_string=settings.azure_connection_string,
            account_url=settings.azure_account_url,
            account_key=settings.azure_account_key,
            **_timeouts(settings),
        )
    raise SystemExit(f"unknown backend {settings.backend!r}")


def _timeouts(settings: Settings) -> dict[str, Any]:
    """A remote backend's timeouts and attempts (--backend-timeout, --backend-attempts)."""
    return {
        "connect_timeout": min(CONNECT_TIMEOUT, settings.backend_timeout),
        "read_timeout": settings.backend_timeout,
        "max_attempts": settings.backend_attempts,
    }


def is_shared_metadata(settings: Settings) -> bool:
    """Whether the metadata lives in a database several machines share (PostgreSQL)."""
    return (settings.metadata_url or "").startswith(("postgresql://", "postgres://"))


def secret_sealer(settings: Settings) -> SecretSealer:
    """What seals access-key secrets at rest (auth/sealed.py): the master key, wherever every
    process sharing the metadata has the same one. On SQLite it sits beside the database; on
    PostgreSQL only a configured key is shared (a generated one is each data directory's
    own), so without one the secrets stay unsealed (the start-up log says so)."""
    configured = settings.master_key is not None or settings.master_key_file is not None
    if is_shared_metadata(settings) and not configured:
        return SecretSealer(None)
    previous = settings.previous_master_key_file
    return SecretSealer(
        load_master_key(settings.master_key, settings.master_key_file, settings.data_dir),
        () if previous is None else (load_master_key(None, previous, settings.data_dir),),
    )


def make_metastore(settings: Settings) -> MetaStore:
    url = settings.metadata_url
    store: MetaStore
    if url is None or url.startswith("sqlite:"):
        Path(settings.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        store = SqliteMetaStore(settings.sqlite_path)
    elif is_shared_metadata(settings):
        from gateway.meta.postgres import PostgresMetaStore

        try:
            store = PostgresMetaStore(
                url,
                pool_min=settings.pg_pool_min,
                pool_max=settings.pg_pool_max,
                session_url=settings.pg_session_url,
            )
        except ValueError as exc:
            raise SystemExit(f"--metadata-url: {exc}") from None
    else:
        raise SystemExit("unsupported --metadata-url (sqlite:///path or postgresql://...)")
    if settings.redis_url:
        from gateway.meta.cached import CachedMetaStore
        from gateway.meta.redis_cache import RedisCoherence, split_redis_url

        redis_url, namespace = split_redis_url(settings.redis_url)
        cache = RedisCoherence(redis_url, namespace=namespace, timeout=settings.redis_timeout)
        store = CachedMetaStore(store, cache)
    return store


async def open_services(settings: Settings, clock: Clock = time.time) -> Services:
    meta = make_metastore(settings)
    await meta.open()
    backend: Backend = MeteredBackend(make_backend(settings))
    if settings.otlp_endpoint and not tracing.enabled():
        tracing.setup(settings.otlp_endpoint)
    if tracing.enabled():
        meta, backend = tracing.traced(meta, "metadata"), tracing.traced(backend, "backend")
    services = Services(
        settings=settings,
        meta=meta,
        backend=backend,
        # Several machines: a key deleted on one replica must be refused by the next
        # request on any other, which an in-process TTL cannot promise (pub/sub would
        # only be best effort). The lookup goes to the MetaStore, i.e. to the Redis cache
        # when configured (~0.2 ms) or to a PostgreSQL primary-key probe.
        credentials=CredentialCache(
            meta,
            ttl=0.0 if is_shared_metadata(settings) else 0.5,
            sealer=secret_sealer(settings),
        ),
        clock=clock,
    )
    services.limiter = rate_limiter(settings)
    if settings.max_uploads_per_key is not None:
        services.upload_slots = UploadSlots(settings.max_uploads_per_key)
    # Read (or generate) the master key now: a bad key file fails the start, not a PUT.
    _ = services.master_key
    if services.scanner is not None and settings.scan_mode == "async":
        # A quarantine is reported as the tag change it is (s3:ObjectTagging:Put).
        services.scan_worker = ScanWorker(services, services.scanner)
        services.scan_worker.on_quarantine.append(quarantine_events(services))
    return services


async def close_services(services: Services) -> None:
    if services.limiter is not None:
        await services.limiter.close()
    await services.backend.close()
    await services.meta.close()


async def health_live(request: web.Request) -> web.Response:
    return web.Response(text="OK\n")


async def health_ready(request: web.Request) -> web.Response:
    services = request.app[APP_SERVICES]
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await services.backend.health()
    except BackendError as exc:
        log.warning("backend not ready: %s", exc)
        return web.Response(status=503, text=f"backend {services.backend.name} unavailable\n")
    except TimeoutError:
        log.warning("backend not ready: no answer within %.0f s", HEALTH_TIMEOUT)
        return web.Response(status=503, text=f"backend {services.backend.name} unavailable\n")
    return web.Response(text="OK\n")


def _middlewares(services: Services, audit: AuditWriter | None) -> list[Middleware]:
    # Order matters: the request id exists before anything logs or fails; the audit and
    # access logs see the status the error middleware rendered; a refused CORS preflight
    # is an error document like any other.
    # Outermost, continue_middleware: it writes a response sent in place of 100 Continue
    # itself, after every other middleware has had its say (gateway/expect.py).
    chain: list[Middleware] = [continue_middleware, request_id_middleware]
    if tracing.enabled():  # --otlp-endpoint; the logs below run inside the request's span
        chain.append(tracing_middleware)
    if audit is not None:
        unaudited = frozenset((*LIVE_PATHS, *READY_PATHS))
        chain.append(audit_middleware(audit, services.trusted_proxies, unaudited))
    if services.settings.access_log:
        chain.append(access_log_middleware)
    return [*chain, error_middleware, cors_middleware]


# Request-head limits. S3 allows 2 KB of user metadata however it is split, so hundreds
# of small x-amz-meta-* headers are legitimate (aiohttp's default is 128 headers); a long
# key in x-amz-copy-source or in the URL needs more than aiohttp's 8 KiB line.
#
# read_bufsize: aiohttp stops reading a connection once twice this much of its body waits
# in memory. Its default (256 KiB) held up to 512 KiB (plus one 256 KB socket read) for
# every upload waiting on a busy thread: 300 MiB at 400 concurrent uploads. With 64 KiB the
# excess waits in the kernel's socket buffer instead, outside the server's memory; a body
# read while few uploads are in progress raises it back to 256 KiB (gateway.body).
HANDLER_ARGS: dict[str, Any] = {
    "read_bufsize": 64 * 1024,
    "max_field_size": 16 * 1024,
    "max_line_size": 16 * 1024,
    "max_headers": 1024,
    "logger": protocol_logger(),
}


def build_app(services: Services, *, run_collector: bool = True) -> web.Application:
    audit = AuditWriter(services.settings.audit_log) if services.settings.audit_log else None
    app = web.Application(
        middlewares=_middlewares(services, audit),
        handler_args=HANDLER_ARGS,
    )
    # Innermost: the metrics see the S3Error a request ends in before it is rendered.
    app.middlewares.append(metrics_middleware)
    app.on_response_prepare.append(record_first_byte)
    app.on_response_prepare.append(add_cors_headers)
    app[APP_SERVICES] = services
    if audit is not None:
        app[APP_AUDIT] = audit
        app.cleanup_ctx.append(_audit_ctx(audit))  # first in, so the last to close
    app.cleanup_ctx.append(_backend_started(services.backend))
    for path in LIVE_PATHS:
        app.router.add_get(path, health_live)
    for path in READY_PATHS:
        app.router.add_get(path, health_ready)
    # 100 Continue waits until dispatch has authorized the request (gateway/expect.py).
    app.router.add_route("*", "/{tail:.*}", handle, expect_handler=defer_continue)
    if services.scan_worker is not None:
        app.cleanup_ctx.append(_running(services.scan_worker))
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
        # Several replicas (PostgreSQL): one of them at a time collects (gateway/jobs/leader.py).
        lock = leader_lock_of(services.meta, "collector")
        job: _Background = (
            collector
            if lock is None
            else SingletonTask("collector", lock, collector.run_once, interval=settings.gc_interval)
        )
        app.cleanup_ctx.append(_running(job))
        app.cleanup_ctx.append(_running(_lifecycle_task(services)))
        app[APP_EVENTS] = dispatcher = _event_dispatcher(services)
        app.cleanup_ctx.append(_running(dispatcher))
        app[APP_REPLICATION] = worker = _replication_worker(services)
        app.cleanup_ctx.append(_running(worker))
    return app


def build_website_app(services: Services) -> web.Application:
    """The --website-listen listener's application: every request is a website request
    (gateway/website/endpoint.py, which renders its own HTML errors)."""
    chain: list[Middleware] = [request_id_middleware]
    if services.settings.access_log:
        chain.append(access_log_middleware)
    app = web.Application(
        middlewares=chain,
        handler_args=HANDLER_ARGS,
    )
    app[APP_SERVICES] = services

    async def website(request: web.Request) -> web.StreamResponse:
        return await serve_website(request, services)

    app.router.add_route("*", "/{tail:.*}", website)
    return app


def _backend_started(backend: Backend) -> Callable[[web.Application], AsyncIterator[None]]:
    """Connect to a remote store as the app starts, in the background, so that its bucket
    or container check and its MD5 probe (backends.base.Digesting) are done before the first
    PUT rather than by it (a first PUT would be hashed by the gateway). A store that is down
    is not an error here: the first call that needs it tries again, and
    /minio/health/ready says so meanwhile."""

    async def started(app: web.Application) -> AsyncIterator[None]:
        start = getattr(backend, "start", None)  # the remote backends have one
        task = asyncio.create_task(start()) if start is not None else None
        if task is not None:
            task.add_done_callback(_report_start)
        yield
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return started


def _report_start(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("backend not ready at start (the first request tries again): %s", exc)


def _audit_ctx(audit: AuditWriter) -> Callable[[web.Application], AsyncIterator[None]]:
    async def audit_ctx(app: web.Application) -> AsyncIterator[None]:
        await audit.start()
        yield
        await audit.close()

    return audit_ctx


class _Background(Protocol):
    """A job the app runs from start to cleanup (gateway/jobs, events/scan, lifecycle)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


def _running(job: _Background) -> Callable[[web.Application], AsyncIterator[None]]:
    """`job` as an app cleanup context: started with the app, stopped at its cleanup."""

    async def running(app: web.Application) -> AsyncIterator[None]:
        job.start()
        yield
        await job.stop()

    return running


def _lifecycle_task(services: Services) -> SingletonTask:
    """The lifecycle worker (lifecycle/worker.py)."""
    return lifecycle_task(
        services.meta,
        services.lifecycle_timing,
        interval=services.settings.lifecycle_interval,
        clock=services.clock,
        rules=services.lifecycle_rules,
        notifications=services.notifications,
        events_queued=services.events_queued,
    )


def _event_dispatcher(services: Services) -> EventDispatcher:
    """The event dispatcher (gateway/jobs/event_dispatch.py): on the replica holding the
    "events" leader lock (PostgreSQL), else here alone."""
    settings = services.settings
    return EventDispatcher(
        outbox_of(services.meta),
        services.targets,
        wake=services.events_queued,
        attempts=settings.notify_attempts,
        backoff=settings.notify_backoff,
        max_backoff=settings.notify_backoff_max,
        lock=leader_lock_of(services.meta, "events"),
        clock=services.clock,
    )


def _replication_worker(services: Services) -> ReplicationWorker:
    """The replication worker (gateway/jobs/replication.py): on the replica holding the
    "replication" leader lock (PostgreSQL), else here alone."""
    settings = services.settings
    clients = TargetClients(outbox_of(services.meta), services.credentials.sealer)
    return ReplicationWorker(
        Copier(services, clients),
        clients,
        wake=services.replication_queued,
        attempts=settings.replication_attempts,
        backoff=settings.replication_backoff,
        max_backoff=settings.replication_backoff_max,
        lock=leader_lock_of(services.meta, "replication"),
        clock=services.clock,
    )
