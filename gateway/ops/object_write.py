"""PutObject."""

from __future__ import annotations

from dataclasses import replace

from events.scan.inline import store_scanned
from gateway.codec.checksums import requested_checksum
from gateway.compression import compression_for
from gateway.context import RequestContext
from gateway.encryption import require_sigv4, write_keys
from gateway.limits.admission import admit_write, quota_capped
from gateway.meta.base import Precondition
from gateway.ops.common import (
    commit_upload,
    declared_size_check,
    inline_limit,
    single_put_limit,
    size_capped,
    upload_verifier,
    write_retention,
)
from gateway.request_acl import object_write_acl
from gateway.responses import S3Response
from gateway.s3.headers import object_fields
from gateway.s3.object_headers import checksum_headers, written_version_headers
from gateway.s3.preconditions import check_write_precondition, put_precondition
from gateway.s3.sse import response_headers
from lifecycle.expiry import expiration_headers


async def put_object(ctx: RequestContext) -> S3Response:
    bucket, key, meta = ctx.target_bucket, ctx.target_key, ctx.services.meta
    headers = ctx.headers
    fields = object_fields(headers)
    precondition = put_precondition(headers)
    checksum = requested_checksum(headers)
    limit = single_put_limit(ctx)
    declared_size_check(ctx.body, limit)
    retention = await write_retention(ctx, bucket)
    access = await object_write_acl(
        meta,
        headers,
        bucket,
        ctx.principal.user or bucket.owner,
        ctx.access.acl_settings(bucket.name),
    )
    keys = await write_keys(ctx.services, headers, bucket, key)
    require_sigv4(ctx, keys.mode)
    allowance = await admit_write(ctx, bucket, key, ctx.body.declared_length)
    compression = await compression_for(ctx.services, bucket.name, fields.content_type)
    # Fail before streaming the body; put_object re-checks atomically at commit.
    precondition = await precheck_write(ctx, precondition, bucket.name, key)
    stored = await store_scanned(
        ctx.services,
        quota_capped(size_capped(ctx.body, limit), allowance),
        checksum_algorithm=checksum.algorithm,
        verify=upload_verifier(headers, ctx.body, checksum),
        sealing=keys.sealing,
        compression=compression,
        subject=f"{bucket.name}/{key}",
        inline_limit=inline_limit(ctx, ctx.body.declared_length),
        length=ctx.body.declared_length,
    )
    saved = await commit_upload(ctx, bucket, key, stored, fields, access, retention, precondition)
    out = {"ETag": f'"{saved.etag}"', **checksum_headers(saved)}
    out.update(response_headers(keys.mode, keys.customer, keys.kms, with_context=True))
    out.update(written_version_headers(saved.version_id))
    services = ctx.services
    out.update(await expiration_headers(services.lifecycle_rules, services.lifecycle_timing, saved))
    return S3Response(200, out)


async def precheck_write(
    ctx: RequestContext, precondition: Precondition | None, bucket: str, key: str
) -> Precondition | None:
    """Check a conditional write (PutObject, CopyObject, CompleteMultipartUpload) before
    its work; the commit checks again atomically, and a failure there is a concurrent
    write that won (409, gateway.s3.preconditions.check_write_precondition)."""
    if precondition is None:
        return None
    current = await ctx.services.meta.get_object(bucket, key)
    etag = None if current is None or current.is_delete_marker else current.etag
    check_write_precondition(precondition, etag, key)
    return replace(precondition, prechecked=True)
