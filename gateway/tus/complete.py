"""The last byte of a tus upload: CompleteMultipartUpload of all its parts, so the object
is an ordinary one (multipart ETag, the upload's checksum, versioning, tags and object
lock defaults, lifecycle), published like any completion (MetaStore.complete_upload)."""

from __future__ import annotations

from events.scan.inline import check_version
from events.scan.worker import enqueue_scan
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion, Part, TusUpload, Upload
from gateway.ops.common import upload_retention
from gateway.s3.multipart import assemble
from gateway.s3.object_lock import with_retention
from gateway.s3.versions import new_version_id
from gateway.xml.models import CompletedPart


async def _all_parts(services: Services, tus: TusUpload) -> dict[int, Part]:
    parts: dict[int, Part] = {}
    marker = 0
    while True:
        page = await services.meta.list_parts(
            tus.bucket, tus.key, tus.upload_id, part_number_marker=marker
        )
        parts.update((p.number, p) for p in page.parts)
        if not page.is_truncated or page.next_marker is None:
            return parts
        marker = page.next_marker


async def complete(services: Services, upload: Upload, tus: TusUpload) -> ObjectVersion:
    meta = services.meta
    bucket = await meta.get_bucket(tus.bucket)
    if bucket is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=tus.bucket)
    parts = await _all_parts(services, tus)
    listed = [CompletedPart(n, p.etag, dict(p.checksums)) for n, p in sorted(parts.items())]
    assembly = assemble(upload, listed, parts)
    now = services.clock()
    version = ObjectVersion(
        bucket=bucket.name,
        key=tus.key,
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
    version = with_retention(version, await upload_retention(meta, bucket, tus.upload_id, now))

    async def abort() -> None:  # infected: its parts' blobs go to garbage
        try:
            await meta.abort_upload(tus.bucket, tus.key, tus.upload_id, now=services.clock())
        except S3Error:
            pass  # aborted or completed meanwhile

    await check_version(services, version, on_infected=abort)  # --scan-mode inline
    saved = await meta.complete_upload(
        tus.upload_id, version, None, parts_digest=assembly.parts_digest
    )
    await enqueue_scan(services, saved)  # --scan-mode async
    return saved
