"""The retention half of the PostgreSQL MetaStore: versions listing, bucket configuration
documents, object lock, tags, and the conditional removals lifecycle and object lock need.

PostgresMetaStore inherits PostgresRetention; the semantics are MetaStore's (base.py) and
the transaction bodies follow gateway/meta/sqlite_retention.py. Concurrency, beyond what
SQLite's single writer gives for free:

- Every write that reads a version and then changes or removes it first takes the locks
  every object write takes, in the same order (_lock_object: the bucket row FOR KEY SHARE,
  then the key's advisory lock), so it serializes with PUTs and DELETEs of that key: a
  legal hold set by one request and a DeleteObject(versionId) by another are ordered, and
  the removal sees the hold or the hold finds the version gone.
- Removals then run delete_object's own body (_delete_in_tx), which takes the same locks
  again (advisory transaction locks stack; FOR KEY SHARE is re-entrant).
- enable_object_lock and put_bucket_versioning update the bucket row with a condition on
  the other's column, so a racing suspend and lock enable cannot both win.
- list_object_versions runs in one REPEATABLE READ READ ONLY transaction; each seek is a
  server-side cursor read in batches, so rows past a seek point cost at most one batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

import asyncpg
from asyncpg import Connection as Conn

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    DeleteOutcome,
    ObjectVersion,
    RemovalCheck,
    RetentionFields,
    VersionChange,
    VersionsPage,
)
from gateway.meta.rows import VERSION_COLUMNS, dump_map, load_map, version_from_row
from gateway.meta.version_listing import (
    VersionSeek,
    VersionSteps,
    version_listing_steps,
    walk_versions_async,
)

T = TypeVar("T")

_ROWS = f"SELECT {VERSION_COLUMNS}, seq FROM versions"
_ONE = f"SELECT {VERSION_COLUMNS} FROM versions WHERE bucket = $1 AND key = $2"
# Rows a delimiter walk may abandon at once (a key that rolls up): read them few at a time.
_SEEK_BATCH = 16


async def _version(
    conn: Conn, bucket: str, key: str, version_id: str | None
) -> ObjectVersion | None:
    if version_id is None:
        row = await conn.fetchrow(_ONE + " AND is_latest", bucket, key)
    else:
        row = await conn.fetchrow(_ONE + " AND version_id = $3", bucket, key, version_id)
    return None if row is None else version_from_row(row)


async def _versions_in(
    conn: Conn, bucket: str, seek: VersionSeek, batch: int
) -> AsyncIterator[asyncpg.Record]:
    prefetch = max(1, min(seek.limit, batch))
    if seek.below_seq is not None:
        async for row in conn.cursor(
            _ROWS + " WHERE bucket = $1 AND key = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4",
            bucket,
            seek.key,
            seek.below_seq,
            seek.limit,
            prefetch=prefetch,
        ):
            yield row
    sql = _ROWS + " WHERE bucket = $1 AND key " + (">= $2" if seek.inclusive else "> $2")
    args: list[object] = [bucket, seek.key]
    if seek.upper is not None:
        sql += " AND key < $3"
        args.append(seek.upper)
    sql += f" ORDER BY key, seq DESC LIMIT ${len(args) + 1}"
    args.append(seek.limit)
    async for row in conn.cursor(sql, *args, prefetch=prefetch):
        yield row


class PostgresRetention:
    """Retention methods of PostgresMetaStore; the host class supplies the hooks."""

    async def _run(
        self,
        fn: Callable[[Conn], Awaitable[T]],
        *,
        isolation: str = "read_committed",
        readonly: bool = False,
    ) -> T:
        raise NotImplementedError  # PostgresMetaStore: one transaction, retried on conflicts

    async def _lock_object(self, conn: Conn, bucket: str, key: str) -> None:
        """The locks an object write takes: the bucket row FOR KEY SHARE (NoSuchBucket if
        gone), then the key's advisory lock."""
        raise NotImplementedError

    async def _delete_in_tx(
        self, conn: Conn, bucket: str, key: str, version_id: str | None, now: float
    ) -> DeleteOutcome:
        """delete_object's transaction body."""
        raise NotImplementedError

    # -- buckets ------------------------------------------------------------------------------
    async def enable_object_lock(self, name: str) -> None:
        async def tx(conn: Conn) -> None:
            row = await conn.fetchrow(
                "UPDATE buckets SET object_lock = TRUE"
                " WHERE name = $1 AND (versioning = 'Enabled' OR object_lock) RETURNING TRUE",
                name,
            )
            if row is not None:
                return
            if await conn.fetchval("SELECT 1 FROM buckets WHERE name = $1", name) is None:
                raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
            raise S3Error(
                S3ErrorCode.INVALID_BUCKET_STATE,
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
            )

        await self._run(tx)

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        document = await self._run(
            lambda c: c.fetchval(
                "SELECT document FROM bucket_configs WHERE bucket = $1 AND name = $2",
                bucket,
                name,
            ),
            readonly=True,
        )
        return None if document is None else str(document)

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        async def tx(conn: Conn) -> None:
            # FOR KEY SHARE: a DeleteBucket waits for us, then cascades our row away.
            found = await conn.fetchval(
                "SELECT 1 FROM buckets WHERE name = $1 FOR KEY SHARE", bucket
            )
            if found is None:
                raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=bucket)
            if document is None:
                await conn.execute(
                    "DELETE FROM bucket_configs WHERE bucket = $1 AND name = $2", bucket, name
                )
                return
            await conn.execute(
                "INSERT INTO bucket_configs (bucket, name, document) VALUES ($1, $2, $3)"
                " ON CONFLICT (bucket, name) DO UPDATE SET document = excluded.document",
                bucket,
                name,
                document,
            )

        await self._run(tx)

    # -- versions -----------------------------------------------------------------------------
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
        async def q(conn: Conn) -> VersionsPage:
            if await conn.fetchval("SELECT 1 FROM buckets WHERE name = $1", bucket) is None:
                raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=bucket)
            marker_seq = None
            if key_marker and version_id_marker:
                marker_seq = await conn.fetchval(
                    "SELECT seq FROM versions WHERE bucket = $1 AND key = $2 AND version_id = $3",
                    bucket,
                    key_marker,
                    version_id_marker,
                )
            steps: VersionSteps[asyncpg.Record] = version_listing_steps(
                lambda r: str(r["key"]),
                lambda r: str(r["version_id"]),
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                marker_seq=marker_seq,
                max_keys=max_keys,
            )
            batch = _SEEK_BATCH if delimiter else max_keys + 1
            listing = await walk_versions_async(
                lambda seek: _versions_in(conn, bucket, seek, batch), steps
            )
            return VersionsPage(
                versions=[version_from_row(r) for r in listing.rows],
                common_prefixes=listing.common_prefixes,
                is_truncated=listing.is_truncated,
                next_key_marker=listing.next_key_marker,
                next_version_id_marker=listing.next_version_id_marker,
            )

        return await self._run(q, isolation="repeatable_read", readonly=True)

    async def update_version(
        self, bucket: str, key: str, version_id: str | None, change: VersionChange
    ) -> ObjectVersion | None:
        async def tx(conn: Conn) -> ObjectVersion | None:
            await self._lock_object(conn, bucket, key)
            current = await _version(conn, bucket, key, version_id)
            if current is None:
                return None
            new = change(current)
            await conn.execute(
                "UPDATE versions SET tags = $4, retention_mode = $5, retain_until = $6,"
                " legal_hold = $7 WHERE bucket = $1 AND key = $2 AND version_id = $3",
                bucket,
                key,
                current.version_id,
                dump_map(new.tags),
                new.retention_mode,
                new.retain_until,
                new.legal_hold,
            )
            return replace(
                current,
                tags=dict(new.tags),
                retention_mode=new.retention_mode,
                retain_until=new.retain_until,
                legal_hold=new.legal_hold,
            )

        return await self._run(tx)

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        *,
        now: float,
        check: RemovalCheck | None = None,
    ) -> DeleteOutcome:
        async def tx(conn: Conn) -> DeleteOutcome:
            await self._lock_object(conn, bucket, key)
            version = await _version(conn, bucket, key, version_id)
            if version is not None and check is not None:
                count = await conn.fetchval(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM versions"
                    " WHERE bucket = $1 AND key = $2 LIMIT 2) s",
                    bucket,
                    key,
                )
                check(version, sole=count == 1)
            return await self._delete_in_tx(conn, bucket, key, version_id, now)

        return await self._run(tx)

    async def expire_object(
        self, bucket: str, key: str, *, version_id: str, last_modified: float, now: float
    ) -> DeleteOutcome | None:
        async def tx(conn: Conn) -> DeleteOutcome | None:
            await self._lock_object(conn, bucket, key)
            latest = await _version(conn, bucket, key, None)
            if (
                latest is None
                or latest.is_delete_marker
                or latest.version_id != version_id
                or latest.last_modified != last_modified
            ):
                return None
            return await self._delete_in_tx(conn, bucket, key, None, now)

        return await self._run(tx)

    # -- uploads ------------------------------------------------------------------------------
    async def put_upload_retention(
        self, bucket: str, key: str, upload_id: str, fields: RetentionFields
    ) -> None:
        async def tx(conn: Conn) -> None:
            found = await conn.fetchval(
                "SELECT 1 FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3"
                " FOR UPDATE",
                upload_id,
                bucket,
                key,
            )
            if found is None:
                raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)
            await conn.execute(
                "INSERT INTO upload_retention"
                " (upload_id, tags, retention_mode, retain_until, legal_hold)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (upload_id) DO UPDATE SET"
                " tags = excluded.tags, retention_mode = excluded.retention_mode,"
                " retain_until = excluded.retain_until, legal_hold = excluded.legal_hold",
                upload_id,
                dump_map(fields.tags),
                fields.retention_mode,
                fields.retain_until,
                fields.legal_hold,
            )

        await self._run(tx)

    async def get_upload_retention(self, upload_id: str) -> RetentionFields | None:
        row = await self._run(
            lambda c: c.fetchrow("SELECT * FROM upload_retention WHERE upload_id = $1", upload_id),
            readonly=True,
        )
        if row is None:
            return None
        return RetentionFields(
            tags=load_map(row["tags"]),
            retention_mode=row["retention_mode"],
            retain_until=row["retain_until"],
            legal_hold=bool(row["legal_hold"]),
        )
