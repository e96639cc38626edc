"""Typed models of the S3 XML documents; gateway.xml.codec renders and parses them.

Timestamps are float seconds since the epoch (UTC). ETags are held without quotes and
rendered quoted. Checksums map the upper-case algorithm ("CRC32") to its base64 value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class ListEntry:
    key: str
    last_modified: float
    etag: str
    size: int
    storage_class: str = "STANDARD"
    owner: Owner | None = None
    checksum_algorithm: str | None = None


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


# -- ACLs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessControlPolicy:
    """The canned private ACL: the owner has FULL_CONTROL."""

    owner: Owner


# -- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorDocument:
    code: str
    message: str
    resource: str | None
    request_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
