"""What the request path tells a change's transaction about replication, and the replica
writes a replication worker makes on a KloudVault destination.

replication_routes(): the replication rules of the addressed bucket that may cover a
change of `key` (gateway/s3/replication.py may_cover; tags are checked by the worker),
as routes the transaction queues (gateway/meta/events.py). A write that carries the
x-kloudvault-replica header is a replica: it is never queued again (no loops between two
gateways replicating into each other), and only a caller allowed the Replicate* action
may send it (AccessDenied otherwise, before anything is written).

replica_of(): the (version id, last modified) a replica write asks to keep, after the
same authorization, or None for an ordinary write.
"""

from __future__ import annotations

from dataclasses import replace

from auth.policy.actions import object_arn
from events.records import REMOVAL_FAMILIES, ReplicationRoute
from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.s3.replication import (
    OP_DELETE_MARKER,
    OP_METADATA,
    REPLICA,
    REPLICA_HEADER,
    STATUS_HEADER,
    may_cover,
    parse_replica_header,
    replication_op,
)

# The IAM action that lets a caller write each kind of replica (AWS's names).
REPLICATE_ACTIONS = {
    OP_DELETE_MARKER: "s3:ReplicateDelete",
    OP_METADATA: "s3:ReplicateTags",
}
REPLICATE_OBJECT = "s3:ReplicateObject"


def _op(event: str) -> str | None:
    if event in REMOVAL_FAMILIES:
        return OP_DELETE_MARKER if event == "s3:ObjectRemoved" else None
    return replication_op(event)


async def replica_of(ctx: RequestContext, event: str, key: str) -> tuple[str, float] | None:
    """The replica header's (version id, last modified), once the caller is known to be
    allowed to write replicas; None when the request carries no such header."""
    value = ctx.headers.get(REPLICA_HEADER)
    if value is None:
        return None
    op = _op(event)
    action = REPLICATE_ACTIONS.get(op or "", REPLICATE_OBJECT)
    if not await ctx.access.allowed(action, object_arn(ctx.target_bucket.name, key)):
        raise S3Error(S3ErrorCode.ACCESS_DENIED)
    return parse_replica_header(value)


async def replication_routes(
    ctx: RequestContext, event: str, key: str
) -> tuple[ReplicationRoute, ...]:
    """The routes a change of `key` may be copied along (empty: no rule covers it)."""
    if await replica_of(ctx, event, key) is not None:
        return ()  # a replica is not replicated again
    return await routes_for(ctx.services, ctx.target_bucket.name, event, key)


async def routes_for(
    services: Services, bucket: str, event: str, key: str
) -> tuple[ReplicationRoute, ...]:
    """replication_routes() for a write that is not a request's (a tus upload's end)."""
    op = _op(event)
    if op is None:
        return ()
    rules = await services.replication_rules.get(bucket)
    if not rules:
        return ()
    covering = may_cover(rules, key, delete_marker=op == OP_DELETE_MARKER)
    return tuple(
        ReplicationRoute(r.id or "", r.destination.bucket_name, r.delete_marker_replication)
        for r in covering
    )


def as_replica(version: ObjectVersion, replica: tuple[str, float] | None) -> ObjectVersion:
    """The version a replica write stores: its source's version id and time, marked
    REPLICA (gateway/meta/objects.py then writes it once, newer wins); `version` itself
    for an ordinary write."""
    if replica is None:
        return version
    version_id, last_modified = replica
    headers = {**version.headers, STATUS_HEADER: REPLICA}
    return replace(version, version_id=version_id, last_modified=last_modified, headers=headers)
