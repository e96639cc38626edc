"""PutObjectLockConfiguration, GetObjectLockConfiguration, PutObjectRetention,
GetObjectRetention, PutObjectLegalHold, GetObjectLegalHold.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html; the rules are
gateway.s3.object_lock's. Retention and legal hold changes are checked against the version
as stored, inside MetaStore.update_version's transaction, so two racing changes cannot
both pass a check the other would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import gateway.xml.object_lock  # noqa: F401  (registers the object lock documents)
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.ops.common import find_version
from gateway.ops.notification import event_intent, notify
from gateway.responses import S3Response
from gateway.s3.object_headers import version_headers
from gateway.s3.object_lock import (
    OBJECT_LOCK,
    LegalHold,
    ObjectLockConfiguration,
    Retention,
    bypass_requested,
    check_retention_change,
    require_object_lock,
    validate_configuration,
)
from gateway.s3.replication import OBJECT_LOCK_EVENT
from gateway.s3.versions import addressable, missing
from gateway.xml.codec import parse, render

MAX_LOCK_BYTES = 64 * 1024


async def put_object_lock_configuration(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    config = parse(ObjectLockConfiguration, await ctx.body.read_all(MAX_LOCK_BYTES))
    validate_configuration(config)
    if not bucket.object_lock:
        # S3 lets a versioning-enabled bucket turn object lock on (for good).
        await meta.enable_object_lock(bucket.name)
    document = render(config).decode() if config.default_retention is not None else None
    await meta.put_bucket_config(bucket.name, OBJECT_LOCK, document)
    return S3Response(200)


async def get_object_lock_configuration(ctx: RequestContext) -> S3Response:
    bucket = ctx.target_bucket
    if not bucket.object_lock:
        raise S3Error(S3ErrorCode.OBJECT_LOCK_CONFIGURATION_NOT_FOUND, BucketName=bucket.name)
    document = await ctx.services.meta.get_bucket_config(bucket.name, OBJECT_LOCK)
    if document is None:
        return S3Response.xml(render(ObjectLockConfiguration()))
    return S3Response.xml(document.encode())


async def put_object_retention(ctx: RequestContext) -> S3Response:
    bucket, key = ctx.target_bucket, ctx.target_key
    require_object_lock(bucket)
    retention = parse(Retention, await ctx.body.read_all(MAX_LOCK_BYTES))
    version_id = ctx.query.get("versionId")
    bypass = bypass_requested(ctx.headers)
    now = ctx.services.clock()

    def change(version: ObjectVersion) -> ObjectVersion:
        version = addressable(version, key, version_id)
        check_retention_change(version, retention, now=now, bypass_governance=bypass)
        return replace(version, retention_mode=retention.mode, retain_until=retention.retain_until)

    return await _change_lock(ctx, version_id, change)


async def _change_lock(
    ctx: RequestContext, version_id: str | None, change: Callable[[ObjectVersion], ObjectVersion]
) -> S3Response:
    """Store a retention or legal hold `change` of the addressed version, queueing its
    replication in the same transaction."""
    bucket, key = ctx.target_bucket, ctx.target_key
    # No notification names a lock change; replication copies it (gateway/ops/replication.py).
    events = await event_intent(ctx, OBJECT_LOCK_EVENT, key)
    updated = await ctx.services.meta.update_version(
        bucket.name, key, version_id, change, events=events
    )
    if updated is None:
        raise missing(key, version_id)
    notify(ctx, events)
    return S3Response(200, version_headers(bucket, updated.version_id))


async def get_object_retention(ctx: RequestContext) -> S3Response:
    require_object_lock(ctx.target_bucket)
    version = await find_version(ctx)
    if version.retention_mode is None or version.retain_until is None:
        raise S3Error(S3ErrorCode.NO_SUCH_OBJECT_LOCK_CONFIGURATION)
    return S3Response.xml(render(Retention(version.retention_mode, version.retain_until)))


async def put_object_legal_hold(ctx: RequestContext) -> S3Response:
    bucket, key = ctx.target_bucket, ctx.target_key
    require_object_lock(bucket)
    hold = parse(LegalHold, await ctx.body.read_all(MAX_LOCK_BYTES))
    version_id = ctx.query.get("versionId")

    def change(version: ObjectVersion) -> ObjectVersion:
        return replace(addressable(version, key, version_id), legal_hold=hold.on)

    return await _change_lock(ctx, version_id, change)


async def get_object_legal_hold(ctx: RequestContext) -> S3Response:
    require_object_lock(ctx.target_bucket)
    version = await find_version(ctx)
    return S3Response.xml(render(LegalHold(version.legal_hold)))
