"""Quota admission for the write handlers: refuse before a byte is stored.

A write that declares its size (Content-Length, x-amz-decoded-content-length, a copy's
source size) is checked against the quotas now, before the body is read. A body of unknown
length streams through quota_capped(), which fails at the first byte past what the quotas
leave: the write path then deletes the partial blob (gateway/writepath.py). Both are
advisory under concurrency: the commit transaction checks again, atomically
(gateway/meta/quotas.py), and a failed commit discards the blob too. So a quota hit never
leaves anything stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.quota import Quota, QuotaUse, Usage, byte_allowance, describe, exceeded
from gateway.meta.base import Bucket, Upload


def _first_exceeded(uses: list[QuotaUse], delta: Usage) -> tuple[Quota, str] | None:
    for use in uses:
        dimension = exceeded(use.quota, use.used + delta, delta)
        if dimension is not None:
            return use.quota, dimension
    return None


async def admit_write(
    ctx: RequestContext,
    bucket: Bucket,
    key: str,
    declared: int | None,
    *,
    upload: Upload | None = None,
    part_number: int | None = None,
) -> int | None:
    """QuotaExceeded now if writing `declared` bytes to `key` (a part of `upload` when
    given) would go over a quota; else the bytes a body of unknown length may bring (None:
    no byte quota applies, or the size is declared)."""
    meta = ctx.services.meta
    uses = await meta.quota_uses(
        bucket.name,
        upload_id=None if upload is None else upload.upload_id,
        part_number=part_number,
    )
    if not uses:
        return None
    # A part adds bytes now and counts as an object only when the upload completes.
    delta = Usage(0 if upload is not None else 1, declared or 0)
    released = Usage()
    over = _first_exceeded(uses, delta)
    if over is not None and upload is None and bucket.versioning is None:
        # An unversioned bucket: the PUT replaces the key's version, if it has one.
        current = await meta.get_object(bucket.name, key)
        if current is not None and not current.is_delete_marker:
            released = Usage(1, current.size)
            over = _first_exceeded(uses, delta - released)
    if over is not None:
        raise S3Error(S3ErrorCode.QUOTA_EXCEEDED, describe(*over))
    return None if declared is not None else byte_allowance(uses, released.bytes)


def quota_capped(source: AsyncIterable[bytes], allowance: int | None) -> AsyncIterable[bytes]:
    """`source`, failing with QuotaExceeded as soon as it brings more than `allowance` bytes
    (None: `source` itself, no cap). The chunk that crosses the line is never passed on."""
    return source if allowance is None else _capped(source, allowance)


async def _capped(source: AsyncIterable[bytes], allowance: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in source:
        size += len(chunk)
        if size > allowance:
            raise S3Error(
                S3ErrorCode.QUOTA_EXCEEDED, f"The upload goes past a quota after {allowance} bytes."
            )
        yield chunk
