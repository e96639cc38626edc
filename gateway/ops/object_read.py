"""GetObject, HeadObject; read_version() also answers the website endpoint's reads."""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.encryption import read_keys, require_sigv4
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.ops.common import find_version
from gateway.readpath import object_body, part_range
from gateway.responses import S3Response
from gateway.s3.headers import parse_range, response_overrides
from gateway.s3.multipart import parse_part_number
from gateway.s3.object_headers import object_headers, part_checksum_headers
from gateway.s3.preconditions import check_preconditions
from gateway.s3.sse import response_headers
from lifecycle.expiry import expiration_headers


def _part_number(ctx: RequestContext) -> int | None:
    raw = ctx.query.get("partNumber")
    if raw is None:
        return None
    # The same rule as UploadPart's (its own check let "²" and 5000-digit values through
    # to int(), a 500).
    number = parse_part_number(raw)
    if "range" in ctx.headers:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST, "Cannot specify both Range header and partNumber"
        )
    return number


async def _read(ctx: RequestContext) -> S3Response:
    return await read_version(ctx, await find_version(ctx))


async def read_version(ctx: RequestContext, version: ObjectVersion) -> S3Response:
    """The answer to GET or HEAD of `version` (the website endpoint's too): its headers,
    the preconditions, Range or partNumber, and the streamed body."""
    keys = await read_keys(ctx.services, version, ctx.headers)
    require_sigv4(ctx, keys.mode)
    check_preconditions(ctx.headers, version.etag, version.last_modified, method=ctx.method)
    overrides = response_overrides(ctx.query)
    if overrides and ctx.principal.anonymous:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Request specific response headers cannot be used for anonymous GET requests.",
        )
    size = version.size
    part_number = _part_number(ctx)
    span: tuple[int, int] | None
    if part_number is not None:
        span = part_range(version, part_number)
    else:
        span = parse_range(ctx.headers.get("range"), size)
    multipart = version.parts_count is not None
    # Part 1 of a single PUT is the whole object.
    whole = span is None or (span == (0, size) and (part_number is None or not multipart))
    # A checksum describes the whole object; sent for a range, clients would fail to
    # validate it. A partNumber read of a multipart object gets that part's checksum.
    checksum_mode = ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    headers = object_headers(
        ctx.target_bucket, version, with_checksums=checksum_mode and whole, overrides=overrides
    )
    headers.update(response_headers(keys.mode, keys.customer, keys.kms))
    if checksum_mode and part_number is not None and multipart:
        headers.update(part_checksum_headers(version, part_number))
    services = ctx.services
    headers.update(
        await expiration_headers(services.lifecycle_rules, services.lifecycle_timing, version)
    )
    start, end = span if span is not None else (0, size)
    status = 200
    if span is not None and (part_number is not None or "range" in ctx.headers):
        status = 206
        if size:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if ctx.method == "HEAD":
        return S3Response(status, headers)
    return S3Response(
        status, headers, object_body(ctx.services.backend, version, start, end, keys.kek)
    )


async def get_object(ctx: RequestContext) -> S3Response:
    return await _read(ctx)


async def head_object(ctx: RequestContext) -> S3Response:
    return await _read(ctx)
