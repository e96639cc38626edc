"""Response headers that describe an object version (GET, HEAD, PUT and copy answers). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.codec.checksums import header_name
from gateway.meta.base import NULL_VERSION, Bucket, ObjectVersion
from gateway.s3.headers import http_date, quote_etag
from gateway.s3.mime_words import encode_value
from gateway.s3.object_lock import lock_headers

_CONTENT_HEADER_NAMES = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
    "x-amz-website-redirect-location": "x-amz-website-redirect-location",
}
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


def version_headers(bucket: Bucket, version_id: str | None) -> dict[str, str]:
    """x-amz-version-id, sent once a bucket has had versioning enabled."""
    if bucket.versioning is None or version_id is None:
        return {}
    return {"x-amz-version-id": version_id or NULL_VERSION}


def written_version_headers(version_id: str | None) -> dict[str, str]:
    """x-amz-version-id on the answer to a write (PUT, POST, Copy, Complete).

    Only a real version id: a write stored as the null version (a bucket that never had
    versioning, or one with versioning Suspended) answers without the header, as the
    PutObject reference's "versioning suspended" example shows; reads of it do say "null".
    """
    if version_id is None or version_id == NULL_VERSION:
        return {}
    return {"x-amz-version-id": version_id}


def checksum_headers(version: ObjectVersion) -> dict[str, str]:
    out = {header_name(algo): value for algo, value in version.checksums.items()}
    if out and version.checksum_type:
        out["x-amz-checksum-type"] = version.checksum_type
    return out


def part_checksum_headers(version: ObjectVersion, part_number: int) -> dict[str, str]:
    """x-amz-checksum-* of one part of a multipart object, for a partNumber read.

    The part's own checksum of the object's algorithm: what a client reading only that
    part can verify (the object's COMPOSITE or FULL_OBJECT value describes all parts).
    """
    for seg in version.segments:
        if seg.part_number == part_number:
            return {header_name(a): v for a, v in seg.checksums.items() if a in version.checksums}
    return {}


def object_headers(
    bucket: Bucket,
    version: ObjectVersion,
    *,
    with_checksums: bool,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Everything but Content-Length/Content-Range, which depend on the range served."""
    headers: dict[str, str] = {
        "ETag": quote_etag(version.etag),
        "Last-Modified": http_date(version.last_modified),
        "Content-Type": version.content_type or DEFAULT_CONTENT_TYPE,
        "Accept-Ranges": "bytes",
    }
    for name, value in version.headers.items():
        headers[_CONTENT_HEADER_NAMES.get(name, name)] = value
    for name, value in version.user_meta.items():
        headers[f"x-amz-meta-{name}"] = encode_value(value)
    if version.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = version.storage_class
    if version.parts_count is not None:
        headers["x-amz-mp-parts-count"] = str(version.parts_count)
    if version.tags:
        headers["x-amz-tagging-count"] = str(len(version.tags))
    headers.update(lock_headers(version))
    headers.update(version_headers(bucket, version.version_id))
    if with_checksums:
        headers.update(checksum_headers(version))
    if overrides:
        headers.update(overrides)
    return headers
