"""PutObject."""

from __future__ import annotations

from gateway.codec.checksums import requested_checksum
from gateway.context import RequestContext
from gateway.meta.base import ObjectVersion, Precondition, Segment
from gateway.ops.common import declared_size_check, upload_verifier, write_retention
from gateway.request_acl import object_write_acl
from gateway.responses import S3Response
from gateway.s3.headers import object_fields
from gateway.s3.object_headers import checksum_headers, version_headers
from gateway.s3.object_lock import with_retention
from gateway.s3.preconditions import check_write_precondition, put_precondition
from gateway.s3.versions import new_version_id
from gateway.writepath import discard_blob, store_blob
from lifecycle.expiry import expiration_headers


async def put_object(ctx: RequestContext) -> S3Response:
    bucket, key, meta = ctx.target_bucket, ctx.target_key, ctx.services.meta
    headers = ctx.headers
    fields = object_fields(headers)
    precondition = put_precondition(headers)
    checksum = requested_checksum(headers)
    declared_size_check(ctx.body)
    retention = await write_retention(ctx, bucket)
    access = await object_write_acl(
        meta,
        headers,
        bucket,
        ctx.principal.user or bucket.owner,
        ctx.access.acl_settings(bucket.name),
    )
    if precondition is not None:
        # Fail before streaming the body; put_object re-checks atomically at commit.
        await _check_precondition_early(ctx, precondition)
    stored = await store_blob(
        ctx.services,
        ctx.body,
        checksum_algorithm=checksum.algorithm,
        verify=upload_verifier(headers, ctx.body, checksum),
    )
    now = ctx.services.clock()
    version = ObjectVersion(
        bucket=bucket.name,
        key=key,
        version_id=new_version_id(now),
        last_modified=now,
        size=stored.size,
        etag=stored.md5_hex,
        owner=access.owner,
        content_type=fields.content_type,
        headers=fields.headers,
        user_meta=fields.user_meta,
        checksums={checksum.algorithm: stored.checksum_b64}
        if checksum.algorithm and stored.checksum_b64
        else {},
        checksum_type="FULL_OBJECT" if checksum.algorithm else None,
        segments=(Segment(stored.blob_id, stored.size),),
        storage_class=fields.storage_class,
        acl=access.acl,
    )
    version = with_retention(version, retention.fields(now))
    try:
        saved = await meta.put_object(version, precondition)
    except BaseException:
        await discard_blob(ctx.services, stored.blob_id)
        raise
    out = {"ETag": f'"{saved.etag}"', **checksum_headers(saved)}
    out.update(version_headers(bucket, saved.version_id))
    services = ctx.services
    out.update(await expiration_headers(services.lifecycle_rules, services.lifecycle_timing, saved))
    return S3Response(200, out)


async def _check_precondition_early(ctx: RequestContext, precondition: Precondition) -> None:
    current = await ctx.services.meta.get_object(ctx.target_bucket.name, ctx.target_key)
    etag = None if current is None or current.is_delete_marker else current.etag
    check_write_precondition(precondition, etag, ctx.target_key)
