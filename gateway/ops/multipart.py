"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.

Each part streams into its own blob (gateway.writepath) and is recorded by
MetaStore.put_part. Completing an upload is a metadata operation: the rules of
gateway.s3.multipart pick the listed parts and compute the ETag and checksums, and
MetaStore.complete_upload makes the parts' blobs the new version's segments in one
transaction, whatever the object's size. https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from gateway.codec.checksums import header_name, requested_checksum
from gateway.codec.keys import SSE_C, SSE_KMS, SSE_S3
from gateway.compression import compression_for
from gateway.context import RequestContext
from gateway.encryption import (
    completed_answer,
    part_keys,
    read_keys,
    require_sigv4,
    upload_encryption,
    version_mode,
)
from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.admission import admit_write, quota_capped
from gateway.meta.base import ObjectVersion, Part, Precondition, Upload
from gateway.ops.common import (
    declared_size_check,
    encoding_type,
    find_copy_source,
    finish_upload,
    owner_of,
    size_capped,
    upload_verifier,
    write_retention,
)
from gateway.ops.notification import event_intent
from gateway.ops.object_write import precheck_write
from gateway.ops.replication import replica_of
from gateway.readpath import stream_range
from gateway.request_acl import object_write_acl
from gateway.responses import S3Response
from gateway.s3.headers import object_fields, parse_copy_source_range, quote_etag
from gateway.s3.multipart import (
    MAX_PART_SIZE,
    assemble,
    choose_parts,
    parse_count,
    parse_part_marker,
    parse_part_number,
    part_checksum_algorithm,
    parts_digest,
    upload_checksum,
    verify_complete_headers,
)
from gateway.s3.object_headers import version_headers, written_version_headers
from gateway.s3.preconditions import check_copy_source_preconditions, put_precondition
from gateway.s3.sse import (
    AES256,
    COPY_SOURCE_CUSTOMER_PREFIX,
    CUSTOMER_PREFIX,
    response_headers,
)
from gateway.writepath import StoredBlob, discard_blob, store_blob
from gateway.xml.codec import render
from gateway.xml.models import (
    CompleteMultipartUpload,
    CompleteMultipartUploadResult,
    CopyPartResult,
    InitiateMultipartUploadResult,
    ListMultipartUploadsResult,
    ListPartsResult,
    PartEntry,
    UploadEntry,
)
from gateway.xml.offload import parse_request

# 10,000 parts with an ETag and a SHA-256 each is ~2 MB of XML.
COMPLETE_BODY_LIMIT = 8 * 1024 * 1024


def new_upload_id(now: float) -> str:
    # Time-ordered (ListMultipartUploads lists a key's uploads by initiation), then random.
    return f"{int(now * 1_000_000):016x}{secrets.token_hex(16)}"


def _upload_id(ctx: RequestContext) -> str:
    upload_id = ctx.query.get("uploadId", "")
    if not upload_id:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)
    return upload_id


async def _find_upload(ctx: RequestContext) -> Upload:
    upload_id = _upload_id(ctx)
    upload = await ctx.services.meta.get_upload(ctx.target_bucket.name, ctx.target_key, upload_id)
    if upload is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)
    return upload


# -- CreateMultipartUpload ------------------------------------------------------------------


async def _check_open_uploads(ctx: RequestContext, bucket: str, key: str) -> None:
    """--max-open-uploads-per-object: uploads nobody completes or aborts each hold metadata
    and parts; one key must not gather them without bound. A soft cap (checked, then
    created): concurrent creates may pass it by a few."""
    limit = ctx.services.settings.max_open_uploads_per_object
    # The key's own uploads come first among the keys it prefixes.
    page = await ctx.services.meta.list_uploads(bucket, prefix=key, max_uploads=limit)
    if sum(1 for upload in page.uploads if upload.key == key) >= limit:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"Too many multipart uploads in progress for this key (at most {limit});"
            " complete or abort some first",
        )


async def create_multipart_upload(ctx: RequestContext) -> S3Response:
    bucket, key = ctx.target_bucket, ctx.target_key
    fields = object_fields(ctx.headers)
    algorithm, kind = upload_checksum(ctx.headers)
    keys, encryption = await upload_encryption(ctx.services, ctx.headers, bucket, key)
    require_sigv4(ctx, keys.mode)
    retention = (await write_retention(ctx, bucket)).explicit()
    access = await object_write_acl(
        ctx.services.meta,
        ctx.headers,
        bucket,
        ctx.principal.user or bucket.owner,
        ctx.access.acl_settings(bucket.name),
    )
    await ctx.body.drain()
    await _check_open_uploads(ctx, bucket.name, key)
    now = ctx.services.clock()
    upload = Upload(
        bucket=bucket.name,
        key=key,
        upload_id=new_upload_id(now),
        initiated=now,
        owner=access.owner,
        content_type=fields.content_type,
        headers=fields.headers,
        user_meta=fields.user_meta,
        storage_class=fields.storage_class,
        checksum_algorithm=algorithm,
        checksum_type=kind,
        acl=access.acl,
        encryption=encryption,
    )
    await ctx.services.meta.create_upload(upload)
    if retention.tags or retention.retention_mode or retention.legal_hold:
        # x-amz-tagging / x-amz-object-lock-*, for the version Complete makes (the client
        # gets the upload id only once both are stored).
        try:
            await ctx.services.meta.put_upload_retention(
                bucket.name, key, upload.upload_id, retention
            )
        except BaseException:
            await ctx.services.meta.abort_upload(bucket.name, key, upload.upload_id, now=now)
            raise
    headers = response_headers(keys.mode, keys.customer, keys.kms, with_context=True)
    if algorithm is not None and kind is not None:
        headers.update({"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": kind})
    result = InitiateMultipartUploadResult(bucket.name, key, upload.upload_id)
    return S3Response.xml(render(result), headers=headers)


# -- UploadPart / UploadPartCopy ------------------------------------------------------------


async def _commit_part(
    ctx: RequestContext, upload: Upload, number: int, stored: StoredBlob
) -> Part:
    part = Part(
        number=number,
        blob_id=stored.blob_id,
        size=stored.size,
        etag=stored.md5_hex,
        # When the request began: of two uploads of one number, the later one is the part
        # even if it finishes first (MetaStore.put_part).
        last_modified=ctx.now,
        checksums={stored.checksum_algorithm: stored.checksum_b64}
        if stored.checksum_algorithm and stored.checksum_b64
        else {},
        codec=stored.codec,
    )
    try:
        # NoSuchUpload here means an Abort or Complete won the race: drop our blob.
        await ctx.services.meta.put_part(upload.bucket, upload.key, upload.upload_id, part)
    except BaseException:
        await discard_blob(ctx.services, stored.blob_id)
        raise
    return part


async def upload_part(ctx: RequestContext) -> S3Response:
    number = parse_part_number(ctx.query.get("partNumber"))
    upload = await _find_upload(ctx)
    limit = min(MAX_PART_SIZE, ctx.services.settings.max_object_size)
    declared_size_check(ctx.body, limit)
    checksum = requested_checksum(ctx.headers)
    keys = await part_keys(ctx.services, upload, ctx.target_bucket, ctx.headers)
    allowance = await admit_write(
        ctx,
        ctx.target_bucket,
        upload.key,
        ctx.body.declared_length,
        upload=upload,
        part_number=number,
    )
    compression = await compression_for(ctx.services, upload.bucket, upload.content_type)
    stored = await store_blob(
        ctx.services,
        quota_capped(size_capped(ctx.body, limit), allowance),
        checksum_algorithm=part_checksum_algorithm(upload, checksum.algorithm),
        verify=upload_verifier(ctx.headers, ctx.body, checksum),
        sealing=keys.sealing,
        compression=compression,
        length=ctx.body.declared_length,
    )
    part = await _commit_part(ctx, upload, number, stored)
    # The part's checksum goes back so that clients can list it in the Complete request.
    headers = {
        "ETag": quote_etag(part.etag),
        **response_headers(keys.mode, keys.customer, keys.kms),
    }
    headers.update({header_name(a): v for a, v in part.checksums.items()})
    return S3Response(200, headers)


async def upload_part_copy(ctx: RequestContext) -> S3Response:
    headers = ctx.headers
    number = parse_part_number(ctx.query.get("partNumber"))
    upload = await _find_upload(ctx)
    copied = await find_copy_source(ctx)
    src_bucket, source = copied.bucket, copied.version
    source_keys = await read_keys(ctx.services, source, headers, COPY_SOURCE_CUSTOMER_PREFIX)
    keys = await part_keys(ctx.services, upload, ctx.target_bucket, headers)
    check_copy_source_preconditions(headers, source.etag, source.last_modified)
    start, end = parse_copy_source_range(headers.get("x-amz-copy-source-range"), source.size) or (
        0,
        source.size,
    )
    if end - start > MAX_PART_SIZE:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {MAX_PART_SIZE}",
        )
    await ctx.body.drain()
    await admit_write(
        ctx, ctx.target_bucket, upload.key, end - start, upload=upload, part_number=number
    )
    stored = await store_blob(
        ctx.services,
        stream_range(ctx.services.backend, source, start, end, source_keys.kek),
        checksum_algorithm=upload.checksum_algorithm,
        sealing=keys.sealing,
        compression=await compression_for(ctx.services, upload.bucket, upload.content_type),
        length=end - start,
    )
    part = await _commit_part(ctx, upload, number, stored)
    out = response_headers(keys.mode, keys.customer, keys.kms)
    src_ids = version_headers(src_bucket, source.version_id)
    if src_ids:
        out["x-amz-copy-source-version-id"] = src_ids["x-amz-version-id"]
    result = CopyPartResult(part.etag, part.last_modified, dict(part.checksums))
    return S3Response.xml(render(result), headers=out)


# -- CompleteMultipartUpload ----------------------------------------------------------------


async def _complete_answer(ctx: RequestContext, version: ObjectVersion) -> S3Response:
    host = ctx.headers.get("host") or ctx.services.settings.listen
    location = f"{ctx.services.settings.scheme}://{host}/{version.bucket}/{quote(version.key)}"
    result = CompleteMultipartUploadResult(
        location=location,
        bucket=version.bucket,
        key=version.key,
        etag=version.etag,
        checksums=dict(version.checksums),
        checksum_type=version.checksum_type if version.checksums else None,
    )
    headers = written_version_headers(version.version_id)
    # SSE-C: S3 answers the algorithm only (Complete carries no key).
    mode = version_mode(version)
    if mode in (SSE_S3, SSE_KMS):
        kms = await completed_answer(ctx.services, version)
        headers.update(response_headers(mode, None, kms))
    elif mode == SSE_C:
        headers[CUSTOMER_PREFIX + "algorithm"] = AES256
    return S3Response.xml(render(result), headers=headers)


async def _completed_before(
    ctx: RequestContext, upload_id: str, request: CompleteMultipartUpload
) -> S3Response:
    """A retried Complete of an upload already completed with the same parts gets the
    same answer, as S3 gives (SDKs retry a Complete whose answer was lost)."""
    bucket, key, meta = ctx.target_bucket.name, ctx.target_key, ctx.services.meta
    done = await meta.get_completed_upload(bucket, key, upload_id)
    if done is not None and done.parts_digest == parts_digest(request.parts):
        version = await meta.get_object(bucket, key, done.version_id)
        if version is not None and version.etag == done.etag:
            return await _complete_answer(ctx, version)
    raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


async def _complete(
    ctx: RequestContext,
    upload_id: str,
    request: CompleteMultipartUpload,
    precondition: Precondition | None,
) -> ObjectVersion:
    """Validate the request against the upload's parts and commit the new version."""
    bucket, key, meta = ctx.target_bucket, ctx.target_key, ctx.services.meta
    upload = await meta.get_upload(bucket.name, key, upload_id)
    if upload is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)
    precondition = await precheck_write(ctx, precondition, bucket.name, key)
    candidates = await meta.list_part_candidates(upload.bucket, upload.key, upload.upload_id)
    assembly = assemble(upload, request.parts, choose_parts(request.parts, candidates))
    verify_complete_headers(ctx.headers, upload, assembly)
    event = "s3:ObjectCreated:CompleteMultipartUpload"
    replica = await replica_of(ctx, event, key)
    events = await event_intent(ctx, event, key)
    return await finish_upload(
        ctx.services, bucket, upload, assembly, precondition, events, replica
    )


async def complete_multipart_upload(ctx: RequestContext) -> S3Response:
    upload_id = _upload_id(ctx)
    body = await ctx.body.read_all(COMPLETE_BODY_LIMIT)
    request = await parse_request(CompleteMultipartUpload, body, max_size=COMPLETE_BODY_LIMIT)
    precondition = put_precondition(ctx.headers)
    try:
        saved = await _complete(ctx, upload_id, request, precondition)
    except S3Error as exc:
        if exc.code is not S3ErrorCode.NO_SUCH_UPLOAD:
            raise
        # Completed already: a retry, or a concurrent Complete of this very upload that
        # committed first (at any point: before we looked, while we listed, or at commit).
        return await _completed_before(ctx, upload_id, request)
    return await _complete_answer(ctx, saved)


# -- AbortMultipartUpload, ListParts, ListMultipartUploads ----------------------------------


async def abort_multipart_upload(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.abort_upload(
        ctx.target_bucket.name, ctx.target_key, _upload_id(ctx), now=ctx.services.clock()
    )
    return S3Response(204)


async def list_parts(ctx: RequestContext) -> S3Response:
    upload = await _find_upload(ctx)
    marker = parse_part_marker(ctx.query.get("part-number-marker"))
    max_parts = parse_count(ctx.query.get("max-parts"), "max-parts")
    page = await ctx.services.meta.list_parts(
        upload.bucket,
        upload.key,
        upload.upload_id,
        part_number_marker=marker,
        max_parts=max_parts,
    )
    owner = owner_of(upload.owner)
    result = ListPartsResult(
        bucket=upload.bucket,
        key=upload.key,
        upload_id=upload.upload_id,
        part_number_marker=marker,
        next_part_number_marker=page.next_marker,
        max_parts=max_parts,
        is_truncated=page.is_truncated,
        parts=tuple(
            PartEntry(p.number, p.last_modified, p.etag, p.size, dict(p.checksums))
            for p in page.parts
        ),
        initiator=owner,
        owner=owner,
        storage_class=upload.storage_class,
        checksum_algorithm=upload.checksum_algorithm,
        checksum_type=upload.checksum_type,
    )
    return S3Response.xml(render(result))


async def list_multipart_uploads(ctx: RequestContext) -> S3Response:
    bucket, query = ctx.target_bucket, ctx.query
    prefix = query.get("prefix", "")
    delimiter = query.get("delimiter", "")
    key_marker = query.get("key-marker", "")
    upload_id_marker = query.get("upload-id-marker", "")
    max_uploads = parse_count(query.get("max-uploads"), "max-uploads")
    encoding = encoding_type(query.get("encoding-type"))
    page = await ctx.services.meta.list_uploads(
        bucket.name,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker if key_marker else "",
        max_uploads=max_uploads,
    )
    result = ListMultipartUploadsResult(
        bucket=bucket.name,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker,
        next_key_marker=page.next_key_marker,
        next_upload_id_marker=page.next_upload_id_marker,
        prefix=prefix,
        delimiter=delimiter,
        max_uploads=max_uploads,
        is_truncated=page.is_truncated,
        uploads=tuple(
            UploadEntry(
                key=u.key,
                upload_id=u.upload_id,
                initiator=owner_of(u.owner),
                owner=owner_of(u.owner),
                initiated=u.initiated,
                storage_class=u.storage_class,
                checksum_algorithm=u.checksum_algorithm,
                checksum_type=u.checksum_type,
            )
            for u in page.uploads
        ),
        common_prefixes=tuple(page.common_prefixes),
        encoding_type=encoding,
    )
    return S3Response.xml(render(result))
