"""CachedMetaStore: any MetaStore, with hot reads cached in Redis (`--redis-url`).

Handlers do not change: the wrapper is the MetaStore they get. Cached, with negative
answers ("no such key") too:

    get_access_key(k)         entry "k:<access key>"   every request's authentication
    get_bucket(b)             entry "b:<bucket>"       every bucket-level request
    get_object(b, key)        entry "o:<b>/<key>"      the latest version: HEAD/GET
    get_access_configs(b)     entry "a:<bucket>"       policy, ACL, ownership, public access

Every method that can change one of those entries runs as
invalidate -> MetaStore write -> invalidate -> return (gateway/meta/redis_cache.py says
why that, with the compare-and-set fill, never lets a replica read what a write replaced,
and what happens when Redis fails: reads fall back to the MetaStore, writes are held
until no replica can still trust the cache). delete_user cannot name the entries it
voids (the user's keys, including one created a moment ago), so it voids them all.
Every other method passes straight through: `name = passthrough(MetaStore.name)`.

A new MetaStore method that changes a cached value must be wrapped here; mypy insists
that every protocol method exists, so a new one is never silently uncached-but-stale.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict
from typing import Any, Concatenate, ParamSpec, TypeVar

from auth.iam.errors import IamError
from events.records import EventIntent
from gateway.jobs.leader import LeaderLock, leader_lock_of
from gateway.meta.base import (
    ACCESS_CONFIGS,
    BUCKET_CONFIGS,
    AccessKey,
    Bucket,
    CodedRow,
    DeleteCondition,
    DeleteOutcome,
    MetaStore,
    ObjectVersion,
    Precondition,
    RemovalCheck,
    Segment,
    VersionChange,
)
from gateway.meta.listing import ListingStats
from gateway.meta.redis_cache import Miss, RedisCoherence, Roster
from gateway.meta.rows import version_from_json, version_to_json
from gateway.metrics.series import CACHE_HITS, CACHE_MISSES

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")


def key_entry(access_key: str) -> str:
    return "k:" + access_key


def bucket_entry(bucket: str) -> str:
    return "b:" + bucket


def object_entry(bucket: str, key: str) -> str:
    return f"o:{bucket}/{key}"  # bucket names hold no "/"


def access_entry(bucket: str) -> str:
    return f"a:{bucket}"


def config_entry(bucket: str, name: str) -> str:
    return f"c:{bucket}/{name}"


# The `entry` label of the cache counters, by entry prefix.
_ENTRY_KINDS = {"k": "access_key", "b": "bucket", "o": "object", "a": "access", "c": "config"}


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def passthrough(
    method: Callable[Concatenate[MetaStore, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[CachedMetaStore, P], Coroutine[Any, Any, T]]:
    """The CachedMetaStore method that is the inner store's `method`, as it is (it neither
    reads nor voids an entry). Typed by the protocol's own signature, so mypy checks
    every caller, and CachedMetaStore against MetaStore, as for a method written out."""
    name = method.__name__

    # A coroutine function, as the methods written out are: tracing (gateway/tracing.py)
    # wraps those alone in spans.
    async def forward(self: CachedMetaStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        call: Callable[P, Coroutine[Any, Any, T]] = getattr(self.inner, name)
        return await call(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    return forward


class CachedMetaStore:
    """`inner` with a shared Redis cache in front of its hot reads (module docstring)."""

    def __init__(self, inner: MetaStore, cache: RedisCoherence) -> None:
        self.inner = inner
        self.cache = cache
        if isinstance(inner, Roster):  # PostgreSQL: see redis_cache, "roster"
            cache.roster = inner

    @property
    def last_listing(self) -> ListingStats:
        stats: ListingStats = getattr(self.inner, "last_listing", ListingStats())
        return stats

    def leader_lock(self, name: str) -> LeaderLock | None:
        return leader_lock_of(self.inner, name)

    async def open(self) -> None:
        await self.inner.open()
        try:
            await self.cache.open()  # never fails for Redis being down: that is a miss
        except BaseException:
            await self.inner.close()
            raise

    async def close(self) -> None:
        try:
            await self.cache.close()
        finally:
            await self.inner.close()

    # -- the two patterns -----------------------------------------------------------------
    async def _cached(
        self,
        entry: str,
        load: Callable[[], Awaitable[T]],
        encode: Callable[[T], str],
        decode: Callable[[str], T],
    ) -> T:
        got = await self.cache.read(entry)
        kind = _ENTRY_KINDS.get(entry[:1], "other")
        if isinstance(got, str):
            try:
                decoded = decode(got)
            except (ValueError, KeyError, TypeError):
                log.warning("redis cache: undecodable entry %r; reading the store", entry)
                got = None
            else:
                CACHE_HITS.labels(kind).inc()
                return decoded
        CACHE_MISSES.labels(kind).inc()
        value = await load()
        if isinstance(got, Miss):
            await self.cache.fill(got, encode(value))
        return value

    async def _write(
        self, entries: Sequence[str], op: Callable[[], Awaitable[T]], *, flush: bool = False
    ) -> T:
        before = await (self.cache.flush() if flush else self.cache.invalidate(entries, writers=1))
        try:
            return await op()
        finally:
            # Shielded: a cancelled request still invalidates what its write may have done.
            await asyncio.shield(self._after_write(entries, before, flush))

    async def _after_write(self, entries: Sequence[str], before: bool, flush: bool) -> None:
        if flush:
            done = await self.cache.flush()
        else:
            done = await self.cache.invalidate(entries, writers=-1 if before else 0)
        if not done:
            await self.cache.settle()

    # -- users and access keys ------------------------------------------------------------
    create_user = passthrough(MetaStore.create_user)
    get_user = passthrough(MetaStore.get_user)
    list_users = passthrough(MetaStore.list_users)

    async def delete_user(self, name: str) -> bool:
        return await self._write((), lambda: self.inner.delete_user(name), flush=True)

    async def create_access_key(
        self, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        return await self._write(
            [key_entry(access_key)],
            lambda: self.inner.create_access_key(user, access_key, secret_key, now=now),
        )

    async def get_access_key(self, access_key: str) -> AccessKey | None:
        return await self._cached(
            key_entry(access_key),
            lambda: self.inner.get_access_key(access_key),
            lambda k: _dump(None if k is None else asdict(k)),
            lambda text: _maybe(text, lambda d: AccessKey(**d)),
        )

    list_access_keys = passthrough(MetaStore.list_access_keys)

    async def delete_access_key(self, access_key: str) -> bool:
        return await self._write(
            [key_entry(access_key)], lambda: self.inner.delete_access_key(access_key)
        )

    async def set_access_key_active(self, user: str, access_key: str, active: bool) -> bool:
        return await self._write(
            [key_entry(access_key)],
            lambda: self.inner.set_access_key_active(user, access_key, active),
        )

    async def reseal_access_key(self, access_key: str, stored: str, sealed: str) -> bool:
        return await self._write(
            [key_entry(access_key)],
            lambda: self.inner.reseal_access_key(access_key, stored, sealed),
        )

    set_user_email = passthrough(MetaStore.set_user_email)
    accounts_by_email = passthrough(MetaStore.accounts_by_email)
    # Not cached here: the credential cache holds it as briefly as the key itself.
    get_identity = passthrough(MetaStore.get_identity)

    # -- IAM -------------------------------------------------------------------------------
    # Only user access keys are cached ("k:<key>"): creating, deactivating and deleting one
    # voids its entry, so a deactivated key stops working on every replica at once. The
    # rest (users, groups, policies) is read through the short-lived CredentialCache.
    create_iam_user = passthrough(MetaStore.create_iam_user)
    get_iam_user = passthrough(MetaStore.get_iam_user)
    list_iam_users = passthrough(MetaStore.list_iam_users)

    async def delete_iam_user(self, account: str, name: str) -> None:
        # The body refuses while keys exist; voiding the entries of the keys seen just
        # before still covers a key whose negative or stale entry lingers.
        try:
            keys = await self.inner.list_user_access_keys(account, name)
        except IamError:
            keys = []
        await self._write(
            [key_entry(k.access_key) for k in keys],
            lambda: self.inner.delete_iam_user(account, name),
        )

    async def create_user_access_key(
        self, account: str, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        return await self._write(
            [key_entry(access_key)],
            lambda: self.inner.create_user_access_key(
                account, user, access_key, secret_key, now=now
            ),
        )

    list_user_access_keys = passthrough(MetaStore.list_user_access_keys)

    async def update_access_key_status(
        self, account: str, user: str, access_key: str, *, active: bool
    ) -> None:
        await self._write(
            [key_entry(access_key)],
            lambda: self.inner.update_access_key_status(account, user, access_key, active=active),
        )

    async def delete_user_access_key(self, account: str, user: str, access_key: str) -> None:
        await self._write(
            [key_entry(access_key)],
            lambda: self.inner.delete_user_access_key(account, user, access_key),
        )

    put_inline_policy = passthrough(MetaStore.put_inline_policy)
    get_inline_policy = passthrough(MetaStore.get_inline_policy)
    list_inline_policies = passthrough(MetaStore.list_inline_policies)
    delete_inline_policy = passthrough(MetaStore.delete_inline_policy)
    create_iam_group = passthrough(MetaStore.create_iam_group)
    get_iam_group = passthrough(MetaStore.get_iam_group)
    list_iam_groups = passthrough(MetaStore.list_iam_groups)
    list_group_members = passthrough(MetaStore.list_group_members)
    delete_iam_group = passthrough(MetaStore.delete_iam_group)
    add_user_to_group = passthrough(MetaStore.add_user_to_group)
    remove_user_from_group = passthrough(MetaStore.remove_user_from_group)
    list_groups_for_user = passthrough(MetaStore.list_groups_for_user)
    create_iam_policy = passthrough(MetaStore.create_iam_policy)
    get_iam_policy = passthrough(MetaStore.get_iam_policy)
    list_iam_policies = passthrough(MetaStore.list_iam_policies)
    delete_iam_policy = passthrough(MetaStore.delete_iam_policy)
    attach_policy = passthrough(MetaStore.attach_policy)
    detach_policy = passthrough(MetaStore.detach_policy)
    list_attached_policies = passthrough(MetaStore.list_attached_policies)

    # -- roles, OIDC providers, STS sessions: never cached here. Sessions are read through
    # the CredentialCache (as briefly as keys), so a revoked or deleted one stops working
    # on every replica within its TTL.
    create_iam_role = passthrough(MetaStore.create_iam_role)
    get_iam_role = passthrough(MetaStore.get_iam_role)
    list_iam_roles = passthrough(MetaStore.list_iam_roles)
    delete_iam_role = passthrough(MetaStore.delete_iam_role)
    update_iam_role = passthrough(MetaStore.update_iam_role)
    get_role_identity = passthrough(MetaStore.get_role_identity)
    create_oidc_provider = passthrough(MetaStore.create_oidc_provider)
    get_oidc_provider = passthrough(MetaStore.get_oidc_provider)
    list_oidc_providers = passthrough(MetaStore.list_oidc_providers)
    delete_oidc_provider = passthrough(MetaStore.delete_oidc_provider)
    create_sts_session = passthrough(MetaStore.create_sts_session)
    get_sts_session = passthrough(MetaStore.get_sts_session)
    revoke_sts_sessions = passthrough(MetaStore.revoke_sts_sessions)

    # -- buckets ----------------------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        await self._write([bucket_entry(bucket.name)], lambda: self.inner.create_bucket(bucket))

    async def get_bucket(self, name: str) -> Bucket | None:
        return await self._cached(
            bucket_entry(name),
            lambda: self.inner.get_bucket(name),
            lambda b: _dump(None if b is None else asdict(b)),
            lambda text: _maybe(text, lambda d: Bucket(**d)),
        )

    list_buckets = passthrough(MetaStore.list_buckets)

    async def delete_bucket(self, name: str) -> None:
        # The bucket's configuration documents go with it (a new bucket of that name has none).
        entries = [
            bucket_entry(name),
            access_entry(name),
            *(config_entry(name, c) for c in BUCKET_CONFIGS),
        ]
        await self._write(entries, lambda: self.inner.delete_bucket(name))

    async def put_bucket_versioning(self, name: str, status: str) -> None:
        await self._write(
            [bucket_entry(name)], lambda: self.inner.put_bucket_versioning(name, status)
        )

    # -- objects ----------------------------------------------------------------------------
    async def put_object(
        self,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        return await self._write(
            [object_entry(version.bucket, version.key)],
            lambda: self.inner.put_object(version, precondition, events=events),
        )

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        if version_id is not None:
            return await self.inner.get_object(bucket, key, version_id)
        return await self._cached(
            object_entry(bucket, key),
            lambda: self.inner.get_object(bucket, key),
            lambda v: _dump(None if v is None else version_to_json(v)),
            lambda text: _maybe(text, version_from_json),
        )

    async def delete_object(
        self,
        bucket: str,
        key: str,
        version_id: str | None = None,
        *,
        now: float,
        condition: DeleteCondition | None = None,
        events: EventIntent | None = None,
    ) -> DeleteOutcome:
        return await self._write(
            [object_entry(bucket, key)],
            lambda: self.inner.delete_object(
                bucket, key, version_id, now=now, condition=condition, events=events
            ),
        )

    list_objects = passthrough(MetaStore.list_objects)

    # -- blobs ------------------------------------------------------------------------------
    add_pending_blob = passthrough(MetaStore.add_pending_blob)
    drop_pending_blob = passthrough(MetaStore.drop_pending_blob)
    collectable_blobs = passthrough(MetaStore.collectable_blobs)
    forget_blobs = passthrough(MetaStore.forget_blobs)
    blob_is_referenced = passthrough(MetaStore.blob_is_referenced)
    referenced_blobs = passthrough(MetaStore.referenced_blobs)
    known_blobs = passthrough(MetaStore.known_blobs)
    blob_backlog = passthrough(MetaStore.blob_backlog)
    bucket_usage = passthrough(MetaStore.bucket_usage)
    # Quotas and usage change with every write: never cached.
    set_quota = passthrough(MetaStore.set_quota)
    clear_quota = passthrough(MetaStore.clear_quota)
    list_quotas = passthrough(MetaStore.list_quotas)
    quota_uses = passthrough(MetaStore.quota_uses)

    # -- console sessions: never cached, so a sign-out holds on every replica at once --------
    create_console_session = passthrough(MetaStore.create_console_session)
    get_console_session = passthrough(MetaStore.get_console_session)
    touch_console_session = passthrough(MetaStore.touch_console_session)
    delete_console_session = passthrough(MetaStore.delete_console_session)

    # -- multipart uploads ------------------------------------------------------------------
    create_upload = passthrough(MetaStore.create_upload)
    get_upload = passthrough(MetaStore.get_upload)
    put_part = passthrough(MetaStore.put_part)
    list_part_candidates = passthrough(MetaStore.list_part_candidates)
    list_parts = passthrough(MetaStore.list_parts)
    list_uploads = passthrough(MetaStore.list_uploads)

    async def complete_upload(
        self,
        upload_id: str,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        parts_digest: str,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        return await self._write(
            [object_entry(version.bucket, version.key)],
            lambda: self.inner.complete_upload(
                upload_id, version, precondition, parts_digest=parts_digest, events=events
            ),
        )

    get_completed_upload = passthrough(MetaStore.get_completed_upload)
    abort_upload = passthrough(MetaStore.abort_upload)

    # -- versioning, tagging, object lock, lifecycle ----------------------------------------
    # Cached too: "c:<bucket>/<name>" (a bucket's configuration document; the lifecycle
    # rules are read on every GET for x-amz-expiration). Every write that changes an
    # object's tags, retention or legal hold, or removes a version, voids the key's head.
    async def enable_object_lock(self, name: str) -> None:
        await self._write([bucket_entry(name)], lambda: self.inner.enable_object_lock(name))

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        return await self._cached(
            config_entry(bucket, name),
            lambda: self.inner.get_bucket_config(bucket, name),
            _dump,
            lambda text: _maybe_str(json.loads(text)),
        )

    async def get_access_configs(self, bucket: str) -> dict[str, str]:
        return await self._cached(
            access_entry(bucket),
            lambda: self.inner.get_access_configs(bucket),
            _dump,
            lambda text: {str(k): str(v) for k, v in json.loads(text).items()},
        )

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        entries = [config_entry(bucket, name)]
        if name in ACCESS_CONFIGS:
            entries.append(access_entry(bucket))
        await self._write(
            entries,
            lambda: self.inner.put_bucket_config(bucket, name, document),
        )

    list_object_versions = passthrough(MetaStore.list_object_versions)

    async def update_version(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: VersionChange,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion | None:
        return await self._write(
            [object_entry(bucket, key)],
            lambda: self.inner.update_version(bucket, key, version_id, change, events=events),
        )

    async def put_object_acl(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        acl: str | None,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        return await self._write(
            [object_entry(bucket, key)],
            lambda: self.inner.put_object_acl(bucket, key, version_id, acl, events=events),
        )

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        *,
        now: float,
        check: RemovalCheck | None = None,
        condition: DeleteCondition | None = None,
        events: EventIntent | None = None,
    ) -> DeleteOutcome:
        return await self._write(
            [object_entry(bucket, key)],
            lambda: self.inner.delete_version(
                bucket, key, version_id, now=now, check=check, condition=condition, events=events
            ),
        )

    async def expire_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str,
        last_modified: float,
        now: float,
        events: EventIntent | None = None,
    ) -> DeleteOutcome | None:
        return await self._write(
            [object_entry(bucket, key)],
            lambda: self.inner.expire_object(
                bucket,
                key,
                version_id=version_id,
                last_modified=last_modified,
                now=now,
                events=events,
            ),
        )

    put_upload_retention = passthrough(MetaStore.put_upload_retention)
    get_upload_retention = passthrough(MetaStore.get_upload_retention)

    # -- the KMS: never cached, so a disabled key stops at once on every replica -----------
    create_kms_key = passthrough(MetaStore.create_kms_key)
    get_kms_key = passthrough(MetaStore.get_kms_key)
    find_kms_alias = passthrough(MetaStore.find_kms_alias)
    list_kms_keys = passthrough(MetaStore.list_kms_keys)
    set_kms_key_enabled = passthrough(MetaStore.set_kms_key_enabled)
    add_kms_key_version = passthrough(MetaStore.add_kms_key_version)
    replace_kms_key_versions = passthrough(MetaStore.replace_kms_key_versions)
    coded_versions = passthrough(MetaStore.coded_versions)
    coded_parts = passthrough(MetaStore.coded_parts)

    async def replace_segments(self, row: CodedRow, segments: tuple[Segment, ...]) -> bool:
        if row.upload_id is not None:
            return await self.inner.replace_segments(row, segments)
        # A cached head would keep the old sealed keys: still valid (old key versions stay),
        # but dropped so readers move to the new ones.
        return await self._write(
            [object_entry(row.bucket, row.key)],
            lambda: self.inner.replace_segments(row, segments),
        )

    # -- pending malware scans: a work queue, never cached ------------------------------------
    add_pending_scan = passthrough(MetaStore.add_pending_scan)
    claim_pending_scans = passthrough(MetaStore.claim_pending_scans)
    retry_pending_scan = passthrough(MetaStore.retry_pending_scan)
    drop_pending_scan = passthrough(MetaStore.drop_pending_scan)

    # -- share links: never cached, so a revoke holds on every replica at once ---------------
    create_share_link = passthrough(MetaStore.create_share_link)
    get_share_link = passthrough(MetaStore.get_share_link)
    list_share_links = passthrough(MetaStore.list_share_links)
    revoke_share_link = passthrough(MetaStore.revoke_share_link)
    claim_share_download = passthrough(MetaStore.claim_share_download)

    # -- tus uploads: never cached, the offset moves with every PATCH ----------------------
    create_tus_upload = passthrough(MetaStore.create_tus_upload)
    get_tus_upload = passthrough(MetaStore.get_tus_upload)
    append_tus_part = passthrough(MetaStore.append_tus_part)
    abort_expired_tus_uploads = passthrough(MetaStore.abort_expired_tus_uploads)


def _maybe(text: str, build: Callable[[dict[str, Any]], T]) -> T | None:
    data = json.loads(text)
    return None if data is None else build(data)


def _maybe_str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("not a document")
    return value
