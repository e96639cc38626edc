"""The MetaStore protocol and its value types: users, keys, buckets, object versions, blobs.

Every implementation (sqlite, postgres) passes tests/contract/test_metastore_contract.py.

How blobs move through the store (DESIGN.md, "Write path"):

    add_pending_blob ──► blob written ──► put_object (one transaction: the version becomes
        │                                 visible, its blobs leave `pending`, the blobs of
        │                                 the version it replaces enter `garbage`)
        └─ upload fails ──► blob deleted ──► drop_pending_blob

    collector: collectable_blobs() -> delete from backend -> forget_blobs()

Timestamps are float seconds since the epoch (UTC). Keys order by their UTF-8 bytes.
Methods that must refuse (bucket exists, not empty, precondition) raise S3Error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

NULL_VERSION = "null"


@dataclass(frozen=True)
class User:
    name: str
    created: float
    is_root: bool = False


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    secret_key: str
    user: str
    created: float
    is_root: bool = False


@dataclass(frozen=True)
class Bucket:
    name: str
    owner: str
    created: float
    region: str = "us-east-1"
    # None: never enabled; "Enabled" or "Suspended" afterwards (it cannot go back to None).
    versioning: str | None = None
    object_lock: bool = False


@dataclass(frozen=True)
class Segment:
    """A slice of an object's bytes held in one blob.

    A single PUT has one segment; a completed multipart upload has one per part, carrying
    the part's number, ETag and checksums for partNumber reads and GetObjectAttributes.
    """

    blob_id: str
    size: int
    part_number: int | None = None
    etag: str | None = None
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectVersion:
    bucket: str
    key: str
    version_id: str
    last_modified: float
    size: int = 0
    # The ETag without quotes: hex MD5, or "<hex>-<N>" for multipart objects.
    etag: str = ""
    is_delete_marker: bool = False
    # Filled in by the store on reads; ignored on writes (a written version becomes latest).
    is_latest: bool = True
    owner: str = ""
    content_type: str | None = None
    # Other stored content headers, lower-case name -> value: cache-control,
    # content-disposition, content-encoding, content-language, expires,
    # x-amz-website-redirect-location.
    headers: Mapping[str, str] = field(default_factory=dict)
    # x-amz-meta-* without the prefix, lower-case name -> value.
    user_meta: Mapping[str, str] = field(default_factory=dict)
    # Algorithm upper-case ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256") -> base64.
    checksums: Mapping[str, str] = field(default_factory=dict)
    checksum_type: str | None = None  # "FULL_OBJECT" or "COMPOSITE"
    segments: tuple[Segment, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    retention_mode: str | None = None  # "GOVERNANCE" or "COMPLIANCE"
    retain_until: float | None = None
    legal_hold: bool = False

    @property
    def parts_count(self) -> int | None:
        """Number of parts for a multipart object, None for a single PUT."""
        if self.segments and self.segments[0].part_number is not None:
            return len(self.segments)
        return None


@dataclass(frozen=True)
class Precondition:
    """Conditions on the current latest version, checked inside the write transaction."""

    if_match: str | None = None  # ETag without quotes
    if_none_match_any: bool = False  # If-None-Match: *


@dataclass(frozen=True)
class DeleteOutcome:
    version_id: str | None  # the version removed, or of the delete marker created
    delete_marker: bool  # a delete marker was created (or the removed version was one)


@dataclass(frozen=True)
class ListPage:
    objects: Sequence[ObjectVersion]
    common_prefixes: Sequence[str]
    is_truncated: bool
    # The last key or common prefix returned; the marker/start-after of the next page.
    next_marker: str | None


class MetaStore(Protocol):
    """Users, keys, buckets and object versions; the one source of truth for what exists."""

    async def open(self) -> None:
        """Connect and apply pending numbered migrations (safe when several start at once)."""
        ...

    async def close(self) -> None: ...

    # -- users and access keys ------------------------------------------------------------
    async def create_user(self, name: str, *, is_root: bool = False, now: float) -> User:
        """Raise KeyError if the user exists."""
        ...

    async def get_user(self, name: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def delete_user(self, name: str) -> bool:
        """Delete the user and its keys; False if there was no such user."""
        ...

    async def create_access_key(
        self, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        """Raise KeyError if the user does not exist."""
        ...

    async def get_access_key(self, access_key: str) -> AccessKey | None: ...

    async def list_access_keys(self, user: str) -> list[AccessKey]: ...

    async def delete_access_key(self, access_key: str) -> bool: ...

    # -- buckets ----------------------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        """Raise S3Error BUCKET_ALREADY_OWNED_BY_YOU (same owner) or BUCKET_ALREADY_EXISTS."""
        ...

    async def get_bucket(self, name: str) -> Bucket | None: ...

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        """Buckets sorted by name; all of them when owner is None."""
        ...

    async def delete_bucket(self, name: str) -> None:
        """Raise S3Error NO_SUCH_BUCKET, or BUCKET_NOT_EMPTY if any version exists."""
        ...

    # -- objects ----------------------------------------------------------------------------
    async def put_object(
        self,
        version: ObjectVersion,
        precondition: Precondition | None = None,
    ) -> ObjectVersion:
        """Make `version` the latest version of its key, atomically.

        Unless the bucket's versioning is "Enabled", the stored version id is "null" and an
        existing "null" version is replaced (its blobs go to garbage); with versioning
        Enabled, `version.version_id` is kept and older versions stay. The version's blobs
        leave `pending` (raise S3Error INTERNAL_ERROR if one is no longer pending: it was
        collected). The precondition is checked against the current latest version (a
        delete marker counts as absent): S3Error PRECONDITION_FAILED, or NO_SUCH_KEY for
        If-Match on a missing key. Raise S3Error NO_SUCH_BUCKET if the bucket is gone.
        Returns the version as stored.
        """
        ...

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        """The latest version (which may be a delete marker) or the given version."""
        ...

    async def delete_object(
        self, bucket: str, key: str, version_id: str | None = None, *, now: float
    ) -> DeleteOutcome:
        """Delete as S3 does for the bucket's versioning state.

        Without version_id: unversioned buckets lose the key's "null" version (blobs to
        garbage); Enabled buckets get a new delete marker; Suspended buckets replace the
        "null" version with a delete marker. With version_id: that version is removed.
        Deleting what does not exist succeeds with version_id None.
        """
        ...

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """Latest non-delete-marker versions with key > start_after, in key order.

        With a delimiter, keys sharing prefix + ... + delimiter roll up into one common
        prefix; the store seeks past each common prefix instead of reading its keys.
        Objects and common prefixes together count against max_keys.
        """
        ...

    # -- blobs ------------------------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str, *, now: float) -> None: ...

    async def drop_pending_blob(self, blob_id: str) -> None:
        """Forget a pending blob whose upload failed and which was deleted."""
        ...

    async def collectable_blobs(
        self, *, garbage_before: float, pending_before: float, limit: int = 1000
    ) -> list[str]:
        """Garbage blobs older than garbage_before and pending blobs older than
        pending_before (uploads that crashed); the collector deletes them."""
        ...

    async def forget_blobs(self, blob_ids: Sequence[str]) -> None:
        """Remove blobs from the pending and garbage lists once deleted from the backend."""
        ...

    async def blob_is_referenced(self, blob_id: str) -> bool:
        """True if some version or upload part uses the blob (for the scrubber)."""
        ...
