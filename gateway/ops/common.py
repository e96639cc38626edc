"""What several ops modules share: the one home of each helper, so that no ops module
imports another.

- find_version() / find_copy_source(): the addressed version, and a copy's source (its
  bucket authorized for s3:GetObject); the answers are gateway.s3.versions' rules.
- write_retention() / upload_retention(): a new version's tags and object lock, with the
  bucket's default retention read from the store (the rules: gateway.s3.object_lock).
- upload_verifier() / declared_size_check(): the body checks every upload shares.
- owner_of(), max_keys(), encoding_type(): listing answers and parameters.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import gateway.xml.object_lock  # noqa: F401  (registers ObjectLockConfiguration's parser)
from auth.credentials import canonical_id
from events.records import EventIntent
from events.scan.inline import check_version
from events.scan.worker import enqueue_scan
from gateway.body import RequestBody
from gateway.codec.checksums import BodyHasher, ChecksumRequest, header_name
from gateway.codec.checksums import verify_content_md5 as _verify_content_md5
from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    Bucket,
    MetaStore,
    ObjectVersion,
    Precondition,
    RetentionFields,
    Upload,
)
from gateway.ops.notification import event_intent, notify
from gateway.ops.replication import as_replica, replica_of
from gateway.request_acl import ObjectWriteAcl
from gateway.s3.expected_owner import EXPECTED_SOURCE_OWNER, check_expected_owner
from gateway.s3.headers import ObjectFields, parse_copy_source
from gateway.s3.multipart import Assembly
from gateway.s3.object_lock import (
    OBJECT_LOCK,
    DefaultRetention,
    ObjectLockConfiguration,
    WriteRetention,
    completed_upload_fields,
    version_retention,
    with_retention,
)
from gateway.s3.object_lock import write_retention as _write_retention
from gateway.s3.tagging import parse_tagging_header
from gateway.s3.versions import addressed, copy_source, new_version_id
from gateway.writepath import StoredBlob, discard_blob
from gateway.xml.codec import parse
from gateway.xml.models import Owner

MAX_SINGLE_PUT = 5 * 1024**3
MAX_KEYS = 1000


# -- the addressed version ----------------------------------------------------------------------


async def find_version(ctx: RequestContext) -> ObjectVersion:
    """The version the request addresses (its key, ?versionId); NoSuchKey / NoSuchVersion /
    the delete-marker answers as S3 gives them (gateway.s3.versions.addressed)."""
    key, version_id = ctx.target_key, ctx.query.get("versionId")
    found = await ctx.services.meta.get_object(ctx.target_bucket.name, key, version_id)
    return addressed(found, key, version_id)


@dataclass(frozen=True)
class CopySource:
    bucket: Bucket
    key: str
    version_id: str | None  # as the x-amz-copy-source header named it
    version: ObjectVersion


async def bucket_config(ctx: RequestContext, name: str, missing: S3ErrorCode) -> str:
    """The target bucket's configuration document `name`; the S3Error `missing` (naming
    the bucket) when it has none."""
    bucket = ctx.target_bucket
    document = await ctx.services.meta.get_bucket_config(bucket.name, name)
    if document is None:
        raise S3Error(missing, BucketName=bucket.name)
    return document


async def find_copy_source(ctx: RequestContext) -> CopySource:
    """x-amz-copy-source of CopyObject and UploadPartCopy: its bucket and its version
    (dispatch has checked the caller may read it: auth/policy/actions.py)."""
    name, key, version_id = parse_copy_source(ctx.headers["x-amz-copy-source"])
    bucket = await ctx.services.meta.get_bucket(name)
    if bucket is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    check_expected_owner(ctx.headers, bucket.owner, header=EXPECTED_SOURCE_OWNER)
    found = await ctx.services.meta.get_object(bucket.name, key, version_id)
    return CopySource(bucket, key, version_id, copy_source(found, key, version_id))


# -- tags and object lock of a new version ------------------------------------------------------


async def default_retention(meta: MetaStore, bucket: Bucket) -> DefaultRetention | None:
    """The bucket's default retention (PutObjectLockConfiguration), if any."""
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
    if tags is None:
        raw = ctx.headers.get("x-amz-tagging")
        tags = parse_tagging_header(raw) if raw else {}
    default = await default_retention(ctx.services.meta, bucket)
    return _write_retention(bucket, tags, ctx.headers, default, now=ctx.services.clock())


async def upload_retention(
    meta: MetaStore, bucket: Bucket, upload_id: str, now: float
) -> RetentionFields:
    """A completing upload's tags and lock: its CreateMultipartUpload's, else the
    bucket's default retention as of now."""
    stored = await meta.get_upload_retention(upload_id) or RetentionFields()
    if stored.retention_mode is not None:
        return stored
    return completed_upload_fields(stored, await default_retention(meta, bucket), now)


# -- upload bodies ------------------------------------------------------------------------------


def upload_verifier(
    headers: Mapping[str, str], body: RequestBody, checksum: ChecksumRequest
) -> Callable[[BodyHasher], None]:
    """Checks Content-MD5 and the x-amz-checksum-* (header or trailer) once the body ended."""

    def verify(hasher: BodyHasher) -> None:
        _verify_content_md5(headers.get("content-md5"), hasher.md5_digest())
        if checksum.algorithm is None:
            return
        expected = checksum.expected
        if checksum.in_trailer:
            expected = body.trailers.get(header_name(checksum.algorithm))
            if expected is None:
                raise S3Error(
                    S3ErrorCode.INVALID_REQUEST,
                    f"The trailer {header_name(checksum.algorithm)} was declared but not sent",
                )
        if expected is not None and expected != hasher.checksum_b64():
            raise S3Error(
                S3ErrorCode.BAD_DIGEST,
                f"The {checksum.algorithm} you specified did not match the calculated checksum.",
            )

    return verify


def single_put_limit(ctx: RequestContext) -> int:
    """The largest PutObject/PostObject body: AWS's 5 GiB, or --max-object-size if smaller."""
    return min(MAX_SINGLE_PUT, ctx.services.settings.max_object_size)


def size_capped(body: RequestBody, limit: int) -> AsyncIterable[bytes]:
    """A body of undeclared length (chunked transfer, aws-chunked without a decoded length)
    must still stop at the size limit: EntityTooLarge from the stream, so the write path
    discards what it stored so far. A declared length within the limit is the body's own
    cap (RequestBody fails a body that brings more than it declared)."""
    declared = body.declared_length
    if declared is not None and declared <= limit:
        return body
    return _size_capped(body, limit)


async def _size_capped(source: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in source:
        size += len(chunk)
        if size > limit:
            raise S3Error(S3ErrorCode.ENTITY_TOO_LARGE, MaxSizeAllowed=str(limit))
        yield chunk


def inline_limit(ctx: RequestContext, size: int | None) -> int:
    """store_blob's inline_limit for a body of `size` bytes (None: unknown, which streams
    to the backend): --inline-threshold when the body fits, else 0."""
    threshold = ctx.services.settings.inline_threshold
    return threshold if size is not None and size <= threshold else 0


def declared_size_check(body: RequestBody, limit: int = MAX_SINGLE_PUT) -> None:
    if body.declared_length is not None and body.declared_length > limit:
        raise S3Error(
            S3ErrorCode.ENTITY_TOO_LARGE,
            ProposedSize=str(body.declared_length),
            MaxSizeAllowed=str(limit),
        )


# -- listings -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def owner_of(account: str) -> Owner:
    """An account as listings show it: its canonical id (as ACLs name it) and its name.
    Cached: a listing page shows up to 1,000 owners, mostly the same few, and the id is a
    SHA-256."""
    return Owner(id=canonical_id(account), display_name=account)


def max_keys(raw: str | None) -> int:
    """max-keys of ListObjects(V2) and ListObjectVersions, capped at MAX_KEYS."""
    if raw is None:
        return MAX_KEYS
    try:
        value = int(raw)
    except ValueError as exc:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Provided max-keys not an integer or within integer range",
            ArgumentName="max-keys",
            ArgumentValue=raw,
        ) from exc
    if value < 0:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Argument maxKeys must be an integer between 0 and 2147483647",
            ArgumentName="maxKeys",
            ArgumentValue=raw,
        )
    return min(value, MAX_KEYS)


def encoding_type(raw: str | None) -> str | None:
    """encoding-type of the listings: absent, empty or "url"."""
    if not raw:
        return None
    if raw.lower() != "url":
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=raw,
        )
    return "url"


# -- committing a single-part upload -----------------------------------------------------------


async def commit_upload(
    ctx: RequestContext,
    bucket: Bucket,
    key: str,
    stored: StoredBlob,
    fields: ObjectFields,
    access: ObjectWriteAcl,
    retention: WriteRetention,
    precondition: Precondition | None = None,
) -> ObjectVersion:
    """PutObject's and POST Object's last step: the new version of `key` made of `stored`,
    committed (and, with --scan-mode async, queued for its scan), or the blob discarded
    if the commit fails."""
    now = ctx.services.clock()
    algorithm = stored.checksum_algorithm
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
        checksums={algorithm: stored.checksum_b64} if algorithm and stored.checksum_b64 else {},
        checksum_type="FULL_OBJECT" if algorithm else None,
        segments=(stored.segment(),),
        storage_class=fields.storage_class,
        acl=access.acl,
        inline_data=stored.inline_data,
        **version_retention(retention.fields(now)),
    )
    created = "Post" if ctx.operation == "PostObject" else "Put"
    try:
        event = f"s3:ObjectCreated:{created}"
        version = as_replica(version, await replica_of(ctx, event, key))
        events = await event_intent(ctx, event, key)
        saved = await ctx.services.meta.put_object(version, precondition, events=events)
    except BaseException:
        await discard_blob(ctx.services, stored.blob_id)
        raise
    notify(ctx, events)
    await enqueue_scan(ctx.services, saved)
    return saved


# -- completing a multipart upload (CompleteMultipartUpload, the last byte of a tus upload) --


async def finish_upload(
    services: Services,
    bucket: Bucket,
    upload: Upload,
    assembly: Assembly,
    precondition: Precondition | None,
    events: EventIntent | None,
    replica: tuple[str, float] | None = None,
) -> ObjectVersion:
    """Publish the assembled upload as the key's new version: the upload's metadata and the
    retention it asked for (else the bucket's default), scanned first with --scan-mode
    inline (an infected upload is aborted: its parts' blobs go to garbage), queued for the
    scan after with --scan-mode async, its events in the commit's transaction."""
    meta = services.meta
    limit = services.settings.max_object_size
    if assembly.size > limit:  # parts pass their own cap one by one (AWS: 5 TiB in all)
        raise S3Error(
            S3ErrorCode.ENTITY_TOO_LARGE, ProposedSize=str(assembly.size), MaxSizeAllowed=str(limit)
        )
    now = services.clock()
    version = ObjectVersion(
        bucket=bucket.name,
        key=upload.key,
        version_id=new_version_id(now),
        last_modified=now,
        size=assembly.size,
        etag=assembly.etag,
        owner=upload.owner,
        content_type=upload.content_type,
        headers=upload.headers,
        user_meta=upload.user_meta,
        checksums=assembly.checksums,
        checksum_type=assembly.checksum_type,
        segments=assembly.segments,
        storage_class=upload.storage_class,
        acl=upload.acl,
    )
    version = with_retention(version, await upload_retention(meta, bucket, upload.upload_id, now))
    version = as_replica(version, replica)

    async def abort() -> None:
        try:
            await meta.abort_upload(upload.bucket, upload.key, upload.upload_id, now=now)
        except S3Error:
            pass  # aborted or completed meanwhile: nothing of ours to clean

    await check_version(services, version, on_infected=abort)
    saved = await meta.complete_upload(
        upload.upload_id, version, precondition, parts_digest=assembly.parts_digest, events=events
    )
    if events is not None:
        if events.rules:
            services.events_queued.set()
        if events.replication:
            services.replication_queued.set()
    await enqueue_scan(services, saved)
    return saved
