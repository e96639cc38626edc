"""Service-level operations: ListBuckets."""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.ops.common import owner_of
from gateway.responses import S3Response
from gateway.xml.codec import render
from gateway.xml.models import BucketEntry, ListAllMyBucketsResult


async def list_buckets(ctx: RequestContext) -> S3Response:
    principal = ctx.principal
    assert principal.user is not None  # authorize() refused anonymous
    # Root sees every bucket, as an administrator would; users see the buckets they own.
    owner = None if principal.is_root else principal.user
    buckets = await ctx.services.meta.list_buckets(owner)
    result = ListAllMyBucketsResult(
        owner=owner_of(principal.user),
        buckets=tuple(BucketEntry(b.name, b.created, b.region) for b in buckets),
    )
    return S3Response.xml(render(result))
