"""The retention half of the SQLite MetaStore: versions listing, bucket configuration
documents, object lock, tags, and the conditional removals lifecycle and object lock need.

SqliteMetaStore inherits SqliteRetention, which implements those MetaStore methods
(gateway/meta/base.py documents their semantics) over the versions table of 0001 and the
tables of 0003_retention.sql. The host class supplies the hooks: _write/_read (one
transaction in the store's thread) and _delete_in_tx (delete_object's transaction body,
so that a removal guarded here moves blobs to garbage exactly as DeleteObject does).

Every guarded write reads what it guards and acts in one BEGIN IMMEDIATE transaction:
SQLite's single writer makes the check and the change atomic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TypeVar

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
    walk_versions,
)

T = TypeVar("T")

_ROWS = f"SELECT {VERSION_COLUMNS}, seq FROM versions"
_ONE = f"SELECT {VERSION_COLUMNS} FROM versions WHERE bucket = ? AND key = ?"


def _bucket(conn: sqlite3.Connection, name: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT versioning, object_lock FROM buckets WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    return row


def _version(
    conn: sqlite3.Connection, bucket: str, key: str, version_id: str | None
) -> ObjectVersion | None:
    if version_id is None:
        row = conn.execute(_ONE + " AND is_latest", (bucket, key)).fetchone()
    else:
        row = conn.execute(_ONE + " AND version_id = ?", (bucket, key, version_id)).fetchone()
    return None if row is None else version_from_row(row)


def _is_sole(conn: sqlite3.Connection, bucket: str, key: str) -> bool:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM versions WHERE bucket = ? AND key = ? LIMIT 2)",
        (bucket, key),
    ).fetchone()
    return bool(count == 1)


def _versions_in(conn: sqlite3.Connection, bucket: str, seek: VersionSeek) -> Iterator[sqlite3.Row]:
    """The rows `seek` asks for, stepped lazily (see gateway/meta/version_listing.py)."""
    if seek.below_seq is not None:
        cursor = conn.execute(
            _ROWS + " WHERE bucket = ? AND key = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (bucket, seek.key, seek.below_seq, seek.limit),
        )
        try:
            yield from cursor
        finally:
            cursor.close()
    sql = _ROWS + " WHERE bucket = ? AND key " + (">= ?" if seek.inclusive else "> ?")
    args: list[object] = [bucket, seek.key]
    if seek.upper is not None:
        sql += " AND key < ?"
        args.append(seek.upper)
    sql += " ORDER BY key, seq DESC LIMIT ?"
    args.append(seek.limit)
    cursor = conn.execute(sql, args)
    try:
        yield from cursor
    finally:
        cursor.close()


class SqliteRetention:
    """Retention methods of SqliteMetaStore; the host class supplies the three hooks."""

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteMetaStore: one BEGIN IMMEDIATE transaction

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteMetaStore: one deferred (snapshot) transaction

    @staticmethod
    def _delete_in_tx(
        conn: sqlite3.Connection, bucket: str, key: str, version_id: str | None, now: float
    ) -> DeleteOutcome:
        """delete_object's transaction body."""
        raise NotImplementedError

    # -- buckets ------------------------------------------------------------------------------
    async def enable_object_lock(self, name: str) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            row = _bucket(conn, name)
            if row["object_lock"]:
                return
            if row["versioning"] != "Enabled":
                raise S3Error(
                    S3ErrorCode.INVALID_BUCKET_STATE,
                    "Versioning must be 'Enabled' on the bucket to apply a Object Lock"
                    " configuration",
                )
            conn.execute("UPDATE buckets SET object_lock = TRUE WHERE name = ?", (name,))

        await self._write(tx)

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        def q(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT document FROM bucket_configs WHERE bucket = ? AND name = ?",
                (bucket, name),
            ).fetchone()
            return None if row is None else str(row["document"])

        return await self._read(q)

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            _bucket(conn, bucket)
            if document is None:
                conn.execute(
                    "DELETE FROM bucket_configs WHERE bucket = ? AND name = ?", (bucket, name)
                )
                return
            conn.execute(
                "INSERT INTO bucket_configs (bucket, name, document) VALUES (?, ?, ?)"
                " ON CONFLICT (bucket, name) DO UPDATE SET document = excluded.document",
                (bucket, name, document),
            )

        await self._write(tx)

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
        def q(conn: sqlite3.Connection) -> VersionsPage:
            _bucket(conn, bucket)
            marker_seq = None
            if key_marker and version_id_marker:
                row = conn.execute(
                    "SELECT seq FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
                    (bucket, key_marker, version_id_marker),
                ).fetchone()
                marker_seq = None if row is None else int(row["seq"])
            steps: VersionSteps[sqlite3.Row] = version_listing_steps(
                lambda r: str(r["key"]),
                lambda r: str(r["version_id"]),
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                marker_seq=marker_seq,
                max_keys=max_keys,
            )
            listing = walk_versions(lambda seek: _versions_in(conn, bucket, seek), steps)
            return VersionsPage(
                versions=[version_from_row(r) for r in listing.rows],
                common_prefixes=listing.common_prefixes,
                is_truncated=listing.is_truncated,
                next_key_marker=listing.next_key_marker,
                next_version_id_marker=listing.next_version_id_marker,
            )

        return await self._read(q)

    async def update_version(
        self, bucket: str, key: str, version_id: str | None, change: VersionChange
    ) -> ObjectVersion | None:
        def tx(conn: sqlite3.Connection) -> ObjectVersion | None:
            current = _version(conn, bucket, key, version_id)
            if current is None:
                return None
            new = change(current)
            conn.execute(
                "UPDATE versions SET tags = ?, retention_mode = ?, retain_until = ?,"
                " legal_hold = ? WHERE bucket = ? AND key = ? AND version_id = ?",
                (
                    dump_map(new.tags),
                    new.retention_mode,
                    new.retain_until,
                    new.legal_hold,
                    bucket,
                    key,
                    current.version_id,
                ),
            )
            return replace(
                current,
                tags=dict(new.tags),
                retention_mode=new.retention_mode,
                retain_until=new.retain_until,
                legal_hold=new.legal_hold,
            )

        return await self._write(tx)

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        *,
        now: float,
        check: RemovalCheck | None = None,
    ) -> DeleteOutcome:
        def tx(conn: sqlite3.Connection) -> DeleteOutcome:
            version = _version(conn, bucket, key, version_id)
            if version is not None and check is not None:
                check(version, sole=_is_sole(conn, bucket, key))
            return self._delete_in_tx(conn, bucket, key, version_id, now)

        return await self._write(tx)

    async def expire_object(
        self, bucket: str, key: str, *, version_id: str, last_modified: float, now: float
    ) -> DeleteOutcome | None:
        def tx(conn: sqlite3.Connection) -> DeleteOutcome | None:
            latest = _version(conn, bucket, key, None)
            if (
                latest is None
                or latest.is_delete_marker
                or latest.version_id != version_id
                or latest.last_modified != last_modified
            ):
                return None
            return self._delete_in_tx(conn, bucket, key, None, now)

        return await self._write(tx)

    # -- uploads ------------------------------------------------------------------------------
    async def put_upload_retention(
        self, bucket: str, key: str, upload_id: str, fields: RetentionFields
    ) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key),
            ).fetchone()
            if found is None:
                raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)
            conn.execute(
                "INSERT INTO upload_retention"
                " (upload_id, tags, retention_mode, retain_until, legal_hold)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (upload_id) DO UPDATE SET"
                " tags = excluded.tags, retention_mode = excluded.retention_mode,"
                " retain_until = excluded.retain_until, legal_hold = excluded.legal_hold",
                (
                    upload_id,
                    dump_map(fields.tags),
                    fields.retention_mode,
                    fields.retain_until,
                    fields.legal_hold,
                ),
            )

        await self._write(tx)

    async def get_upload_retention(self, upload_id: str) -> RetentionFields | None:
        def q(conn: sqlite3.Connection) -> RetentionFields | None:
            row = conn.execute(
                "SELECT * FROM upload_retention WHERE upload_id = ?", (upload_id,)
            ).fetchone()
            if row is None:
                return None
            return RetentionFields(
                tags=load_map(row["tags"]),
                retention_mode=row["retention_mode"],
                retain_until=row["retain_until"],
                legal_hold=bool(row["legal_hold"]),
            )

        return await self._read(q)
