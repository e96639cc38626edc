"""The last byte of a tus upload: CompleteMultipartUpload of all its parts, so the object
is an ordinary one (multipart ETag, the upload's checksum, versioning, tags and object
lock defaults, lifecycle), published like any completion (MetaStore.complete_upload)."""

from __future__ import annotations

from auth.credentials import account_id
from events.records import EventIntent, may_match
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion, Part, TusUpload, Upload
from gateway.ops.common import finish_upload
from gateway.ops.replication import routes_for
from gateway.s3.multipart import assemble
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
    rules = await services.notifications.get(bucket.name)
    candidates = may_match(rules, "s3:ObjectCreated", tus.key) if rules else ()
    event = "s3:ObjectCreated:CompleteMultipartUpload"
    routes = await routes_for(services, bucket.name, event, tus.key)
    events = (
        EventIntent(
            candidates,
            event,
            time=services.clock(),
            principal=account_id(tus.account),
            region=bucket.region,
            owner=bucket.owner,
            replication=routes,
        )
        if candidates or routes
        else None
    )
    return await finish_upload(services, bucket, upload, assembly, None, events)
