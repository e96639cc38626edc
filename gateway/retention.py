"""What object writes and reads share about tags, object lock and lifecycle.

- write_retention(): the x-amz-tagging and x-amz-object-lock-* headers of a PutObject,
  CopyObject or CreateMultipartUpload, checked before any byte is stored; .fields(now)
  then gives the new version its tags, retention (explicit, or the bucket's default
  retention as of the version's creation) and legal hold.
- expiration_headers(): x-amz-expiration, when a lifecycle rule or the service's retention
  cap will expire the current version (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_ResponseSyntax).
  The bucket's rules are read through a per-process cache that lives LIFECYCLE_CACHE_TTL
  seconds (the header is advisory; a rule change on this process voids it at once).
- addressable(): the NoSuchKey / NoSuchVersion / delete marker answers of object
  sub-resources (tagging, retention, legal hold), inside a MetaStore.update_version.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote

from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.headers import http_date
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, RemovalCheck, RetentionFields
from gateway.object_lock import (
    DefaultRetention,
    LockRequest,
    ObjectLockConfiguration,
    bypass_requested,
    check_removal,
    default_until,
    parse_lock_headers,
)
from gateway.settings import Settings
from gateway.tagging import parse_tagging_header
from gateway.xml.codec import parse
from gateway.xml.lifecycle import load_configuration
from lifecycle.evaluate import Timing, current_expiration
from lifecycle.rules import Rule

LIFECYCLE = "lifecycle"
OBJECT_LOCK = "object-lock"
TAGGING = "tagging"
LIFECYCLE_CACHE_TTL = 1.0
_NO_LOCK = "Bucket is missing Object Lock Configuration"


def timing_of(settings: Settings) -> Timing:
    return Timing(settings.lifecycle_day_seconds, settings.max_retention_days)


def require_object_lock(bucket: Bucket) -> None:
    if not bucket.object_lock:
        raise S3Error(S3ErrorCode.INVALID_REQUEST, _NO_LOCK)


# -- writes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteRetention:
    tags: Mapping[str, str]
    lock: LockRequest
    default: DefaultRetention | None = None

    def fields(self, now: float) -> RetentionFields:
        mode, until = self.lock.mode, self.lock.retain_until
        if mode is None and self.default is not None:
            mode, until = self.default.mode, default_until(self.default, now)
        return RetentionFields(dict(self.tags), mode, until, bool(self.lock.legal_hold))

    def explicit(self) -> RetentionFields:
        """What the request itself asked for (a multipart upload's, kept for its Complete)."""
        return RetentionFields(
            dict(self.tags), self.lock.mode, self.lock.retain_until, bool(self.lock.legal_hold)
        )


async def default_retention(meta: MetaStore, bucket: Bucket) -> DefaultRetention | None:
    if not bucket.object_lock:
        return None
    document = await meta.get_bucket_config(bucket.name, OBJECT_LOCK)
    if document is None:
        return None
    return parse(ObjectLockConfiguration, document.encode()).default_retention


async def write_retention(
    ctx: RequestContext, bucket: Bucket, *, tags: Mapping[str, str] | None = None
) -> WriteRetention:
    """The request's tags (`tags` overrides the header: CopyObject's directive COPY) and
    object lock; InvalidRequest for lock headers on a bucket without object lock."""
    headers = ctx.headers
    if tags is None:
        raw = headers.get("x-amz-tagging")
        tags = parse_tagging_header(raw) if raw else {}
    lock = parse_lock_headers(headers, now=ctx.services.clock())
    if not lock.empty:
        require_object_lock(bucket)
    return WriteRetention(tags, lock, await default_retention(ctx.services.meta, bucket))


def with_retention(version: ObjectVersion, fields: RetentionFields) -> ObjectVersion:
    return replace(
        version,
        tags=dict(fields.tags),
        retention_mode=fields.retention_mode,
        retain_until=fields.retain_until,
        legal_hold=fields.legal_hold,
    )


async def completed_upload_fields(
    meta: MetaStore, bucket: Bucket, upload_id: str, now: float
) -> RetentionFields:
    """A completing upload's tags and lock: its CreateMultipartUpload's, else the
    bucket's default retention as of now."""
    stored = await meta.get_upload_retention(upload_id) or RetentionFields()
    if stored.retention_mode is not None:
        return stored
    default = await default_retention(meta, bucket)
    if default is None:
        return stored
    return replace(stored, retention_mode=default.mode, retain_until=default_until(default, now))


def removal_check(ctx: RequestContext) -> RemovalCheck:
    """DeleteObject(s) with a version id: object lock may refuse (AccessDenied)."""
    bypass = bypass_requested(ctx.headers)
    now = ctx.services.clock()

    def check(version: ObjectVersion, *, sole: bool) -> None:
        check_removal(version, now=now, bypass_governance=bypass)

    return check


# -- object sub-resources ---------------------------------------------------------------------


def addressable(version: ObjectVersion, key: str, version_id: str | None) -> ObjectVersion:
    """`version` unless it is a delete marker, answered as S3 does (see find_version)."""
    if version.is_delete_marker:
        marker = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id}
        if version_id is not None:
            raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, headers=marker)
        raise S3Error(S3ErrorCode.NO_SUCH_KEY, headers=marker, Key=key)
    return version


def missing(key: str, version_id: str | None) -> S3Error:
    if version_id is not None:
        return S3Error(S3ErrorCode.NO_SUCH_VERSION, Key=key, VersionId=version_id)
    return S3Error(S3ErrorCode.NO_SUCH_KEY, Key=key)


# -- x-amz-expiration -------------------------------------------------------------------------

_cache: dict[tuple[int, str], tuple[float, str | None]] = {}
_CACHE_LIMIT = 4096


async def lifecycle_rules(meta: MetaStore, bucket: str, *, fresh: bool = False) -> tuple[Rule, ...]:
    """The bucket's enabled and disabled rules (empty without a configuration)."""
    entry = (id(meta), bucket)
    now = time.monotonic()
    cached = None if fresh else _cache.get(entry)
    if cached is not None and cached[0] > now:
        document = cached[1]
    else:
        document = await meta.get_bucket_config(bucket, LIFECYCLE)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[entry] = (now + LIFECYCLE_CACHE_TTL, document)
    return load_configuration(document).rules if document else ()


def forget_lifecycle(meta: MetaStore, bucket: str) -> None:
    """This process changed the bucket's rules: read them again next time."""
    _cache.pop((id(meta), bucket), None)


async def expiration_headers(services: Services, version: ObjectVersion) -> dict[str, str]:
    """x-amz-expiration for the current version of an object, if anything expires it."""
    if version.is_delete_marker or not version.is_latest:
        return {}
    rules = await lifecycle_rules(services.meta, version.bucket)
    timing = timing_of(services.settings)
    if not rules and timing.max_retention_days is None:
        return {}
    found = current_expiration(
        rules,
        key=version.key,
        size=version.size,
        tags=version.tags,
        created=version.last_modified,
        timing=timing,
    )
    if found is None:
        return {}
    at, rule_id = found
    return {"x-amz-expiration": f'expiry-date="{http_date(at)}", rule-id="{quote(rule_id)}"'}
