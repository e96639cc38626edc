"""XML of PutBucketVersioning / GetBucketVersioning and ListObjectVersions, registered with
gateway.xml.codec (importing this module registers them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.s3.headers import iso8601, quote_etag
from gateway.xml.codec import (
    Element,
    _add,
    _bool,
    _encoder,
    _malformed,
    _owner,
    _root,
    _text,
    parses,
    renders,
)
from gateway.xml.models import Owner

# -- Put/GetBucketVersioning: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html

VERSIONING_STATUSES = ("Enabled", "Suspended")


@dataclass(frozen=True)
class VersioningConfiguration:
    """status None: versioning was never enabled (GET renders an empty document)."""

    status: str | None = None
    mfa_delete: str | None = None


@renders(VersioningConfiguration)
def _render_versioning(model: VersioningConfiguration) -> Element:
    root = _root("VersioningConfiguration")
    if model.status is not None:
        _add(root, "Status", model.status)
    if model.mfa_delete is not None:
        _add(root, "MfaDelete", model.mfa_delete)
    return root


@parses(VersioningConfiguration, "VersioningConfiguration")
def _parse_versioning(root: Element) -> VersioningConfiguration:
    status = _text(root, "Status")
    mfa = _text(root, "MfaDelete")
    if status is not None and status not in VERSIONING_STATUSES:
        raise _malformed()
    if mfa is not None and mfa not in ("Enabled", "Disabled"):
        raise _malformed()
    return VersioningConfiguration(status, mfa)


# -- ListObjectVersions: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
# Versions and delete markers are listed in one sequence (key order, newest first), as S3
# interleaves the <Version> and <DeleteMarker> elements. With encoding-type=url, Key,
# Prefix, Delimiter, KeyMarker and NextKeyMarker are URL-encoded.


@dataclass(frozen=True)
class VersionEntry:
    key: str
    version_id: str
    is_latest: bool
    last_modified: float
    is_delete_marker: bool = False
    etag: str = ""
    size: int = 0
    storage_class: str = "STANDARD"
    owner: Owner | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None  # COMPOSITE or FULL_OBJECT, with checksum_algorithm


@dataclass(frozen=True)
class ListVersionsResult:
    name: str
    prefix: str
    key_marker: str
    version_id_marker: str
    max_keys: int
    is_truncated: bool
    entries: tuple[VersionEntry, ...]
    common_prefixes: tuple[str, ...]
    delimiter: str = ""
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    encoding_type: str | None = None


@renders(ListVersionsResult)
def _render_list_versions(model: ListVersionsResult) -> Element:
    encode: Callable[[str], str] = _encoder(model.encoding_type)
    root = _root("ListVersionsResult")
    _add(root, "Name", model.name)
    _add(root, "Prefix", encode(model.prefix))
    _add(root, "KeyMarker", encode(model.key_marker))
    _add(root, "VersionIdMarker", model.version_id_marker)
    if model.next_key_marker is not None:
        _add(root, "NextKeyMarker", encode(model.next_key_marker))
    if model.next_version_id_marker is not None:
        _add(root, "NextVersionIdMarker", model.next_version_id_marker)
    _add(root, "MaxKeys", str(model.max_keys))
    if model.delimiter:
        _add(root, "Delimiter", encode(model.delimiter))
    _add(root, "IsTruncated", _bool(model.is_truncated))
    if model.encoding_type is not None:
        _add(root, "EncodingType", model.encoding_type)
    for entry in model.entries:
        el = _add(root, "DeleteMarker" if entry.is_delete_marker else "Version")
        _add(el, "Key", encode(entry.key))
        _add(el, "VersionId", entry.version_id)
        _add(el, "IsLatest", _bool(entry.is_latest))
        _add(el, "LastModified", iso8601(entry.last_modified))
        if not entry.is_delete_marker:
            _add(el, "ETag", quote_etag(entry.etag))
            if entry.checksum_algorithm is not None:
                _add(el, "ChecksumAlgorithm", entry.checksum_algorithm)
            if entry.checksum_type is not None:
                _add(el, "ChecksumType", entry.checksum_type)
            _add(el, "Size", str(entry.size))
            _add(el, "StorageClass", entry.storage_class)
        if entry.owner is not None:
            _owner(el, entry.owner)
    for prefix in model.common_prefixes:
        _add(_add(root, "CommonPrefixes"), "Prefix", encode(prefix))
    return root
