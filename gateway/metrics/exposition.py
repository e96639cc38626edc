"""GET /metrics: the process series of every worker, added up, and the scrape-time series.

Where it is served (gateway/app.py, gateway/cli.py):
- on `--metrics-listen HOST:PORT`, an http listener of its own in every worker process
  (the port shared like the S3 port's when there are several);
- on the S3 port at /metrics, only when `--metrics-token` is set and only to
  `Authorization: Bearer <token>` (gateway/middlewares/metrics.py). The token, when set,
  is asked for on --metrics-listen as well.

Several workers: `serve` gives them a fresh PROMETHEUS_MULTIPROC_DIR (gateway/cli.py), each
writes its series there, and whichever worker answers a scrape reads them all with
prometheus-client's MultiProcessCollector. Alone, the process's own registry answers.
The scrape-time series (usage, quotas, blob backlog, backend health) are read by the answering
worker from the shared metadata store and backend: the same from any worker.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from backends.base import Backend, BackendError
from events.records import REPLICATION
from gateway.context import Services
from gateway.limits.quota import QuotaUse
from gateway.meta.outbox import outbox_of
from gateway.metrics.series import (
    ACCOUNT_BYTES,
    ACCOUNT_OBJECTS,
    ACCOUNT_QUOTA_BYTES,
    ACCOUNT_QUOTA_OBJECTS,
    BACKEND_UP,
    BUCKET_BYTES,
    BUCKET_OBJECTS,
    BUCKET_QUOTA_BYTES,
    BUCKET_QUOTA_OBJECTS,
    MULTIPROC_ENV,
    OUTBOX_DEPTH,
    PENDING_BLOBS,
    REPLICATION_BACKLOG,
    REPLICATION_LAG,
    SCRAPED,
)

log = logging.getLogger(__name__)

USAGE_BUCKETS = 1000  # the buckets storing the most bytes; a scrape stays bounded
BACKLOG_CAP = 1_000_000
BACKEND_TIMEOUT = 2.0  # seconds: a scrape must answer well within Prometheus's timeout
METRICS_PATH = "/metrics"


class _Families(Collector):
    """Families already built, plus (one process) what this process's registry holds."""

    def __init__(self, families: list[Metric], *, own: bool) -> None:
        self.families = families
        self.own = own

    def collect(self) -> list[Metric]:
        process = list(REGISTRY.collect()) if self.own else []
        return process + self.families


async def scraped_families(services: Services) -> list[Metric]:
    """The scrape-time series; a store that fails to answer leaves its series out."""
    families: list[Metric] = []
    try:
        usage = await services.meta.bucket_usage(USAGE_BUCKETS)
        backlog = await services.meta.blob_backlog(cap=BACKLOG_CAP)
    except Exception as exc:  # the scrape still reports the process series
        log.warning("metrics: cannot read usage from the metadata store: %r", exc)
    else:
        objects = GaugeMetricFamily(BUCKET_OBJECTS, SCRAPED[BUCKET_OBJECTS], labels=["bucket"])
        size = GaugeMetricFamily(BUCKET_BYTES, SCRAPED[BUCKET_BYTES], labels=["bucket"])
        for u in usage:
            objects.add_metric([u.bucket], u.objects)
            size.add_metric([u.bucket], u.bytes)
        pending = GaugeMetricFamily(PENDING_BLOBS, SCRAPED[PENDING_BLOBS], labels=["list"])
        pending.add_metric(["pending"], backlog.pending)
        pending.add_metric(["garbage"], backlog.garbage)
        families += [objects, size, pending]
    try:
        quotas = await services.meta.list_quotas()
    except Exception as exc:
        log.warning("metrics: cannot read quotas from the metadata store: %r", exc)
    else:
        families += quota_families(quotas)
    try:
        pending_events, dead_events = await outbox_of(services.meta).outbox_depth()
    except Exception as exc:
        log.warning("metrics: cannot read the event outbox: %r", exc)
    else:
        depth = GaugeMetricFamily(OUTBOX_DEPTH, SCRAPED[OUTBOX_DEPTH], labels=["state"])
        depth.add_metric(["pending"], pending_events)
        depth.add_metric(["dead"], dead_events)
        families.append(depth)
    families += await replication_families(services)
    up = GaugeMetricFamily(BACKEND_UP, SCRAPED[BACKEND_UP], labels=["backend"])
    up.add_metric([services.backend.name], 1.0 if await backend_answers(services.backend) else 0)
    families.append(up)
    return families


async def replication_families(services: Services) -> list[Metric]:
    """The replication backlog (pending, dead) and its lag, from the outbox."""
    outbox = outbox_of(services.meta)
    try:
        pending, dead = await outbox.outbox_depth(kind=REPLICATION)
        oldest = await outbox.oldest_pending_replication()
    except Exception as exc:
        log.warning("metrics: cannot read the replication backlog: %r", exc)
        return []
    backlog = GaugeMetricFamily(REPLICATION_BACKLOG, SCRAPED[REPLICATION_BACKLOG], labels=["state"])
    backlog.add_metric(["pending"], pending)
    backlog.add_metric(["dead"], dead)
    lag = GaugeMetricFamily(REPLICATION_LAG, SCRAPED[REPLICATION_LAG])
    lag.add_metric([], 0.0 if oldest is None else max(0.0, services.clock() - oldest))
    return [backlog, lag]


def quota_families(uses: list[QuotaUse]) -> list[Metric]:
    """Each quota's limits (and an account's usage, which no other series sums), so that
    alerts compare kloudvault_bucket_bytes with kloudvault_bucket_quota_bytes."""

    def family(name: str, label: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, SCRAPED[name], labels=[label])

    bucket_bytes = family(BUCKET_QUOTA_BYTES, "bucket")
    bucket_objects = family(BUCKET_QUOTA_OBJECTS, "bucket")
    account_bytes = family(ACCOUNT_QUOTA_BYTES, "account")
    account_objects = family(ACCOUNT_QUOTA_OBJECTS, "account")
    used_bytes = family(ACCOUNT_BYTES, "account")
    used_objects = family(ACCOUNT_OBJECTS, "account")
    for use in uses:
        q = use.quota
        limit_bytes, limit_objects = (
            (bucket_bytes, bucket_objects)
            if q.scope == "bucket"
            else (account_bytes, account_objects)
        )
        if q.max_bytes is not None:
            limit_bytes.add_metric([q.name], q.max_bytes)
        if q.max_objects is not None:
            limit_objects.add_metric([q.name], q.max_objects)
        if q.scope == "account":
            used_bytes.add_metric([q.name], use.used.bytes)
            used_objects.add_metric([q.name], use.used.objects)
    families = [bucket_bytes, bucket_objects, account_bytes, account_objects]
    return [*families, used_bytes, used_objects]


async def backend_answers(backend: Backend) -> bool:
    try:
        async with asyncio.timeout(BACKEND_TIMEOUT):
            await backend.health()
    except (BackendError, TimeoutError):
        return False
    return True


def exposition(families: list[Metric]) -> bytes:
    """The text format: every worker's process series (or this process's) and `families`."""
    registry = CollectorRegistry(auto_describe=False)
    multiproc = os.environ.get(MULTIPROC_ENV)
    if multiproc:
        MultiProcessCollector(registry, path=multiproc)  # type: ignore[no-untyped-call]
    registry.register(_Families(families, own=not multiproc))
    return generate_latest(registry)


async def render(services: Services) -> web.Response:
    families = await scraped_families(services)
    # Reading every worker's files is file I/O: off the event loop.
    body = await asyncio.to_thread(exposition, families)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def token_matches(expected: str, authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def unauthorized() -> web.Response:
    """401 as RFC 6750 has it; plain text, no S3 error document: this is no S3 route."""
    return web.Response(
        status=401,
        text="a valid bearer token is required for /metrics\n",
        headers={"WWW-Authenticate": 'Bearer realm="kloudvault metrics", error="invalid_token"'},
    )


def metrics_app(services: Services) -> web.Application:
    """The --metrics-listen application: GET /metrics only."""

    async def metrics(request: web.Request) -> web.Response:
        token = services.settings.metrics_token
        if token and not token_matches(token, request.headers.get("Authorization", "")):
            return unauthorized()
        return await render(services)

    app = web.Application()
    app.router.add_get(METRICS_PATH, metrics)
    return app
