"""GetObjectAttributes: an object's ETag, checksum, parts, storage class and size, no body.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html: the
attributes to return are named in x-amz-object-attributes; ObjectParts (multipart
objects only) pages with x-amz-max-parts and x-amz-part-number-marker.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.ops.common import find_version
from gateway.responses import S3Response
from gateway.s3.headers import http_date
from gateway.s3.multipart import parse_count, parse_part_marker
from gateway.s3.object_headers import version_headers
from gateway.xml.codec import render
from gateway.xml.models import GetObjectAttributesResponse, ObjectPartEntry, ObjectParts

ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


def requested_attributes(headers: Mapping[str, str]) -> frozenset[str]:
    raw = headers.get("x-amz-object-attributes")
    names = frozenset(n.strip() for n in (raw or "").split(",") if n.strip())
    if not names:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Missing required header for this request: x-amz-object-attributes",
        )
    if names - ATTRIBUTES:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Invalid attribute name specified.",
            ArgumentName="x-amz-object-attributes",
            ArgumentValue=raw or "",
        )
    return names


def object_parts(version: ObjectVersion, marker: int, max_parts: int) -> ObjectParts | None:
    """One page of a multipart object's parts; None for a single PUT (S3 lists none)."""
    if version.parts_count is None:
        return None
    after = [s for s in version.segments if (s.part_number or 0) > marker]
    page = after[:max_parts]
    return ObjectParts(
        parts_count=version.parts_count,
        part_number_marker=marker,
        next_part_number_marker=page[-1].part_number if page else None,
        max_parts=max_parts,
        is_truncated=len(after) > max_parts,
        parts=tuple(
            ObjectPartEntry(
                part_number=s.part_number or 0,
                size=s.size,
                # Part checksums of the object's algorithm (a part may hold another one).
                checksums={a: v for a, v in s.checksums.items() if a in version.checksums},
            )
            for s in page
        ),
    )


async def get_object_attributes(ctx: RequestContext) -> S3Response:
    headers = ctx.headers
    version = await find_version(ctx)
    wanted = requested_attributes(headers)
    max_parts = parse_count(headers.get("x-amz-max-parts"), "x-amz-max-parts")
    marker = parse_part_marker(headers.get("x-amz-part-number-marker"), "x-amz-part-number-marker")
    result = GetObjectAttributesResponse(
        etag=version.etag if "ETag" in wanted else None,
        checksums=dict(version.checksums) if "Checksum" in wanted else None,
        checksum_type=version.checksum_type,
        object_parts=object_parts(version, marker, max_parts) if "ObjectParts" in wanted else None,
        storage_class=version.storage_class if "StorageClass" in wanted else None,
        object_size=version.size if "ObjectSize" in wanted else None,
    )
    out = {"Last-Modified": http_date(version.last_modified)}
    out.update(version_headers(ctx.target_bucket, version.version_id))
    return S3Response.xml(render(result), headers=out)
