"""PutObjectTagging, GetObjectTagging, DeleteObjectTagging (by version), and
PutBucketTagging, GetBucketTagging, DeleteBucketTagging.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html. Object tags
live on the version (MetaStore.update_version, which voids the cached head); bucket tags
are the bucket's "tagging" configuration document.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.context import RequestContext
from gateway.errors import S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.ops.common import bucket_config, find_version
from gateway.ops.notification import event_intent, notify
from gateway.responses import S3Response
from gateway.s3.object_headers import version_headers
from gateway.s3.tagging import MAX_BUCKET_TAGS, TAGGING, as_tags, validate_tags
from gateway.s3.versions import addressable, missing
from gateway.xml.codec import parse, render
from gateway.xml.tagging import Tagging

MAX_TAGGING_BYTES = 64 * 1024


async def get_object_tagging(ctx: RequestContext) -> S3Response:
    version = await find_version(ctx)
    headers = version_headers(ctx.target_bucket, version.version_id)
    return S3Response.xml(render(Tagging(as_tags(version.tags))), headers=headers)


async def _set_object_tags(ctx: RequestContext, tags: dict[str, str], status: int) -> S3Response:
    # PutObjectTagging answers 200, DeleteObjectTagging 204.
    event = "s3:ObjectTagging:Put" if status == 200 else "s3:ObjectTagging:Delete"
    bucket, key = ctx.target_bucket, ctx.target_key
    version_id = ctx.query.get("versionId")

    def change(version: ObjectVersion) -> ObjectVersion:
        return replace(addressable(version, key, version_id), tags=tags)

    events = await event_intent(ctx, event, key)
    updated = await ctx.services.meta.update_version(
        bucket.name, key, version_id, change, events=events
    )
    notify(ctx, events)
    if updated is None:
        raise missing(key, version_id)
    return S3Response(status, version_headers(bucket, updated.version_id))


async def put_object_tagging(ctx: RequestContext) -> S3Response:
    tagging = parse(Tagging, await ctx.body.read_all(MAX_TAGGING_BYTES))
    return await _set_object_tags(ctx, validate_tags(tagging.tags), 200)


async def delete_object_tagging(ctx: RequestContext) -> S3Response:
    return await _set_object_tags(ctx, {}, 204)


async def get_bucket_tagging(ctx: RequestContext) -> S3Response:
    document = await bucket_config(ctx, TAGGING, S3ErrorCode.NO_SUCH_TAG_SET)
    return S3Response.xml(document.encode())


async def put_bucket_tagging(ctx: RequestContext) -> S3Response:
    tagging = parse(Tagging, await ctx.body.read_all(MAX_TAGGING_BYTES))
    tags = validate_tags(tagging.tags, limit=MAX_BUCKET_TAGS)
    document = render(Tagging(as_tags(tags))).decode()
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, TAGGING, document)
    return S3Response(204)


async def delete_bucket_tagging(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, TAGGING, None)
    return S3Response(204)
