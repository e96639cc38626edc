"""DeleteObject and DeleteObjects (batch, Quiet)."""

from __future__ import annotations

import base64
import hashlib

from auth.policy.actions import required_actions
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, DeleteCondition, DeleteOutcome, ObjectVersion
from gateway.ops.notification import event_intent, notify
from gateway.ops.replication import as_replica, replica_of
from gateway.responses import S3Response
from gateway.s3.object_lock import bypass_requested, removal_check
from gateway.s3.preconditions import delete_condition
from gateway.xml.codec import render
from gateway.xml.models import Delete, DeletedEntry, DeleteErrorEntry, DeleteResult
from gateway.xml.offload import parse_request

MAX_DELETE_BODY = 2 * 1024 * 1024


def _outcome_headers(bucket: Bucket, outcome: DeleteOutcome) -> dict[str, str]:
    headers: dict[str, str] = {}
    if bucket.versioning is not None and outcome.version_id is not None:
        headers["x-amz-version-id"] = outcome.version_id
    if outcome.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    return headers


async def _delete(
    ctx: RequestContext, key: str, version_id: str | None, condition: DeleteCondition | None
) -> DeleteOutcome:
    """Without a version id nothing is removed for good in a versioned bucket (a delete
    marker is added); with one, object lock may refuse (gateway.s3.object_lock). The
    condition (a conditional delete) is checked in the deleting transaction."""
    bucket, meta, now = ctx.target_bucket, ctx.services.meta, ctx.services.clock()
    replica = await replica_of(ctx, "s3:ObjectRemoved", key)
    if replica is not None and version_id is None and bucket.versioning == "Enabled":
        # A replicated delete marker: its source's id and time (gateway/ops/replication.py).
        marker = ObjectVersion(
            bucket.name, key, "", last_modified=now, is_delete_marker=True, owner=bucket.owner
        )
        stored = await meta.put_object(as_replica(marker, replica))
        return DeleteOutcome(stored.version_id, stored.is_delete_marker)
    events = await event_intent(ctx, "s3:ObjectRemoved", key)
    if version_id is None:
        outcome = await meta.delete_object(
            bucket.name, key, None, now=now, condition=condition, events=events
        )
    else:
        check = removal_check(now=now, bypass_governance=bypass_requested(ctx.headers))
        outcome = await meta.delete_version(
            bucket.name, key, version_id, now=now, check=check, condition=condition, events=events
        )
    notify(ctx, events)
    return outcome


async def delete_object(ctx: RequestContext) -> S3Response:
    headers = ctx.headers
    condition = delete_condition(
        headers.get("if-match"),
        headers.get("x-amz-if-match-last-modified-time"),
        headers.get("x-amz-if-match-size"),
    )
    outcome = await _delete(ctx, ctx.target_key, ctx.query.get("versionId"), condition)
    return S3Response(204, _outcome_headers(ctx.target_bucket, outcome))


async def delete_objects(ctx: RequestContext) -> S3Response:
    payload = await ctx.body.read_all(MAX_DELETE_BODY)
    # Content-MD5 is optional (newer SDKs send a CRC checksum instead); verified when sent.
    content_md5 = ctx.headers.get("content-md5")
    if content_md5 is not None:
        digest = base64.b64encode(hashlib.md5(payload).digest()).decode()
        if digest != content_md5.strip():
            raise S3Error(S3ErrorCode.BAD_DIGEST)
    request = await parse_request(Delete, payload)
    deleted: list[DeletedEntry] = []
    errors: list[DeleteErrorEntry] = []
    for obj in request.objects:
        if not obj.key:
            errors.append(
                DeleteErrorEntry(
                    obj.key, "InvalidArgument", "Key must not be empty", obj.version_id
                )
            )
            continue
        # Each key is authorized on its own, as AWS does: a refused key is an error entry.
        (needed,) = required_actions(ctx.operation, ctx.bucket, keys=[(obj.key, obj.version_id)])
        if not await ctx.access.allowed(needed.action, needed.resource):
            denied = S3Error(S3ErrorCode.ACCESS_DENIED)
            errors.append(
                DeleteErrorEntry(obj.key, denied.code.code, denied.message, obj.version_id)
            )
            continue
        try:
            condition = delete_condition(obj.etag, obj.last_modified_time, obj.size)
            outcome = await _delete(ctx, obj.key, obj.version_id, condition)
        except S3Error as err:
            errors.append(DeleteErrorEntry(obj.key, err.code.code, err.message, obj.version_id))
            continue
        if request.quiet:
            continue
        marker_version = outcome.version_id if outcome.delete_marker else None
        deleted.append(
            DeletedEntry(
                key=obj.key,
                version_id=obj.version_id,
                delete_marker=outcome.delete_marker,
                delete_marker_version_id=marker_version if obj.version_id is None else None,
            )
        )
    return S3Response.xml(render(DeleteResult(tuple(deleted), tuple(errors))))
