"""XML of PutBucketVersioning / GetBucketVersioning and ListObjectVersions, registered with
gateway.xml.codec (importing this module registers them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.s3.headers import iso8601
from gateway.xml.codec import Element, _add, _malformed, _root, _text, parses, renders, writes
from gateway.xml.listing import (
    OwnerWriter,
    boolean,
    common_prefixes,
    document,
    element,
    escape,
    key_writer,
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


@writes(ListVersionsResult)
def _write_list_versions(model: ListVersionsResult) -> bytes:
    # Written as bytes, as ListObjects is (gateway/xml/listing.py explains why).
    encode = key_writer(model.encoding_type)
    head = [element("Name", model.name), f"<Prefix>{encode(model.prefix)}</Prefix>"]
    head.append(f"<KeyMarker>{encode(model.key_marker)}</KeyMarker>")
    head.append(element("VersionIdMarker", model.version_id_marker))
    if model.next_key_marker is not None:
        head.append(f"<NextKeyMarker>{encode(model.next_key_marker)}</NextKeyMarker>")
    if model.next_version_id_marker is not None:
        head.append(element("NextVersionIdMarker", model.next_version_id_marker))
    head.append(f"<MaxKeys>{model.max_keys}</MaxKeys>")
    if model.delimiter:
        head.append(f"<Delimiter>{encode(model.delimiter)}</Delimiter>")
    head.append(f"<IsTruncated>{boolean(model.is_truncated)}</IsTruncated>")
    if model.encoding_type is not None:
        head.append(element("EncodingType", model.encoding_type))
    return document(
        "ListVersionsResult",
        (
            *head,
            *_entries(model.entries, encode),
            common_prefixes(model.common_prefixes, encode),
        ),
    )


def _entries(entries: Iterable[VersionEntry], encode: Callable[[str], str]) -> Iterable[str]:
    owner = OwnerWriter()
    for e in entries:
        name = "DeleteMarker" if e.is_delete_marker else "Version"
        head = (
            f"<{name}><Key>{encode(e.key)}</Key>{element('VersionId', e.version_id)}"
            f"<IsLatest>{boolean(e.is_latest)}</IsLatest>"
            f"<LastModified>{iso8601(e.last_modified)}</LastModified>"
        )
        body = ""
        if not e.is_delete_marker:
            body = f'<ETag>"{escape(e.etag)}"</ETag>'
            if e.checksum_algorithm is not None:
                body += element("ChecksumAlgorithm", e.checksum_algorithm)
            if e.checksum_type is not None:
                body += element("ChecksumType", e.checksum_type)
            body += f"<Size>{e.size}</Size>{element('StorageClass', e.storage_class)}"
        yield f"{head}{body}{'' if e.owner is None else owner(e.owner)}</{name}>"
