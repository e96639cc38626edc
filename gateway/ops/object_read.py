"""GetObject, HeadObject, GetObjectAcl."""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.headers import check_preconditions, parse_range, response_overrides
from gateway.meta.base import ObjectVersion
from gateway.object_headers import object_headers, part_checksum_headers
from gateway.ops.service import owner_of
from gateway.readpath import object_body, part_range
from gateway.response import S3Response
from gateway.retention import expiration_headers
from gateway.xml.codec import render
from gateway.xml.models import AccessControlPolicy


async def find_version(ctx: RequestContext, version_id: str | None = None) -> ObjectVersion:
    """The addressed version; NoSuchKey / NoSuchVersion / delete-marker answers as S3 gives."""
    bucket, key = ctx.target_bucket, ctx.target_key
    version_id = version_id if version_id is not None else ctx.query.get("versionId")
    version = await ctx.services.meta.get_object(bucket.name, key, version_id)
    if version is None:
        if version_id is not None:
            raise S3Error(S3ErrorCode.NO_SUCH_VERSION, Key=key, VersionId=version_id)
        raise S3Error(S3ErrorCode.NO_SUCH_KEY, Key=key)
    if version.is_delete_marker:
        marker_headers = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id}
        if version_id is not None:
            raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, headers=marker_headers)
        raise S3Error(S3ErrorCode.NO_SUCH_KEY, headers=marker_headers, Key=key)
    return version


def _part_number(ctx: RequestContext) -> int | None:
    raw = ctx.query.get("partNumber")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw,
        )
    if "range" in ctx.headers:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST, "Cannot specify both Range header and partNumber"
        )
    return int(raw)


async def _read(ctx: RequestContext) -> S3Response:
    version = await find_version(ctx)
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
    if checksum_mode and part_number is not None and multipart:
        headers.update(part_checksum_headers(version, part_number))
    headers.update(await expiration_headers(ctx.services, version))
    start, end = span if span is not None else (0, size)
    status = 200
    if span is not None and (part_number is not None or "range" in ctx.headers):
        status = 206
        if size:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if ctx.method == "HEAD":
        return S3Response(status, headers)
    return S3Response(status, headers, object_body(ctx.services.backend, version, start, end))


async def get_object(ctx: RequestContext) -> S3Response:
    return await _read(ctx)


async def head_object(ctx: RequestContext) -> S3Response:
    return await _read(ctx)


async def get_object_acl(ctx: RequestContext) -> S3Response:
    version = await find_version(ctx)
    return S3Response.xml(render(AccessControlPolicy(owner_of(version.owner))))
