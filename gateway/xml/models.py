"""Typed models of the S3 XML documents; gateway.xml.codec renders and parses them.

Timestamps are float seconds since the epoch (UTC). ETags are held without quotes and
rendered quoted. Checksums map the upper-case algorithm ("CRC32") to its base64 value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_DELETE_OBJECTS = 1000


@dataclass(frozen=True)
class Owner:
    id: str
    display_name: str


# -- ListBuckets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketEntry:
    name: str
    created: float
    region: str = "us-east-1"


@dataclass(frozen=True)
class ListAllMyBucketsResult:
    owner: Owner
    buckets: tuple[BucketEntry, ...]
    continuation_token: str | None = None  # the next page's, when there is one
    prefix: str | None = None  # the request's prefix, echoed


# -- CreateBucket / GetBucketLocation -------------------------------------------------------


@dataclass(frozen=True)
class CreateBucketConfiguration:
    location_constraint: str | None


@dataclass(frozen=True)
class LocationConstraint:
    """GetBucketLocation answer; us-east-1 renders as an empty element."""

    region: str


# -- DeleteObjects --------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectIdentifier:
    key: str
    version_id: str | None = None
    # Conditional delete of this entry, as sent (gateway.s3.preconditions.delete_condition).
    etag: str | None = None
    last_modified_time: str | None = None  # ISO 8601
    size: str | None = None


@dataclass(frozen=True)
class Delete:
    """The DeleteObjects request body (at most MAX_DELETE_OBJECTS objects)."""

    objects: tuple[ObjectIdentifier, ...]
    quiet: bool = False


@dataclass(frozen=True)
class DeletedEntry:
    key: str
    version_id: str | None = None
    delete_marker: bool = False
    delete_marker_version_id: str | None = None


@dataclass(frozen=True)
class DeleteErrorEntry:
    key: str
    code: str
    message: str
    version_id: str | None = None


@dataclass(frozen=True)
class DeleteResult:
    deleted: tuple[DeletedEntry, ...]
    errors: tuple[DeleteErrorEntry, ...]


# -- CopyObject -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyObjectResult:
    etag: str
    last_modified: float
    checksums: Mapping[str, str] = field(default_factory=dict)


# -- ListObjects / ListObjectsV2 ------------------------------------------------------------


class ListEntry(NamedTuple):
    """One <Contents> of a listing. A NamedTuple: a page builds 1,000 of them, and a tuple
    is built in a third of the time of a frozen dataclass."""

    key: str
    last_modified: float
    etag: str
    size: int
    storage_class: str = "STANDARD"
    owner: Owner | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None  # COMPOSITE or FULL_OBJECT, with checksum_algorithm


@dataclass(frozen=True)
class ListBucketResult:
    """ListObjects (v1). NextMarker is rendered only with a delimiter on a truncated page."""

    name: str
    prefix: str
    delimiter: str
    max_keys: int
    is_truncated: bool
    contents: tuple[ListEntry, ...]
    common_prefixes: tuple[str, ...]
    marker: str = ""
    next_marker: str | None = None
    encoding_type: str | None = None


@dataclass(frozen=True)
class ListBucketV2Result:
    name: str
    prefix: str
    delimiter: str
    max_keys: int
    is_truncated: bool
    contents: tuple[ListEntry, ...]
    common_prefixes: tuple[str, ...]
    key_count: int
    continuation_token: str | None = None
    next_continuation_token: str | None = None
    start_after: str | None = None
    encoding_type: str | None = None


# -- multipart uploads ----------------------------------------------------------------------


@dataclass(frozen=True)
class InitiateMultipartUploadResult:
    bucket: str
    key: str
    upload_id: str


@dataclass(frozen=True)
class CompletedPart:
    part_number: int
    etag: str
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompleteMultipartUpload:
    """The CompleteMultipartUpload request body: at least one part, in the order sent."""

    parts: tuple[CompletedPart, ...]


@dataclass(frozen=True)
class CompleteMultipartUploadResult:
    location: str
    bucket: str
    key: str
    etag: str
    checksums: Mapping[str, str] = field(default_factory=dict)
    checksum_type: str | None = None


@dataclass(frozen=True)
class CopyPartResult:
    etag: str
    last_modified: float
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartEntry:
    part_number: int
    last_modified: float
    etag: str
    size: int
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListPartsResult:
    bucket: str
    key: str
    upload_id: str
    part_number_marker: int
    next_part_number_marker: int | None
    max_parts: int
    is_truncated: bool
    parts: tuple[PartEntry, ...]
    initiator: Owner
    owner: Owner
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class UploadEntry:
    key: str
    upload_id: str
    initiator: Owner
    owner: Owner
    initiated: float
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class ListMultipartUploadsResult:
    """With encoding_type "url", keys, prefixes, the delimiter and key markers are encoded."""

    bucket: str
    key_marker: str
    upload_id_marker: str
    next_key_marker: str | None
    next_upload_id_marker: str | None
    prefix: str
    delimiter: str
    max_uploads: int
    is_truncated: bool
    uploads: tuple[UploadEntry, ...]
    common_prefixes: tuple[str, ...]
    encoding_type: str | None = None


# -- GetObjectAttributes --------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectPartEntry:
    part_number: int
    size: int
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectParts:
    parts_count: int
    part_number_marker: int
    next_part_number_marker: int | None
    max_parts: int
    is_truncated: bool
    parts: tuple[ObjectPartEntry, ...]


@dataclass(frozen=True)
class GetObjectAttributesResponse:
    """Only the attributes asked for are set; None ones are not rendered."""

    etag: str | None = None
    checksums: Mapping[str, str] | None = None
    checksum_type: str | None = None
    object_parts: ObjectParts | None = None
    storage_class: str | None = None
    object_size: int | None = None


# -- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorDocument:
    code: str
    message: str
    resource: str | None
    request_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
