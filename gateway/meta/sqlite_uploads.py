"""The multipart half of the SQLite MetaStore: uploads, parts, completions.

SqliteMetaStore inherits SqliteUploads, which implements the multipart methods of the
MetaStore protocol (gateway/meta/base.py documents their semantics) over the tables of
migration 0002_multipart.sql. The transaction bodies below run in the store's thread,
inside the transaction SqliteMetaStore._write/_read opens.

Blob bookkeeping: put_part moves the part's blob out of pending_blobs; a replaced part,
an aborted upload's parts and the parts a Complete leaves out go to garbage_blobs; a
completed upload's listed parts move to version_blobs through the same publishing code
as put_object (SqliteMetaStore._publish), so no blob is ever both referenced and
collectable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import TypeVar

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    COMPLETED_UPLOAD_MEMORY,
    CompletedUpload,
    ObjectVersion,
    Part,
    PartsPage,
    Precondition,
    Upload,
    UploadsPage,
)
from gateway.meta.rows import (
    PART_COLUMNS,
    UPLOAD_COLUMNS,
    completed_from_row,
    dump_map,
    part_from_row,
    upload_from_row,
)
from gateway.meta.upload_listing import Bound, walk_uploads

T = TypeVar("T")

# Shared with the PostgreSQL store (gateway/meta/rows.py).
_UPLOAD_COLUMNS = UPLOAD_COLUMNS
_PART_COLUMNS = PART_COLUMNS
_dump = dump_map
_upload_from_row = upload_from_row
_part_from_row = part_from_row
_completed_from_row = completed_from_row


def _no_such_upload(upload_id: str) -> S3Error:
    return S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


def _check_bucket(conn: sqlite3.Connection, bucket: str) -> None:
    if conn.execute("SELECT 1 FROM buckets WHERE name = ?", (bucket,)).fetchone() is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=bucket)


def _check_upload(conn: sqlite3.Connection, bucket: str, key: str, upload_id: str) -> None:
    row = conn.execute(
        "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
        (upload_id, bucket, key),
    ).fetchone()
    if row is None:
        raise _no_such_upload(upload_id)


def _to_garbage(conn: sqlite3.Connection, blob_id: str, since: float) -> None:
    conn.execute(
        "INSERT INTO garbage_blobs (blob_id, since) VALUES (?, ?) ON CONFLICT (blob_id) DO NOTHING",
        (blob_id, since),
    )


def _drop_upload(conn: sqlite3.Connection, upload_id: str) -> None:
    conn.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
    conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))


# -- transaction bodies ------------------------------------------------------------------------


def _create_upload(conn: sqlite3.Connection, u: Upload) -> None:
    _check_bucket(conn, u.bucket)
    conn.execute(
        f"INSERT INTO uploads ({_UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            u.upload_id,
            u.bucket,
            u.key,
            u.initiated,
            u.owner,
            u.content_type,
            _dump(u.headers),
            _dump(u.user_meta),
            u.storage_class,
            u.checksum_algorithm,
            u.checksum_type,
        ),
    )


def _put_part(conn: sqlite3.Connection, bucket: str, key: str, upload_id: str, p: Part) -> None:
    _check_upload(conn, bucket, key, upload_id)
    gone = conn.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (p.blob_id,))
    if gone.rowcount != 1:
        raise S3Error(S3ErrorCode.INTERNAL_ERROR, f"blob {p.blob_id} is not pending")
    old = conn.execute(
        "SELECT blob_id FROM upload_parts WHERE upload_id = ? AND part_number = ?",
        (upload_id, p.number),
    ).fetchone()
    if old is not None:
        _to_garbage(conn, old["blob_id"], p.last_modified)
        conn.execute(
            "DELETE FROM upload_parts WHERE upload_id = ? AND part_number = ?",
            (upload_id, p.number),
        )
    conn.execute(
        f"INSERT INTO upload_parts (upload_id, {_PART_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (upload_id, p.number, p.blob_id, p.size, p.etag, _dump(p.checksums), p.last_modified),
    )


def _list_parts(
    conn: sqlite3.Connection, bucket: str, key: str, upload_id: str, marker: int, limit: int
) -> PartsPage:
    _check_upload(conn, bucket, key, upload_id)
    if limit <= 0:
        return PartsPage((), False, None)
    rows = conn.execute(
        f"SELECT {_PART_COLUMNS} FROM upload_parts WHERE upload_id = ? AND part_number > ?"
        " ORDER BY part_number LIMIT ?",
        (upload_id, marker, limit + 1),
    ).fetchall()
    parts = [_part_from_row(r) for r in rows[:limit]]
    return PartsPage(parts, len(rows) > limit, parts[-1].number if parts else None)


def _list_uploads(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> UploadsPage:
    _check_bucket(conn, bucket)

    def fetch(bound: Bound, upper: str | None, limit: int) -> Iterator[sqlite3.Row]:
        sql = f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE bucket = ?"
        args: list[object] = [bucket]
        if bound.after_id is not None:
            sql += " AND (key, upload_id) > (?, ?)"
            args += [bound.key, bound.after_id]
        else:
            sql += " AND key >= ?" if bound.inclusive else " AND key > ?"
            args.append(bound.key)
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        sql += " ORDER BY key, upload_id LIMIT ?"
        args.append(limit)
        cursor = conn.execute(sql, args)
        try:
            yield from cursor  # stepped lazily: rows past a seek are never read
        finally:
            cursor.close()

    listing = walk_uploads(
        fetch,
        lambda r: str(r["key"]),
        lambda r: str(r["upload_id"]),
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker,
        max_uploads=max_uploads,
    )
    return UploadsPage(
        uploads=[_upload_from_row(r) for r in listing.rows],
        common_prefixes=listing.common_prefixes,
        is_truncated=listing.is_truncated,
        next_key_marker=listing.next_key_marker,
        next_upload_id_marker=listing.next_upload_id_marker,
    )


Publish = Callable[[sqlite3.Connection, ObjectVersion, Precondition | None], ObjectVersion]


def _complete_upload(
    conn: sqlite3.Connection,
    upload_id: str,
    v: ObjectVersion,
    pre: Precondition | None,
    parts_digest: str,
    publish: Publish,
) -> ObjectVersion:
    _check_upload(conn, v.bucket, v.key, upload_id)
    current = {
        r["part_number"]: r
        for r in conn.execute(
            "SELECT part_number, blob_id, etag FROM upload_parts WHERE upload_id = ?",
            (upload_id,),
        )
    }
    for seg in v.segments:
        row = current.get(seg.part_number)
        if row is None or (row["blob_id"], row["etag"]) != (seg.blob_id, seg.etag):
            raise S3Error(S3ErrorCode.INVALID_PART, PartNumber=str(seg.part_number))
    stored = publish(conn, v, pre)
    listed = {seg.blob_id for seg in v.segments}
    for row in current.values():
        if row["blob_id"] not in listed:
            _to_garbage(conn, row["blob_id"], v.last_modified)
    _drop_upload(conn, upload_id)
    conn.execute(
        "INSERT INTO completed_uploads"
        " (upload_id, bucket, key, version_id, etag, parts_digest, completed)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (upload_id, v.bucket, v.key, stored.version_id, v.etag, parts_digest, v.last_modified),
    )
    conn.execute(
        "DELETE FROM completed_uploads WHERE completed < ?",
        (v.last_modified - COMPLETED_UPLOAD_MEMORY,),
    )
    return stored


def _abort_upload(
    conn: sqlite3.Connection, bucket: str, key: str, upload_id: str, now: float
) -> None:
    _check_upload(conn, bucket, key, upload_id)
    for (blob_id,) in conn.execute(
        "SELECT blob_id FROM upload_parts WHERE upload_id = ?", (upload_id,)
    ).fetchall():
        _to_garbage(conn, blob_id, now)
    _drop_upload(conn, upload_id)


def discard_bucket_uploads(conn: sqlite3.Connection, bucket: str) -> None:
    """delete_bucket's share: abort the bucket's uploads, forget its completed ones.

    A part's blob goes to garbage since the part was written: nothing reads parts, so no
    reader needs the grace period's protection.
    """
    for blob_id, written in conn.execute(
        "SELECT p.blob_id, p.last_modified FROM uploads u"
        " JOIN upload_parts p ON p.upload_id = u.upload_id WHERE u.bucket = ?",
        (bucket,),
    ).fetchall():
        _to_garbage(conn, blob_id, written)
    for (upload_id,) in conn.execute(
        "SELECT upload_id FROM uploads WHERE bucket = ?", (bucket,)
    ).fetchall():
        _drop_upload(conn, upload_id)
    conn.execute("DELETE FROM completed_uploads WHERE bucket = ?", (bucket,))


# -- the MetaStore methods ---------------------------------------------------------------------


class SqliteUploads:
    """Multipart methods of SqliteMetaStore; the host class supplies the three hooks."""

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteMetaStore: one BEGIN IMMEDIATE transaction

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # SqliteMetaStore: one deferred (snapshot) transaction

    @staticmethod
    def _publish(
        conn: sqlite3.Connection, version: ObjectVersion, precondition: Precondition | None
    ) -> ObjectVersion:
        """put_object's transaction body for blobs that are not pending."""
        raise NotImplementedError

    async def create_upload(self, upload: Upload) -> None:
        await self._write(lambda conn: _create_upload(conn, upload))

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload | None:
        def q(conn: sqlite3.Connection) -> sqlite3.Row | None:
            row: sqlite3.Row | None = conn.execute(
                f"SELECT {_UPLOAD_COLUMNS} FROM uploads"
                " WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key),
            ).fetchone()
            return row

        row = await self._read(q)
        return None if row is None else _upload_from_row(row)

    async def put_part(self, bucket: str, key: str, upload_id: str, part: Part) -> None:
        await self._write(lambda conn: _put_part(conn, bucket, key, upload_id, part))

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartsPage:
        return await self._read(
            lambda conn: _list_parts(conn, bucket, key, upload_id, part_number_marker, max_parts)
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
        return await self._read(
            lambda conn: _list_uploads(
                conn, bucket, prefix, delimiter, key_marker, upload_id_marker, max_uploads
            )
        )

    async def complete_upload(
        self,
        upload_id: str,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        parts_digest: str,
    ) -> ObjectVersion:
        publish = self._publish
        return await self._write(
            lambda conn: _complete_upload(
                conn, upload_id, version, precondition, parts_digest, publish
            )
        )

    async def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload | None:
        def q(conn: sqlite3.Connection) -> sqlite3.Row | None:
            row: sqlite3.Row | None = conn.execute(
                "SELECT * FROM completed_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key),
            ).fetchone()
            return row

        row = await self._read(q)
        return None if row is None else _completed_from_row(row)

    async def abort_upload(self, bucket: str, key: str, upload_id: str, *, now: float) -> None:
        await self._write(lambda conn: _abort_upload(conn, bucket, key, upload_id, now))
