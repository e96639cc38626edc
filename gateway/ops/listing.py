"""ListObjects (v1, marker) and ListObjectsV2 (continuation token)."""

from __future__ import annotations

import base64
import binascii

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ListPage
from gateway.ops.common import encoding_type, max_keys, owner_of
from gateway.responses import S3Response
from gateway.xml.codec import render
from gateway.xml.models import ListBucketResult, ListBucketV2Result, ListEntry


def _entries(page: ListPage, with_owner: bool) -> tuple[ListEntry, ...]:
    return tuple(
        ListEntry(
            o.key,
            o.last_modified,
            o.etag,
            o.size,
            o.storage_class,
            owner_of(o.owner) if with_owner else None,
            o.checksum_algorithm,
            o.checksum_type,
        )
        for o in page.objects
    )


def encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
        ) from exc


async def list_objects(ctx: RequestContext) -> S3Response:
    bucket = ctx.target_bucket
    q = ctx.query
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    limit = max_keys(q.get("max-keys"))
    encoding = encoding_type(q.get("encoding-type"))
    page = await ctx.services.meta.list_objects(
        bucket.name, prefix=prefix, delimiter=delimiter, start_after=marker, max_keys=limit
    )
    result = ListBucketResult(
        name=bucket.name,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=limit,
        is_truncated=page.is_truncated,
        contents=_entries(page, with_owner=True),
        common_prefixes=tuple(page.common_prefixes),
        marker=marker,
        next_marker=page.next_marker if page.is_truncated and delimiter else None,
        encoding_type=encoding,
    )
    return S3Response.xml(render(result))


async def list_objects_v2(ctx: RequestContext) -> S3Response:
    bucket = ctx.target_bucket
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    start_after = q.get("start-after")
    token = q.get("continuation-token")
    limit = max_keys(q.get("max-keys"))
    encoding = encoding_type(q.get("encoding-type"))
    if token is not None and token == "":
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
        )
    after = decode_token(token) if token else (start_after or "")
    if token and start_after and start_after > after:
        after = start_after
    page = await ctx.services.meta.list_objects(
        bucket.name, prefix=prefix, delimiter=delimiter, start_after=after, max_keys=limit
    )
    contents = _entries(page, with_owner=q.get("fetch-owner", "").lower() == "true")
    result = ListBucketV2Result(
        name=bucket.name,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=limit,
        is_truncated=page.is_truncated,
        contents=contents,
        common_prefixes=tuple(page.common_prefixes),
        key_count=len(contents) + len(page.common_prefixes),
        continuation_token=token,
        next_continuation_token=encode_token(page.next_marker)
        if page.is_truncated and page.next_marker is not None
        else None,
        start_after=start_after,
        encoding_type=encoding,
    )
    return S3Response.xml(render(result))
