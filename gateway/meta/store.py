"""The MetaStore, once for both databases: each method runs one transaction body.

How this works:

- The bodies (gateway/meta/accounts.py, buckets.py, objects.py, blobs.py, listing.py,
  uploads.py, versions.py) are generators of statements (gateway/meta/sql.py) that know
  nothing of the database running them.
- A `Database` (gateway/meta/sqlite.py, gateway/meta/postgres.py) runs a body in a
  transaction of the right kind: `write` (SQLite BEGIN IMMEDIATE; PostgreSQL READ
  COMMITTED, retried on deadlock), `read` (one consistent read) or `snapshot` (several
  statements on one snapshot: listings). It is handed the body's function and arguments,
  not a started generator, so that PostgreSQL can run the body again after a deadlock.
- SqlMetaStore maps each MetaStore method to one body and one kind of transaction; the
  SQLite and PostgreSQL stores are SqlMetaStore over their Database, plus what only one
  database has (PostgreSQL: leader lock, the Redis cache's roster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ParamSpec, Protocol, TypeVar

from gateway.meta import accounts, blobs, buckets, objects, uploads, versions
from gateway.meta.base import (
    AccessKey,
    Bucket,
    CompletedUpload,
    DeleteOutcome,
    ListPage,
    ObjectVersion,
    Part,
    PartsPage,
    Precondition,
    RemovalCheck,
    RetentionFields,
    Upload,
    UploadsPage,
    User,
    VersionChange,
    VersionsPage,
)
from gateway.meta.listing import ListingStats
from gateway.meta.sql import Dialect, Tx

T = TypeVar("T")
P = ParamSpec("P")


class Database(Protocol):
    """Runs transaction bodies on one database. Each call runs body(*args, **kwargs) in a
    transaction of its own; it may run it more than once (retries), so a body has no
    effects outside the database."""

    dialect: Dialect

    async def open(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None: ...

    async def write(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """One write transaction; busy or deadlocked beyond retries: S3Error SlowDown;
        unreachable: S3Error ServiceUnavailable."""
        ...

    async def read(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """One read-only transaction."""
        ...

    async def snapshot(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """One read-only transaction whose statements all see one snapshot."""
        ...

    def list_latest(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        start_after: str,
        max_keys: int,
        stats: ListingStats,
    ) -> Tx[ListPage]:
        """The ListObjects body this database runs best (PostgreSQL: its skip scan)."""
        ...


class SqlMetaStore:
    """MetaStore (gateway/meta/base.py documents every method) over a Database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # What the last list_objects cost (tests prove the seek past common prefixes).
        self.last_listing = ListingStats()

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    # -- users and access keys ------------------------------------------------------------
    async def create_user(self, name: str, *, is_root: bool = False, now: float) -> User:
        return await self.db.write(accounts.create_user, name, is_root=is_root, now=now)

    async def get_user(self, name: str) -> User | None:
        return await self.db.read(accounts.get_user, name)

    async def list_users(self) -> list[User]:
        return await self.db.read(accounts.list_users)

    async def delete_user(self, name: str) -> bool:
        return await self.db.write(accounts.delete_user, name)

    async def create_access_key(
        self, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        return await self.db.write(
            accounts.create_access_key, user, access_key, secret_key, now=now
        )

    async def get_access_key(self, access_key: str) -> AccessKey | None:
        return await self.db.read(accounts.get_access_key, access_key)

    async def list_access_keys(self, user: str) -> list[AccessKey]:
        return await self.db.read(accounts.list_access_keys, user)

    async def delete_access_key(self, access_key: str) -> bool:
        return await self.db.write(accounts.delete_access_key, access_key)

    # -- buckets ----------------------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        await self.db.write(buckets.create_bucket, bucket)

    async def get_bucket(self, name: str) -> Bucket | None:
        return await self.db.read(buckets.get_bucket, name)

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        return await self.db.read(buckets.list_buckets, owner)

    async def delete_bucket(self, name: str) -> None:
        await self.db.write(buckets.delete_bucket, name)

    async def put_bucket_versioning(self, name: str, status: str) -> None:
        buckets.check_versioning_status(status)  # ValueError before any transaction
        await self.db.write(buckets.put_bucket_versioning, name, status)

    async def enable_object_lock(self, name: str) -> None:
        await self.db.write(buckets.enable_object_lock, name)

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        return await self.db.read(buckets.get_bucket_config, bucket, name)

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        await self.db.write(buckets.put_bucket_config, bucket, name, document)

    # -- objects ----------------------------------------------------------------------------
    async def put_object(
        self, version: ObjectVersion, precondition: Precondition | None = None
    ) -> ObjectVersion:
        return await self.db.write(objects.put_version, version, precondition, claim_pending=True)

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        return await self.db.read(objects.get_object, bucket, key, version_id)

    async def delete_object(
        self, bucket: str, key: str, version_id: str | None = None, *, now: float
    ) -> DeleteOutcome:
        return await self.db.write(objects.delete_object, bucket, key, version_id, now=now)

    async def update_version(
        self, bucket: str, key: str, version_id: str | None, change: VersionChange
    ) -> ObjectVersion | None:
        return await self.db.write(objects.update_version, bucket, key, version_id, change)

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        *,
        now: float,
        check: RemovalCheck | None = None,
    ) -> DeleteOutcome:
        return await self.db.write(
            objects.delete_version, bucket, key, version_id, now=now, check=check
        )

    async def expire_object(
        self, bucket: str, key: str, *, version_id: str, last_modified: float, now: float
    ) -> DeleteOutcome | None:
        return await self.db.write(
            objects.expire_object,
            bucket,
            key,
            version_id=version_id,
            last_modified=last_modified,
            now=now,
        )

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        stats = ListingStats()
        page = await self.db.snapshot(
            self.db.list_latest,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
            stats=stats,
        )
        self.last_listing = stats
        return page

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionsPage:
        return await self.db.snapshot(
            versions.list_object_versions,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

    # -- blobs ------------------------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str, *, now: float) -> None:
        await self.db.write(blobs.add_pending_blob, blob_id, now=now)

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self.db.write(blobs.drop_pending_blob, blob_id)

    async def collectable_blobs(
        self, *, garbage_before: float, pending_before: float, limit: int = 1000
    ) -> list[str]:
        return await self.db.write(
            blobs.collectable_blobs,
            garbage_before=garbage_before,
            pending_before=pending_before,
            limit=limit,
        )

    async def forget_blobs(self, blob_ids: Sequence[str]) -> None:
        await self.db.write(blobs.forget_blobs, blob_ids)

    async def blob_is_referenced(self, blob_id: str) -> bool:
        return await self.db.read(blobs.blob_is_referenced, blob_id)

    async def referenced_blobs(self, after: str = "", limit: int = 1000) -> list[str]:
        return await self.db.read(blobs.referenced_blobs, after, limit)

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        return await self.db.snapshot(blobs.known_blobs, blob_ids)

    # -- multipart uploads ------------------------------------------------------------------
    async def create_upload(self, upload: Upload) -> None:
        await self.db.write(uploads.create_upload, upload)

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload | None:
        return await self.db.read(uploads.get_upload, bucket, key, upload_id)

    async def put_part(self, bucket: str, key: str, upload_id: str, part: Part) -> None:
        await self.db.write(uploads.put_part, bucket, key, upload_id, part)

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartsPage:
        return await self.db.snapshot(
            uploads.list_parts,
            bucket,
            key,
            upload_id,
            part_number_marker=part_number_marker,
            max_parts=max_parts,
        )

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadsPage:
        return await self.db.snapshot(
            uploads.list_uploads,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )

    async def complete_upload(
        self,
        upload_id: str,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        parts_digest: str,
    ) -> ObjectVersion:
        return await self.db.write(
            uploads.complete_upload, upload_id, version, precondition, parts_digest=parts_digest
        )

    async def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload | None:
        return await self.db.read(uploads.get_completed_upload, bucket, key, upload_id)

    async def abort_upload(self, bucket: str, key: str, upload_id: str, *, now: float) -> None:
        await self.db.write(uploads.abort_upload, bucket, key, upload_id, now=now)

    async def put_upload_retention(
        self, bucket: str, key: str, upload_id: str, fields: RetentionFields
    ) -> None:
        await self.db.write(uploads.put_upload_retention, bucket, key, upload_id, fields)

    async def get_upload_retention(self, upload_id: str) -> RetentionFields | None:
        return await self.db.read(uploads.get_upload_retention, upload_id)
