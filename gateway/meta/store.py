"""The MetaStore, once for both databases: each method runs one transaction body.

How this works:

- The bodies (gateway/meta/accounts.py, iam.py, buckets.py, objects.py, blobs.py, listing.py,
  uploads.py, versions.py) are generators of statements (gateway/meta/sql.py) that know
  nothing of the database running them.
- A `Database` (gateway/meta/sqlite.py, gateway/meta/postgres.py) runs a body in a
  transaction of the right kind: `write` (SQLite BEGIN IMMEDIATE; PostgreSQL READ
  COMMITTED, retried on deadlock), `read` (one consistent read), `point` (a read of a few
  rows found by an index, which SQLite runs on the event loop: gateway/meta/sqlite.py) or
  `snapshot` (several statements on one snapshot: listings). It is handed the body's
  function and arguments, not a started generator, so that PostgreSQL can run the body
  again after a deadlock.
- SqlMetaStore maps each MetaStore method to one body and one kind of transaction, as a
  table: `create_user = write(accounts.create_user)` is the method that runs that body
  with the method's arguments in a write transaction (the bodies take exactly the
  MetaStore method's parameters). The SQLite and PostgreSQL stores are SqlMetaStore over
  their Database, plus what only one database has (PostgreSQL: leader lock, the Redis
  cache's roster).
- Each method's transaction is timed, labelled with the method's name
  (kloudvault_metadata_duration_seconds, gateway/metrics/series.py): the bodies are named
  after the MetaStore methods they implement. The timing is spelled out (perf_counter,
  observe) rather than prometheus-client's `time()`, a context-manager object per call.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from events.records import EventIntent
from gateway.meta import (
    accounts,
    blobs,
    buckets,
    console_sessions,
    events,
    iam,
    identity,
    kms,
    objects,
    quotas,
    replication,
    roles,
    scans,
    shares,
    tus,
    uploads,
    usage,
    versions,
)
from gateway.meta.base import ListPage, ObjectVersion, Precondition
from gateway.meta.listing import ListingStats
from gateway.meta.sql import Dialect, Tx
from gateway.metrics.series import METADATA_DURATION

T = TypeVar("T")
P = ParamSpec("P")


class Database(Protocol):
    """Runs transaction bodies on one database. Each call runs body(*args, **kwargs) in a
    transaction of its own; it may run it more than once (retries), so a body has no
    effects outside the database."""

    dialect: Dialect

    async def open(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None: ...

    async def write(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """One write transaction; busy or deadlocked beyond retries: S3Error SlowDown;
        unreachable: S3Error ServiceUnavailable."""
        ...

    async def read(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """One read-only transaction."""
        ...

    async def snapshot(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """One read-only transaction whose statements all see one snapshot."""
        ...

    async def point(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """`read` for a body that reads a few rows by an index, never waiting long: the
        database may run it on the caller's thread (SQLite: on the event loop)."""
        ...

    def list_latest(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        start_after: str,
        max_keys: int,
        stats: ListingStats,
    ) -> Tx[ListPage]:
        """The ListObjects body this database runs best (its skip scan: sqlite_listing.py,
        postgres_listing.py)."""
        ...


Method = Callable[Concatenate["SqlMetaStore", P], Coroutine[Any, Any, T]]


def write(body: Callable[P, Tx[T]]) -> Method[P, T]:
    """The MetaStore method running `body` in a write transaction."""

    observe = METADATA_DURATION.labels(body.__name__).observe

    async def method(self: SqlMetaStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = perf_counter()
        try:
            return await self.db.write(body, *args, **kwargs)
        finally:
            observe(perf_counter() - started)

    return method


def read(body: Callable[P, Tx[T]]) -> Method[P, T]:
    """The MetaStore method running `body` in a read-only transaction."""

    observe = METADATA_DURATION.labels(body.__name__).observe

    async def method(self: SqlMetaStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = perf_counter()
        try:
            return await self.db.read(body, *args, **kwargs)
        finally:
            observe(perf_counter() - started)

    return method


def snapshot(body: Callable[P, Tx[T]]) -> Method[P, T]:
    """The MetaStore method running `body` on one snapshot (listings)."""

    observe = METADATA_DURATION.labels(body.__name__).observe

    async def method(self: SqlMetaStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = perf_counter()
        try:
            return await self.db.snapshot(body, *args, **kwargs)
        finally:
            observe(perf_counter() - started)

    return method


def point(body: Callable[P, Tx[T]]) -> Method[P, T]:
    """The MetaStore method running `body` as a point read (Database.point)."""

    observe = METADATA_DURATION.labels(body.__name__).observe

    async def method(self: SqlMetaStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = perf_counter()
        try:
            return await self.db.point(body, *args, **kwargs)
        finally:
            observe(perf_counter() - started)

    return method


# The two methods written out below rather than made from a body.
_PUT_OBJECT = METADATA_DURATION.labels("put_object")
_LIST_OBJECTS = METADATA_DURATION.labels("list_objects")


class SqlMetaStore:
    """MetaStore (gateway/meta/base.py documents every method) over a Database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # What the last list_objects cost (tests prove the seek past common prefixes).
        self.last_listing = ListingStats()

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    create_user = write(accounts.create_user)
    get_user = read(accounts.get_user)
    list_users = read(accounts.list_users)
    delete_user = write(accounts.delete_user)
    create_access_key = write(accounts.create_access_key)
    get_access_key = point(accounts.get_access_key)
    list_access_keys = read(accounts.list_access_keys)
    delete_access_key = write(accounts.delete_access_key)
    set_access_key_active = write(accounts.set_access_key_active)
    reseal_access_key = write(accounts.reseal_access_key)
    set_user_email = write(accounts.set_user_email)
    accounts_by_email = read(accounts.accounts_by_email)
    get_identity = point(identity.get_identity)

    create_iam_user = write(iam.create_iam_user)
    get_iam_user = read(iam.get_iam_user)
    list_iam_users = read(iam.list_iam_users)
    delete_iam_user = write(iam.delete_iam_user)
    create_user_access_key = write(iam.create_user_access_key)
    list_user_access_keys = read(iam.list_user_access_keys)
    update_access_key_status = write(iam.update_access_key_status)
    delete_user_access_key = write(iam.delete_user_access_key)
    put_inline_policy = write(iam.put_inline_policy)
    get_inline_policy = read(iam.get_inline_policy)
    list_inline_policies = read(iam.list_inline_policies)
    delete_inline_policy = write(iam.delete_inline_policy)
    create_iam_group = write(iam.create_iam_group)
    get_iam_group = read(iam.get_iam_group)
    list_iam_groups = read(iam.list_iam_groups)
    list_group_members = read(iam.list_group_members)
    delete_iam_group = write(iam.delete_iam_group)
    add_user_to_group = write(iam.add_user_to_group)
    remove_user_from_group = write(iam.remove_user_from_group)
    list_groups_for_user = read(iam.list_groups_for_user)
    create_iam_policy = write(iam.create_iam_policy)
    get_iam_policy = read(iam.get_iam_policy)
    list_iam_policies = read(iam.list_iam_policies)
    delete_iam_policy = write(iam.delete_iam_policy)
    attach_policy = write(iam.attach_policy)
    detach_policy = write(iam.detach_policy)
    list_attached_policies = read(iam.list_attached_policies)
    create_iam_role = write(roles.create_iam_role)
    get_iam_role = read(roles.get_iam_role)
    list_iam_roles = read(roles.list_iam_roles)
    delete_iam_role = write(roles.delete_iam_role)
    update_iam_role = write(roles.update_iam_role)
    get_role_identity = read(roles.get_role_identity)
    create_oidc_provider = write(roles.create_oidc_provider)
    get_oidc_provider = read(roles.get_oidc_provider)
    list_oidc_providers = read(roles.list_oidc_providers)
    delete_oidc_provider = write(roles.delete_oidc_provider)
    create_sts_session = write(roles.create_sts_session)
    get_sts_session = read(roles.get_sts_session)
    revoke_sts_sessions = write(roles.revoke_sts_sessions)

    create_bucket = write(buckets.create_bucket)
    get_bucket = point(buckets.get_bucket)
    list_buckets = read(buckets.list_buckets)
    delete_bucket = write(buckets.delete_bucket)
    put_bucket_versioning = write(buckets.put_bucket_versioning)
    enable_object_lock = write(buckets.enable_object_lock)
    get_bucket_config = point(buckets.get_bucket_config)
    put_bucket_config = write(buckets.put_bucket_config)
    get_access_configs = point(buckets.get_access_configs)

    async def put_object(
        self,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        started = perf_counter()  # as write() times the others (no Timer object per PUT)
        try:
            return await self.db.write(
                objects.put_version, version, precondition, claim_pending=True, events=events
            )
        finally:
            _PUT_OBJECT.observe(perf_counter() - started)

    get_object = point(objects.get_object)
    delete_object = write(objects.delete_object)
    update_version = write(objects.update_version)
    put_object_acl = write(objects.put_object_acl)
    delete_version = write(objects.delete_version)
    expire_object = write(objects.expire_object)

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        stats = ListingStats()
        with _LIST_OBJECTS.time():
            page = await self.db.snapshot(
                self.db.list_latest,
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                max_keys=max_keys,
                stats=stats,
            )
        self.last_listing = stats
        return page

    list_object_versions = snapshot(versions.list_object_versions)

    add_pending_blob = write(blobs.add_pending_blob)
    drop_pending_blob = write(blobs.drop_pending_blob)
    collectable_blobs = write(blobs.collectable_blobs)
    forget_blobs = write(blobs.forget_blobs)
    blob_is_referenced = read(blobs.blob_is_referenced)
    referenced_blobs = read(blobs.referenced_blobs)
    known_blobs = snapshot(blobs.known_blobs)
    blob_backlog = snapshot(blobs.blob_backlog)
    bucket_usage = read(usage.bucket_usage)
    set_quota = write(quotas.set_quota)
    clear_quota = write(quotas.clear_quota)
    list_quotas = read(quotas.list_quotas)
    # Point: keyed rows; the usage sums only under a quota, over one owner's buckets.
    quota_uses = point(quotas.quota_uses)

    create_console_session = write(console_sessions.create_console_session)
    get_console_session = read(console_sessions.get_console_session)
    touch_console_session = write(console_sessions.touch_console_session)
    delete_console_session = write(console_sessions.delete_console_session)

    create_upload = write(uploads.create_upload)
    get_upload = read(uploads.get_upload)
    put_part = write(uploads.put_part)
    list_parts = snapshot(uploads.list_parts)
    list_part_candidates = snapshot(uploads.list_part_candidates)
    list_uploads = snapshot(uploads.list_uploads)
    complete_upload = write(uploads.complete_upload)
    get_completed_upload = read(uploads.get_completed_upload)
    abort_upload = write(uploads.abort_upload)
    put_upload_retention = write(uploads.put_upload_retention)
    get_upload_retention = read(uploads.get_upload_retention)

    create_kms_key = write(kms.create_kms_key)
    get_kms_key = read(kms.get_kms_key)
    find_kms_alias = read(kms.find_kms_alias)
    list_kms_keys = read(kms.list_kms_keys)
    set_kms_key_enabled = write(kms.set_kms_key_enabled)
    add_kms_key_version = write(kms.add_kms_key_version)
    replace_kms_key_versions = write(kms.replace_kms_key_versions)
    coded_versions = read(kms.coded_versions)
    coded_parts = read(kms.coded_parts)
    replace_segments = write(kms.replace_segments)

    add_pending_scan = write(scans.add_pending_scan)
    claim_pending_scans = write(scans.claim_pending_scans)
    retry_pending_scan = write(scans.retry_pending_scan)
    drop_pending_scan = write(scans.drop_pending_scan)

    create_share_link = write(shares.create_share_link)
    get_share_link = read(shares.get_share_link)
    list_share_links = read(shares.list_share_links)
    revoke_share_link = write(shares.revoke_share_link)
    claim_share_download = write(shares.claim_share_download)

    create_tus_upload = write(tus.create_tus_upload)
    get_tus_upload = read(tus.get_tus_upload)
    append_tus_part = write(tus.append_tus_part)
    abort_expired_tus_uploads = write(tus.abort_expired_tus_uploads)
    # The event outbox and targets (gateway/meta/events.py): not MetaStore methods, the
    # dispatcher and `admin events` reach them through gateway.meta.events.outbox_of().
    queue_event = write(events.queue_event)
    due_events = read(events.due_events)
    next_event_due = read(events.next_event_due)
    events_delivered = write(events.events_delivered)
    event_failed = write(events.event_failed)
    outbox_depth = read(events.outbox_depth)
    list_events = read(events.list_events)
    replay_events = write(events.replay_events)
    purge_events = write(events.purge_events)
    put_replication_target = write(replication.put_replication_target)
    list_replication_targets = read(replication.list_replication_targets)
    delete_replication_target = write(replication.delete_replication_target)
    resync_replication = write(replication.resync_replication)
    other_replication_work = read(replication.other_replication_work)
    oldest_pending_replication = read(replication.oldest_pending_replication)
    put_event_target = write(events.put_event_target)
    list_event_targets = read(events.list_event_targets)
    reseal_event_target = write(events.reseal_event_target)
    delete_event_target = write(events.delete_event_target)
