"""Service-level operations: ListBuckets."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket
from gateway.ops.common import owner_of
from gateway.responses import S3Response
from gateway.xml.codec import render
from gateway.xml.models import BucketEntry, ListAllMyBucketsResult

MAX_BUCKETS = 10_000


def _token(name: str) -> str:
    """The opaque continuation token: the last bucket name returned."""
    return base64.urlsafe_b64encode(name.encode()).decode()


def _after(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT, "The continuation token provided is incorrect"
        ) from exc


def _max_buckets(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_BUCKETS:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            f"max-buckets must be an integer between 1 and {MAX_BUCKETS}",
            ArgumentName="max-buckets",
            ArgumentValue=raw,
        )
    return count


def bucket_page(
    buckets: Sequence[Bucket],
    *,
    prefix: str,
    region: str | None,
    after: str,
    limit: int | None,
) -> tuple[list[Bucket], str | None]:
    """ListBuckets' page of `buckets` (sorted by name) and the next page's token.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html: prefix and
    bucket-region filter; max-buckets bounds the page, and ContinuationToken is returned
    only when buckets remain (without max-buckets every bucket is listed, as before
    pagination existed)."""
    chosen = [
        b
        for b in buckets
        if b.name.startswith(prefix) and b.name > after and region in (None, b.region)
    ]
    if limit is None or len(chosen) <= limit:
        return chosen, None
    page = chosen[:limit]
    return page, _token(page[-1].name)


async def list_buckets(ctx: RequestContext) -> S3Response:
    principal = ctx.principal
    assert principal.user is not None  # authorize() refused anonymous
    query = ctx.query
    limit = _max_buckets(query.get("max-buckets"))
    token = query.get("continuation-token")
    after = _after(token) if token else ""
    prefix = query.get("prefix")
    # Root sees every bucket, as an administrator would; users see the buckets they own.
    owner = None if principal.is_root else principal.user
    buckets = await ctx.services.meta.list_buckets(owner)
    page, next_token = bucket_page(
        buckets, prefix=prefix or "", region=query.get("bucket-region"), after=after, limit=limit
    )
    result = ListAllMyBucketsResult(
        owner=owner_of(principal.user),
        buckets=tuple(BucketEntry(b.name, b.created, b.region) for b in page),
        continuation_token=next_token,
        prefix=prefix,
    )
    return S3Response.xml(render(result))
