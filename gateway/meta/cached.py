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
Every other method passes straight through.

A new MetaStore method that changes a cached value must be wrapped here; mypy insists
that every protocol method exists, so a new one is never silently uncached-but-stale.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from auth.iam.errors import IamError
from events.records import EventIntent
from gateway.jobs.leader import LeaderLock, leader_lock_of
from gateway.limits.quota import QuotaUse, Scope
from gateway.meta.base import (
    ACCESS_CONFIGS,
    BUCKET_CONFIGS,
    AccessKey,
    BlobBacklog,
    Bucket,
    BucketUsage,
    CodedRow,
    CompletedUpload,
    ConsoleSession,
    DeleteCondition,
    DeleteOutcome,
    IamGroup,
    IamIdentity,
    IamPage,
    IamPolicy,
    IamRole,
    IamUser,
    KmsKey,
    ListPage,
    MetaStore,
    ObjectVersion,
    OidcProvider,
    Part,
    PartsPage,
    PendingScan,
    PolicyOwnerKind,
    Precondition,
    RemovalCheck,
    RetentionFields,
    Segment,
    ShareLink,
    StsSession,
    TusUpload,
    Upload,
    UploadsPage,
    User,
    VersionChange,
    VersionsPage,
)
from gateway.meta.listing import ListingStats
from gateway.meta.redis_cache import Miss, RedisCoherence, Roster
from gateway.meta.rows import version_from_json, version_to_json
from gateway.metrics.series import CACHE_HITS, CACHE_MISSES

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    async def create_user(self, name: str, *, is_root: bool = False, now: float) -> User:
        return await self.inner.create_user(name, is_root=is_root, now=now)

    async def get_user(self, name: str) -> User | None:
        return await self.inner.get_user(name)

    async def list_users(self) -> list[User]:
        return await self.inner.list_users()

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

    async def list_access_keys(self, user: str) -> list[AccessKey]:
        return await self.inner.list_access_keys(user)

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

    async def set_user_email(self, name: str, email: str | None) -> bool:
        return await self.inner.set_user_email(name, email)

    async def accounts_by_email(self, email: str) -> list[str]:
        return await self.inner.accounts_by_email(email)

    async def get_identity(self, account: str, user: str) -> IamIdentity | None:
        # Not cached here: the credential cache holds it as briefly as the key itself.
        return await self.inner.get_identity(account, user)

    # -- IAM -------------------------------------------------------------------------------
    # Only user access keys are cached ("k:<key>"): creating, deactivating and deleting one
    # voids its entry, so a deactivated key stops working on every replica at once. The
    # rest (users, groups, policies) is read through the short-lived CredentialCache.
    async def create_iam_user(
        self, account: str, name: str, *, path: str, user_id: str, now: float
    ) -> IamUser:
        return await self.inner.create_iam_user(account, name, path=path, user_id=user_id, now=now)

    async def get_iam_user(self, account: str, name: str) -> IamUser | None:
        return await self.inner.get_iam_user(account, name)

    async def list_iam_users(
        self, account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
    ) -> IamPage[IamUser]:
        return await self.inner.list_iam_users(
            account, path_prefix=path_prefix, marker=marker, max_items=max_items
        )

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

    async def list_user_access_keys(self, account: str, user: str) -> list[AccessKey]:
        return await self.inner.list_user_access_keys(account, user)

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

    async def put_inline_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, name: str, document: str
    ) -> None:
        await self.inner.put_inline_policy(account, kind, owner, name, document)

    async def get_inline_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, name: str
    ) -> str:
        return await self.inner.get_inline_policy(account, kind, owner, name)

    async def list_inline_policies(
        self,
        account: str,
        kind: PolicyOwnerKind,
        owner: str,
        *,
        marker: str = "",
        max_items: int = 100,
    ) -> IamPage[str]:
        return await self.inner.list_inline_policies(
            account, kind, owner, marker=marker, max_items=max_items
        )

    async def delete_inline_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, name: str
    ) -> None:
        await self.inner.delete_inline_policy(account, kind, owner, name)

    async def create_iam_group(
        self, account: str, name: str, *, path: str, group_id: str, now: float
    ) -> IamGroup:
        return await self.inner.create_iam_group(
            account, name, path=path, group_id=group_id, now=now
        )

    async def get_iam_group(self, account: str, name: str) -> IamGroup | None:
        return await self.inner.get_iam_group(account, name)

    async def list_iam_groups(
        self, account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
    ) -> IamPage[IamGroup]:
        return await self.inner.list_iam_groups(
            account, path_prefix=path_prefix, marker=marker, max_items=max_items
        )

    async def list_group_members(
        self, account: str, group: str, *, marker: str = "", max_items: int = 100
    ) -> IamPage[IamUser]:
        return await self.inner.list_group_members(
            account, group, marker=marker, max_items=max_items
        )

    async def delete_iam_group(self, account: str, name: str) -> None:
        await self.inner.delete_iam_group(account, name)

    async def add_user_to_group(self, account: str, group: str, user: str) -> None:
        await self.inner.add_user_to_group(account, group, user)

    async def remove_user_from_group(self, account: str, group: str, user: str) -> None:
        await self.inner.remove_user_from_group(account, group, user)

    async def list_groups_for_user(
        self, account: str, user: str, *, marker: str = "", max_items: int = 100
    ) -> IamPage[IamGroup]:
        return await self.inner.list_groups_for_user(
            account, user, marker=marker, max_items=max_items
        )

    async def create_iam_policy(
        self,
        account: str,
        name: str,
        *,
        path: str,
        policy_id: str,
        document: str,
        description: str | None,
        now: float,
    ) -> IamPolicy:
        return await self.inner.create_iam_policy(
            account,
            name,
            path=path,
            policy_id=policy_id,
            document=document,
            description=description,
            now=now,
        )

    async def get_iam_policy(self, account: str, name: str) -> IamPolicy | None:
        return await self.inner.get_iam_policy(account, name)

    async def list_iam_policies(
        self,
        account: str,
        *,
        path_prefix: str = "/",
        only_attached: bool = False,
        marker: str = "",
        max_items: int = 100,
    ) -> IamPage[IamPolicy]:
        return await self.inner.list_iam_policies(
            account,
            path_prefix=path_prefix,
            only_attached=only_attached,
            marker=marker,
            max_items=max_items,
        )

    async def delete_iam_policy(self, account: str, name: str) -> None:
        await self.inner.delete_iam_policy(account, name)

    async def attach_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, policy: str
    ) -> None:
        await self.inner.attach_policy(account, kind, owner, policy)

    async def detach_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, policy: str
    ) -> None:
        await self.inner.detach_policy(account, kind, owner, policy)

    async def list_attached_policies(
        self,
        account: str,
        kind: PolicyOwnerKind,
        owner: str,
        *,
        path_prefix: str = "/",
        marker: str = "",
        max_items: int = 100,
    ) -> IamPage[IamPolicy]:
        return await self.inner.list_attached_policies(
            account, kind, owner, path_prefix=path_prefix, marker=marker, max_items=max_items
        )

    # -- roles, OIDC providers, STS sessions: never cached here. Sessions are read through
    # the CredentialCache (as briefly as keys), so a revoked or deleted one stops working
    # on every replica within its TTL.
    async def create_iam_role(self, role: IamRole) -> IamRole:
        return await self.inner.create_iam_role(role)

    async def get_iam_role(self, account: str, name: str) -> IamRole | None:
        return await self.inner.get_iam_role(account, name)

    async def list_iam_roles(
        self, account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
    ) -> IamPage[IamRole]:
        return await self.inner.list_iam_roles(
            account, path_prefix=path_prefix, marker=marker, max_items=max_items
        )

    async def delete_iam_role(self, account: str, name: str) -> None:
        await self.inner.delete_iam_role(account, name)

    async def update_iam_role(
        self,
        account: str,
        name: str,
        *,
        trust_policy: str | None = None,
        max_session_duration: int | None = None,
        description: str | None = None,
    ) -> None:
        await self.inner.update_iam_role(
            account,
            name,
            trust_policy=trust_policy,
            max_session_duration=max_session_duration,
            description=description,
        )

    async def get_role_identity(self, account: str, role: str) -> IamIdentity | None:
        return await self.inner.get_role_identity(account, role)

    async def create_oidc_provider(self, provider: OidcProvider) -> OidcProvider:
        return await self.inner.create_oidc_provider(provider)

    async def get_oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        return await self.inner.get_oidc_provider(account, url)

    async def list_oidc_providers(self, account: str) -> list[OidcProvider]:
        return await self.inner.list_oidc_providers(account)

    async def delete_oidc_provider(self, account: str, url: str) -> None:
        await self.inner.delete_oidc_provider(account, url)

    async def create_sts_session(self, session: StsSession) -> None:
        await self.inner.create_sts_session(session)

    async def get_sts_session(self, access_key: str) -> StsSession | None:
        return await self.inner.get_sts_session(access_key)

    async def revoke_sts_sessions(
        self, account: str, *, role: str | None = None, access_key: str | None = None, now: float
    ) -> int:
        return await self.inner.revoke_sts_sessions(
            account, role=role, access_key=access_key, now=now
        )

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

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        return await self.inner.list_buckets(owner)

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

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        return await self.inner.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys
        )

    # -- blobs ------------------------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str, *, now: float) -> None:
        await self.inner.add_pending_blob(blob_id, now=now)

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self.inner.drop_pending_blob(blob_id)

    async def collectable_blobs(
        self, *, garbage_before: float, pending_before: float, limit: int = 1000
    ) -> list[str]:
        return await self.inner.collectable_blobs(
            garbage_before=garbage_before, pending_before=pending_before, limit=limit
        )

    async def forget_blobs(self, blob_ids: Sequence[str]) -> None:
        await self.inner.forget_blobs(blob_ids)

    async def blob_is_referenced(self, blob_id: str) -> bool:
        return await self.inner.blob_is_referenced(blob_id)

    async def referenced_blobs(self, after: str = "", limit: int = 1000) -> list[str]:
        return await self.inner.referenced_blobs(after, limit)

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        return await self.inner.known_blobs(blob_ids)

    async def blob_backlog(self, *, cap: int) -> BlobBacklog:
        return await self.inner.blob_backlog(cap=cap)

    async def bucket_usage(self, limit: int = 1000) -> list[BucketUsage]:
        return await self.inner.bucket_usage(limit)

    # Quotas and usage change with every write: never cached.
    async def set_quota(
        self, scope: Scope, name: str, max_bytes: int | None, max_objects: int | None
    ) -> None:
        await self.inner.set_quota(scope, name, max_bytes, max_objects)

    async def clear_quota(self, scope: Scope, name: str) -> bool:
        return await self.inner.clear_quota(scope, name)

    async def list_quotas(self) -> list[QuotaUse]:
        return await self.inner.list_quotas()

    async def quota_uses(
        self, bucket: str, *, upload_id: str | None = None, part_number: int | None = None
    ) -> list[QuotaUse]:
        return await self.inner.quota_uses(bucket, upload_id=upload_id, part_number=part_number)

    # -- console sessions: never cached, so a sign-out holds on every replica at once --------
    async def create_console_session(self, session: ConsoleSession, now: float) -> None:
        await self.inner.create_console_session(session, now)

    async def get_console_session(self, token_hash: str) -> ConsoleSession | None:
        return await self.inner.get_console_session(token_hash)

    async def touch_console_session(self, token_hash: str, now: float) -> None:
        await self.inner.touch_console_session(token_hash, now)

    async def delete_console_session(self, token_hash: str) -> bool:
        return await self.inner.delete_console_session(token_hash)

    # -- multipart uploads ------------------------------------------------------------------
    async def create_upload(self, upload: Upload) -> None:
        await self.inner.create_upload(upload)

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload | None:
        return await self.inner.get_upload(bucket, key, upload_id)

    async def put_part(self, bucket: str, key: str, upload_id: str, part: Part) -> None:
        await self.inner.put_part(bucket, key, upload_id, part)

    async def list_part_candidates(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        return await self.inner.list_part_candidates(bucket, key, upload_id)

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartsPage:
        return await self.inner.list_parts(
            bucket, key, upload_id, part_number_marker=part_number_marker, max_parts=max_parts
        )

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadsPage:
        return await self.inner.list_uploads(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )

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

    async def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload | None:
        return await self.inner.get_completed_upload(bucket, key, upload_id)

    async def abort_upload(self, bucket: str, key: str, upload_id: str, *, now: float) -> None:
        await self.inner.abort_upload(bucket, key, upload_id, now=now)

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

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionsPage:
        return await self.inner.list_object_versions(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

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

    async def put_upload_retention(
        self, bucket: str, key: str, upload_id: str, fields: RetentionFields
    ) -> None:
        await self.inner.put_upload_retention(bucket, key, upload_id, fields)

    async def get_upload_retention(self, upload_id: str) -> RetentionFields | None:
        return await self.inner.get_upload_retention(upload_id)

    # -- the KMS: never cached, so a disabled key stops at once on every replica -----------
    async def create_kms_key(self, key: KmsKey) -> None:
        await self.inner.create_kms_key(key)

    async def get_kms_key(self, key_id: str) -> KmsKey | None:
        return await self.inner.get_kms_key(key_id)

    async def find_kms_alias(self, account: str, alias: str) -> KmsKey | None:
        return await self.inner.find_kms_alias(account, alias)

    async def list_kms_keys(self, account: str | None = None) -> list[KmsKey]:
        return await self.inner.list_kms_keys(account)

    async def set_kms_key_enabled(self, key_id: str, enabled: bool) -> bool:
        return await self.inner.set_kms_key_enabled(key_id, enabled)

    async def add_kms_key_version(
        self, key_id: str, version: int, sealed_material: str
    ) -> KmsKey | None:
        return await self.inner.add_kms_key_version(key_id, version, sealed_material)

    async def replace_kms_key_versions(
        self, key_id: str, old: tuple[str, ...], new: tuple[str, ...]
    ) -> bool:
        return await self.inner.replace_kms_key_versions(key_id, old, new)

    async def coded_versions(
        self, contains: str, after: tuple[str, str, str] = ("", "", ""), limit: int = 500
    ) -> list[CodedRow]:
        return await self.inner.coded_versions(contains, after, limit)

    async def coded_parts(
        self, contains: str, after: tuple[str, int, str] = ("", 0, ""), limit: int = 500
    ) -> list[CodedRow]:
        return await self.inner.coded_parts(contains, after, limit)

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
    async def add_pending_scan(
        self, bucket: str, key: str, version_id: str, *, now: float, due: float
    ) -> None:
        await self.inner.add_pending_scan(bucket, key, version_id, now=now, due=due)

    async def claim_pending_scans(self, now: float, until: float, limit: int) -> list[PendingScan]:
        return await self.inner.claim_pending_scans(now, until, limit)

    async def retry_pending_scan(self, bucket: str, key: str, version_id: str, due: float) -> None:
        await self.inner.retry_pending_scan(bucket, key, version_id, due)

    async def drop_pending_scan(self, bucket: str, key: str, version_id: str) -> None:
        await self.inner.drop_pending_scan(bucket, key, version_id)

    # -- share links: never cached, so a revoke holds on every replica at once ---------------
    async def create_share_link(self, link: ShareLink) -> None:
        await self.inner.create_share_link(link)

    async def get_share_link(self, token_hash: str) -> ShareLink | None:
        return await self.inner.get_share_link(token_hash)

    async def list_share_links(self, account: str, iam_user: str | None = None) -> list[ShareLink]:
        return await self.inner.list_share_links(account, iam_user)

    async def revoke_share_link(
        self, account: str, link_id: str, iam_user: str | None = None
    ) -> ShareLink | None:
        return await self.inner.revoke_share_link(account, link_id, iam_user)

    async def claim_share_download(
        self, token_hash: str, now: float
    ) -> tuple[ShareLink | None, bool]:
        return await self.inner.claim_share_download(token_hash, now)

    # -- tus uploads: never cached, the offset moves with every PATCH ----------------------
    async def create_tus_upload(self, tus: TusUpload) -> None:
        await self.inner.create_tus_upload(tus)

    async def get_tus_upload(self, token_hash: str) -> TusUpload | None:
        return await self.inner.get_tus_upload(token_hash)

    async def append_tus_part(self, token_hash: str, offset: int, part: Part) -> TusUpload:
        return await self.inner.append_tus_part(token_hash, offset, part)

    async def abort_expired_tus_uploads(self, now: float, limit: int = 1000) -> int:
        return await self.inner.abort_expired_tus_uploads(now, limit)


def _maybe(text: str, build: Callable[[dict[str, Any]], T]) -> T | None:
    data = json.loads(text)
    return None if data is None else build(data)


def _maybe_str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("not a document")
    return value
