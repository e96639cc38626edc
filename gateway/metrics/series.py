"""Every Prometheus series the gateway exports, in one table (prefix `kloudvault_`).

Two kinds:

- Process series (Counter, Gauge, Histogram below): each worker process updates its own;
  with `--workers N` prometheus-client's multiprocess mode keeps them in files under
  PROMETHEUS_MULTIPROC_DIR, which `serve` sets to a fresh directory before it starts the
  workers (gateway/cli.py), and a scrape adds them up (gateway/metrics/exposition.py).
- Scrape-time series (SCRAPED): read from the metadata store and the backend when
  /metrics is asked for, so every worker answers the same whatever it did itself.

Names follow the Prometheus conventions: counters end in `_total` (prometheus-client
appends it to the names given here), durations are in `_seconds`, sizes in `_bytes`.
tests/unit/test_monitoring.py checks that every series the dashboard and the alert rules
(k8s/monitoring/) name is in this module.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram, values
from prometheus_client.metrics import MetricWrapperBase

PREFIX = "kloudvault_"
# Where prometheus-client keeps the series of several workers (set by `serve --workers N`).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


# With --workers N every update of a process series (several per request) first asks the
# kernel for the process id (os.getpid, a system call: glibc caches no pid), to catch a
# fork that would have two processes writing one file: about a tenth of a small GET's
# CPU in a worker. The workers are spawned, not forked; the id is read once here and again
# in the child of any fork, which is all the check needs (prometheus-client lets the
# identifier be any function that gives simultaneously running processes distinct values).
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


def process_id() -> int:
    return _pid


os.register_at_fork(after_in_child=_forked)
# Set before any series below exists: each takes its value class when it is made.
if os.environ.get(MULTIPROC_ENV):
    values.ValueClass = values.MultiProcessValue(process_identifier=process_id)  # type: ignore[no-untyped-call]

# Requests take from a millisecond (HEAD from the cache) to minutes (a 5 GiB part).
REQUEST_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)
# Metadata transactions: sub-millisecond on SQLite, a few ms on PostgreSQL.
METADATA_BUCKETS = (
    0.0002,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

# -- S3 requests (gateway/middlewares/metrics.py) ------------------------------------------------
REQUESTS = Counter(
    "kloudvault_requests",
    "S3 requests answered, by operation and HTTP status",
    ["operation", "status"],
)
ERRORS = Counter(
    "kloudvault_errors",
    "S3 error responses, by operation and S3 error code",
    ["operation", "code"],
)
REQUEST_DURATION = Histogram(
    "kloudvault_request_duration_seconds",
    "Time from the request's arrival to the end of its handling (body streamed)",
    ["operation"],
    buckets=REQUEST_BUCKETS,
)
FIRST_BYTE = Histogram(
    "kloudvault_request_first_byte_seconds",
    "Time from the request's arrival to its response headers (time to first byte)",
    ["operation"],
    buckets=REQUEST_BUCKETS,
)
RECEIVED_BYTES = Counter(
    "kloudvault_received_bytes",
    "Request body bytes received (as sent on the wire: aws-chunked framing included)",
    ["operation"],
)
SENT_BYTES = Counter(
    "kloudvault_sent_bytes",
    "Response body bytes sent",
    ["operation"],
)
IN_FLIGHT = Gauge(
    "kloudvault_requests_in_flight",
    "S3 requests being handled now",
    multiprocess_mode="livesum",
)

# -- the backend (gateway/metrics/backend.py) -----------------------------------------------------
BACKEND_REQUESTS = Counter(
    "kloudvault_backend_requests",
    "Calls to the backend, by Backend method",
    ["operation"],
)
BACKEND_DURATION = Histogram(
    "kloudvault_backend_request_duration_seconds",
    "Backend call latency (get_blob: until its first chunk)",
    ["operation"],
    buckets=REQUEST_BUCKETS,
)
BACKEND_ERRORS = Counter(
    "kloudvault_backend_errors",
    "Backend calls that failed, by Backend method and error kind",
    ["operation", "error"],
)

# -- the metadata store (gateway/meta/store.py) and its Redis cache (gateway/meta/cached.py) ------
METADATA_DURATION = Histogram(
    "kloudvault_metadata_duration_seconds",
    "Metadata store transaction latency, by MetaStore method (retries included)",
    ["method"],
    buckets=METADATA_BUCKETS,
)
CACHE_HITS = Counter(
    "kloudvault_cache_hits",
    "Reads answered by the Redis cache, by entry kind",
    ["entry"],
)
CACHE_MISSES = Counter(
    "kloudvault_cache_misses",
    "Cacheable reads answered by the metadata store (not in Redis, or Redis bypassed)",
    ["entry"],
)

# -- background work --------------------------------------------------------------------------
LIFECYCLE_ACTIONS = Counter(
    "kloudvault_lifecycle_actions",
    "Lifecycle actions taken (or refused) by the lifecycle worker",
    ["action", "reason", "outcome"],
)
COLLECTOR_DELETED = Counter(
    "kloudvault_collector_deleted_blobs",
    "Blobs the collector deleted from the backend",
)
EVENTS_DELIVERED = Counter(
    "kloudvault_events_delivered",
    "Bucket notification events a target acknowledged",
    ["target"],
)
EVENTS_FAILED = Counter(
    "kloudvault_events_failed",
    "Failed deliveries of bucket notification events (outcome=retry: tried again later;"
    " dead: moved to the dead-letter list)",
    ["target", "outcome"],
)
EVENT_LATENCY = Histogram(
    "kloudvault_event_delivery_latency_seconds",
    "Time from a change to its event's acknowledgement by the target",
    ["target"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)
REPLICATION_COPIED = Counter(
    "kloudvault_replication_copied",
    "Changes (new versions, delete markers, metadata) the replication worker copied",
    ["destination"],
)
REPLICATION_FAILED = Counter(
    "kloudvault_replication_failed",
    "Failed replication attempts (outcome=retry: tried again later; dead: status FAILED)",
    ["destination", "outcome"],
)
REPLICATION_LATENCY = Histogram(
    "kloudvault_replication_latency_seconds",
    "Time from a change to its copy at the destination",
    ["destination"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0),
)

# -- codecs -----------------------------------------------------------------------------------
COMPRESSION_SAVED = Counter(
    "kloudvault_compression_saved_bytes",
    "Bytes zstd compression kept out of the backend (plaintext size minus stored size)",
)

PROCESS_SERIES: tuple[MetricWrapperBase, ...] = (
    REQUESTS,
    ERRORS,
    REQUEST_DURATION,
    FIRST_BYTE,
    RECEIVED_BYTES,
    SENT_BYTES,
    IN_FLIGHT,
    BACKEND_REQUESTS,
    BACKEND_DURATION,
    BACKEND_ERRORS,
    METADATA_DURATION,
    CACHE_HITS,
    CACHE_MISSES,
    LIFECYCLE_ACTIONS,
    COLLECTOR_DELETED,
    COMPRESSION_SAVED,
    EVENTS_DELIVERED,
    EVENTS_FAILED,
    EVENT_LATENCY,
    REPLICATION_COPIED,
    REPLICATION_FAILED,
    REPLICATION_LATENCY,
)

# -- scrape time (gateway/metrics/exposition.py): name -> help ----------------------------------
BUCKET_OBJECTS = "kloudvault_bucket_objects"
BUCKET_BYTES = "kloudvault_bucket_bytes"
PENDING_BLOBS = "kloudvault_collector_pending_blobs"
BACKEND_UP = "kloudvault_backend_up"
BUCKET_QUOTA_BYTES = "kloudvault_bucket_quota_bytes"
BUCKET_QUOTA_OBJECTS = "kloudvault_bucket_quota_objects"
ACCOUNT_QUOTA_BYTES = "kloudvault_account_quota_bytes"
ACCOUNT_QUOTA_OBJECTS = "kloudvault_account_quota_objects"
ACCOUNT_BYTES = "kloudvault_account_bytes"
ACCOUNT_OBJECTS = "kloudvault_account_objects"
OUTBOX_DEPTH = "kloudvault_event_outbox_depth"
REPLICATION_BACKLOG = "kloudvault_replication_backlog"
REPLICATION_LAG = "kloudvault_replication_lag_seconds"
SCRAPED: dict[str, str] = {
    BUCKET_OBJECTS: "Object versions stored in the bucket (delete markers excluded)",
    BUCKET_BYTES: "Bytes of the object versions stored in the bucket",
    PENDING_BLOBS: "Blobs waiting for the collector: uploads in progress or crashed"
    " (list=pending), replaced or deleted versions' blobs (list=garbage); capped",
    BACKEND_UP: "1 if the backend answered its health check at this scrape, else 0",
    BUCKET_QUOTA_BYTES: "The bucket's quota in bytes (buckets with a byte quota only)",
    BUCKET_QUOTA_OBJECTS: "The bucket's quota in object versions (buckets with one only)",
    ACCOUNT_QUOTA_BYTES: "The account's quota in bytes, over all its buckets",
    ACCOUNT_QUOTA_OBJECTS: "The account's quota in object versions, over all its buckets",
    ACCOUNT_BYTES: "Bytes stored in all the account's buckets (accounts with a quota only)",
    ACCOUNT_OBJECTS: "Object versions in all the account's buckets (accounts with a quota only)",
    OUTBOX_DEPTH: "Bucket notification events in the outbox: waiting for delivery"
    " (state=pending) or given up on (state=dead)",
    REPLICATION_BACKLOG: "Replication work in the outbox: waiting to be copied (state=pending)"
    " or given up on (state=dead, the versions' status is FAILED)",
    REPLICATION_LAG: "Age of the oldest change still waiting to be replicated (0: none)",
}


def exported_names() -> frozenset[str]:
    """Every sample name a scrape can show (histograms: _bucket, _sum, _count)."""
    names: set[str] = set(SCRAPED)
    for metric in PROCESS_SERIES:
        for family in metric.describe():
            if family.type == "counter":
                names |= {family.name + "_total", family.name + "_created"}
            elif family.type == "histogram":
                names |= {family.name + s for s in ("_bucket", "_sum", "_count", "_created")}
            else:
                names.add(family.name)
    return frozenset(names)
