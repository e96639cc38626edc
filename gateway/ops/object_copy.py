"""CopyObject: a new version whose bytes are streamed from another object's blobs."""

from __future__ import annotations

from events.scan.inline import store_scanned
from events.scan.worker import enqueue_scan
from gateway.compression import compression_for
from gateway.context import RequestContext
from gateway.encryption import read_keys, require_sigv4, write_keys
from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.admission import admit_write
from gateway.meta.base import ObjectVersion
from gateway.ops.common import (
    declared_size_check,
    find_copy_source,
    inline_limit,
    write_retention,
)
from gateway.ops.notification import event_intent, notify
from gateway.ops.object_write import precheck_write
from gateway.readpath import stream_range
from gateway.request_acl import object_write_acl
from gateway.responses import S3Response
from gateway.s3.headers import object_fields
from gateway.s3.object_headers import version_headers, written_version_headers
from gateway.s3.object_lock import with_retention
from gateway.s3.preconditions import check_copy_source_preconditions, put_precondition
from gateway.s3.replication import STATUS_HEADER
from gateway.s3.sse import COPY_SOURCE_CUSTOMER_PREFIX, response_headers
from gateway.s3.versions import new_version_id
from gateway.writepath import discard_blob
from gateway.xml.codec import render
from gateway.xml.models import CopyObjectResult
from lifecycle.expiry import expiration_headers

MAX_COPY_SIZE = 5 * 1024**3
_DIRECTIVES = ("COPY", "REPLACE")


async def copy_object(ctx: RequestContext) -> S3Response:
    dest_bucket, dest_key = ctx.target_bucket, ctx.target_key
    headers = ctx.headers
    copied = await find_copy_source(ctx)
    src_bucket, src_key, source = copied.bucket, copied.key, copied.version
    source_keys = await read_keys(ctx.services, source, headers, COPY_SOURCE_CUSTOMER_PREFIX)
    check_copy_source_preconditions(headers, source.etag, source.last_modified)
    if source.size > MAX_COPY_SIZE:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "The specified copy source is larger than the maximum allowable size for a copy "
            "source: 5368709120",
        )
    declared_size_check(ctx.body)
    await ctx.body.drain()

    directive = headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in _DIRECTIVES:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Unknown metadata directive.",
            ArgumentName="x-amz-metadata-directive",
            ArgumentValue=directive,
        )
    requested = object_fields(headers)
    tagging_directive = headers.get("x-amz-tagging-directive", "COPY").upper()
    if tagging_directive not in _DIRECTIVES:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Unknown tagging directive.",
            ArgumentName="x-amz-tagging-directive",
            ArgumentValue=tagging_directive,
        )
    # Tags come from the source unless REPLACE; object lock is never copied (S3 neither).
    copied_tags = dict(source.tags) if tagging_directive == "COPY" else None
    retention = await write_retention(ctx, dest_bucket, tags=copied_tags)
    # The copy gets the request's ACL (none: private), never the source's (as S3).
    access = await object_write_acl(
        ctx.services.meta,
        headers,
        dest_bucket,
        ctx.principal.user or dest_bucket.owner,
        ctx.access.acl_settings(dest_bucket.name),
    )
    keys = await write_keys(ctx.services, headers, dest_bucket, dest_key)
    require_sigv4(ctx, keys.mode, source_keys.mode)
    same_object = (src_bucket.name, src_key) == (dest_bucket.name, dest_key)
    changes_something = (
        directive == "REPLACE"
        or "x-amz-storage-class" in headers
        or "x-amz-website-redirect-location" in headers
        or copied.version_id is not None
        or keys.mode is not None
    )
    if same_object and not changes_something:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    if directive == "REPLACE":
        content_type, content, user_meta = (
            requested.content_type,
            requested.headers,
            requested.user_meta,
        )
    else:
        content_type, user_meta = source.content_type, source.user_meta
        # The source's replication status is its own: the copy is a new version here.
        content = {k: v for k, v in source.headers.items() if k != STATUS_HEADER}
    algorithm = headers.get("x-amz-checksum-algorithm", "").upper() or None
    if algorithm is None and source.checksums:
        algorithm = next(iter(source.checksums))

    precondition = await precheck_write(ctx, put_precondition(headers), dest_bucket.name, dest_key)
    await admit_write(ctx, dest_bucket, dest_key, source.size)
    stream = stream_range(ctx.services.backend, source, 0, source.size, source_keys.kek)
    compression = await compression_for(ctx.services, dest_bucket.name, content_type)
    stored = await store_scanned(
        ctx.services,
        stream,
        checksum_algorithm=algorithm,
        sealing=keys.sealing,
        compression=compression,
        subject=f"{dest_bucket.name}/{dest_key}",
        inline_limit=inline_limit(ctx, source.size),
        length=source.size,
    )
    now = ctx.services.clock()
    version = ObjectVersion(
        bucket=dest_bucket.name,
        key=dest_key,
        version_id=new_version_id(now),
        last_modified=now,
        size=stored.size,
        etag=stored.md5_hex,
        owner=access.owner,
        content_type=content_type,
        headers=content,
        user_meta=user_meta,
        checksums={algorithm: stored.checksum_b64} if algorithm and stored.checksum_b64 else {},
        checksum_type="FULL_OBJECT" if algorithm else None,
        segments=(stored.segment(),),
        storage_class=requested.storage_class
        if "x-amz-storage-class" in headers
        else source.storage_class,
        acl=access.acl,
        inline_data=stored.inline_data,
    )
    version = with_retention(version, retention.fields(now))
    try:
        events = await event_intent(ctx, "s3:ObjectCreated:Copy", version.key)
        saved = await ctx.services.meta.put_object(version, precondition, events=events)
    except BaseException:
        await discard_blob(ctx.services, stored.blob_id)
        raise
    await enqueue_scan(ctx.services, saved)
    notify(ctx, events)
    out = written_version_headers(saved.version_id)
    out.update(response_headers(keys.mode, keys.customer, keys.kms, with_context=True))
    src_ids = version_headers(src_bucket, source.version_id)
    if src_ids:
        out["x-amz-copy-source-version-id"] = src_ids["x-amz-version-id"]
    services = ctx.services
    out.update(await expiration_headers(services.lifecycle_rules, services.lifecycle_timing, saved))
    result = CopyObjectResult(saved.etag, saved.last_modified, dict(saved.checksums))
    return S3Response.xml(render(result), headers=out)
