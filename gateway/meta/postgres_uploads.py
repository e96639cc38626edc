"""The multipart half of the PostgreSQL MetaStore: uploads, parts, completions.

PostgresMetaStore inherits PostgresUploads; the semantics are MetaStore's (base.py) and the
transaction bodies follow gateway/meta/sqlite_uploads.py statement for statement, over the
tables of 0002_multipart.postgres.sql. Concurrency, beyond what sqlite's single writer
gives for free:

- put_part, complete_upload and abort_upload lock the upload row FOR UPDATE (after the
  bucket row FOR KEY SHARE, the order every object write takes its locks in), so
  they queue per upload: a part racing an abort or a completion lands before it (and is
  counted: aborted to garbage, or checked against the Complete's list) or finds the
  upload gone (NoSuchUpload). Two parts with one number queue too: the later replaces
  the earlier, whose blob goes to garbage.
- complete_upload then publishes the version through postgres.publish_version, which
  takes the bucket row FOR KEY SHARE and the object key's advisory lock, as put_object.
- list_uploads reuses gateway.meta.upload_listing.walk_uploads, which is synchronous: it
  runs in a worker thread whose `fetch` hands each range query back to the event loop
  (the connection stays owned by this coroutine, used by one query at a time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import asyncpg
from asyncpg import Connection as Conn

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
    upload_params,
)
from gateway.meta.upload_listing import Bound, walk_uploads

T = TypeVar("T")


def _no_such_upload(upload_id: str) -> S3Error:
    return S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


async def _lock_upload(conn: Conn, bucket: str, key: str, upload_id: str) -> None:
    # The bucket row first, as every object write takes it: DeleteBucket (which takes it
    # FOR UPDATE, then deletes the bucket's uploads) never waits on us while we wait on it.
    await conn.execute("SELECT 1 FROM buckets WHERE name = $1 FOR KEY SHARE", bucket)
    found = await conn.fetchval(
        "SELECT 1 FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3 FOR UPDATE",
        upload_id,
        bucket,
        key,
    )
    if found is None:
        raise _no_such_upload(upload_id)


async def _parts_to_garbage(conn: Conn, where: str, *args: Any) -> None:
    """Parts' blobs to garbage, since `since` (the last argument) or when written."""
    await conn.execute(
        f"INSERT INTO garbage_blobs (blob_id, since) SELECT blob_id, {where}"
        " ON CONFLICT (blob_id) DO NOTHING",
        *args,
    )


async def _drop_upload(conn: Conn, upload_id: str) -> None:
    await conn.execute("DELETE FROM upload_parts WHERE upload_id = $1", upload_id)
    await conn.execute("DELETE FROM uploads WHERE upload_id = $1", upload_id)


async def discard_bucket_uploads(conn: Conn, bucket: str) -> None:
    """delete_bucket's share: abort the bucket's uploads, forget its completed ones.

    As in sqlite_uploads: a part's blob goes to garbage since the part was written.
    """
    await _parts_to_garbage(
        conn,
        "p.last_modified FROM uploads u JOIN upload_parts p ON p.upload_id = u.upload_id"
        " WHERE u.bucket = $1",
        bucket,
    )
    await conn.execute(
        "DELETE FROM upload_parts WHERE upload_id IN"
        " (SELECT upload_id FROM uploads WHERE bucket = $1)",
        bucket,
    )
    await conn.execute("DELETE FROM uploads WHERE bucket = $1", bucket)
    await conn.execute("DELETE FROM completed_uploads WHERE bucket = $1", bucket)


async def _put_part(conn: Conn, bucket: str, key: str, upload_id: str, p: Part) -> None:
    await _lock_upload(conn, bucket, key, upload_id)
    gone = await conn.fetchval(
        "DELETE FROM pending_blobs WHERE blob_id = $1 RETURNING TRUE", p.blob_id
    )
    if not gone:
        raise S3Error(S3ErrorCode.INTERNAL_ERROR, f"blob {p.blob_id} is not pending")
    await _parts_to_garbage(
        conn,
        "$3::float8 FROM upload_parts WHERE upload_id = $1 AND part_number = $2",
        upload_id,
        p.number,
        p.last_modified,
    )
    await conn.execute(
        f"INSERT INTO upload_parts (upload_id, {PART_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id,"
        " size = excluded.size, etag = excluded.etag, checksums = excluded.checksums,"
        " last_modified = excluded.last_modified",
        upload_id,
        p.number,
        p.blob_id,
        p.size,
        p.etag,
        dump_map(p.checksums),
        p.last_modified,
    )


async def _list_parts(
    conn: Conn, bucket: str, key: str, upload_id: str, marker: int, limit: int
) -> PartsPage:
    found = await conn.fetchval(
        "SELECT 1 FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3",
        upload_id,
        bucket,
        key,
    )
    if found is None:
        raise _no_such_upload(upload_id)
    if limit <= 0:
        return PartsPage((), False, None)
    rows = await conn.fetch(
        f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_id = $1 AND part_number > $2"
        " ORDER BY part_number LIMIT $3",
        upload_id,
        marker,
        limit + 1,
    )
    parts = [part_from_row(r) for r in rows[:limit]]
    return PartsPage(parts, len(rows) > limit, parts[-1].number if parts else None)


async def _list_uploads(
    conn: Conn,
    bucket: str,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> UploadsPage:
    if await conn.fetchval("SELECT 1 FROM buckets WHERE name = $1", bucket) is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=bucket)
    loop = asyncio.get_running_loop()

    async def query(bound: Bound, upper: str | None, limit: int) -> list[asyncpg.Record]:
        sql = f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE bucket = $1"
        args: list[Any] = [bucket]
        if bound.after_id is not None:
            sql += " AND (key, upload_id) > ($2, $3)"
            args += [bound.key, bound.after_id]
        else:
            sql += " AND key >= $2" if bound.inclusive else " AND key > $2"
            args.append(bound.key)
        if upper is not None:
            args.append(upper)
            sql += f" AND key < ${len(args)}"
        args.append(limit)
        sql += f" ORDER BY key, upload_id LIMIT ${len(args)}"
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows

    def fetch(bound: Bound, upper: str | None, limit: int) -> Iterator[asyncpg.Record]:
        # In the worker thread. Batches double from 2: a walk that seeks after the first
        # row of a range (a common prefix) wastes at most one row.
        batch = 2
        while limit > 0:
            n = min(batch, limit)
            rows = asyncio.run_coroutine_threadsafe(query(bound, upper, n), loop).result()
            yield from rows
            if len(rows) < n:
                return
            limit -= n
            bound = Bound(rows[-1]["key"], inclusive=False, after_id=rows[-1]["upload_id"])
            batch *= 2

    listing = await asyncio.to_thread(
        walk_uploads,
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
        uploads=[upload_from_row(r) for r in listing.rows],
        common_prefixes=listing.common_prefixes,
        is_truncated=listing.is_truncated,
        next_key_marker=listing.next_key_marker,
        next_upload_id_marker=listing.next_upload_id_marker,
    )


Publish = Callable[[Conn, ObjectVersion, Precondition | None], Awaitable[ObjectVersion]]


async def _complete_upload(
    conn: Conn,
    upload_id: str,
    v: ObjectVersion,
    pre: Precondition | None,
    parts_digest: str,
    publish: Publish,
) -> ObjectVersion:
    await _lock_upload(conn, v.bucket, v.key, upload_id)
    current = {
        r["part_number"]: r
        for r in await conn.fetch(
            "SELECT part_number, blob_id, etag FROM upload_parts WHERE upload_id = $1", upload_id
        )
    }
    for seg in v.segments:
        row = current.get(seg.part_number)
        if row is None or (row["blob_id"], row["etag"]) != (seg.blob_id, seg.etag):
            raise S3Error(S3ErrorCode.INVALID_PART, PartNumber=str(seg.part_number))
    stored = await publish(conn, v, pre)
    listed = [seg.blob_id for seg in v.segments]
    await _parts_to_garbage(
        conn,
        "$3::float8 FROM upload_parts WHERE upload_id = $1 AND blob_id <> ALL($2::text[])",
        upload_id,
        listed,
        v.last_modified,
    )
    await _drop_upload(conn, upload_id)
    await conn.execute(
        "INSERT INTO completed_uploads"
        " (upload_id, bucket, key, version_id, etag, parts_digest, completed)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        upload_id,
        v.bucket,
        v.key,
        stored.version_id,
        v.etag,
        parts_digest,
        v.last_modified,
    )
    await conn.execute(
        "DELETE FROM completed_uploads WHERE completed < $1",
        v.last_modified - COMPLETED_UPLOAD_MEMORY,
    )
    return stored


async def _abort_upload(conn: Conn, bucket: str, key: str, upload_id: str, now: float) -> None:
    await _lock_upload(conn, bucket, key, upload_id)
    await _parts_to_garbage(
        conn, "$2::float8 FROM upload_parts WHERE upload_id = $1", upload_id, now
    )
    await _drop_upload(conn, upload_id)


class PostgresUploads:
    """Multipart methods of PostgresMetaStore; the host class supplies the three hooks."""

    async def _run(
        self,
        fn: Callable[[Conn], Awaitable[T]],
        *,
        isolation: str = "read_committed",
        readonly: bool = False,
    ) -> T:
        raise NotImplementedError  # PostgresMetaStore: one transaction, retried on deadlock

    async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def _publish(
        self, conn: Conn, version: ObjectVersion, precondition: Precondition | None
    ) -> ObjectVersion:
        """put_object's transaction body for blobs that are not pending."""
        raise NotImplementedError

    async def create_upload(self, upload: Upload) -> None:
        async def tx(conn: Conn) -> None:
            if (
                await conn.fetchval(
                    "SELECT 1 FROM buckets WHERE name = $1 FOR KEY SHARE", upload.bucket
                )
                is None
            ):
                raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=upload.bucket)
            await conn.execute(
                f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES"
                " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                *upload_params(upload),
            )

        await self._run(tx)

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload | None:
        row = await self._read(
            lambda c: c.fetchrow(
                f"SELECT {UPLOAD_COLUMNS} FROM uploads"
                " WHERE upload_id = $1 AND bucket = $2 AND key = $3",
                upload_id,
                bucket,
                key,
            )
        )
        return None if row is None else upload_from_row(row)

    async def put_part(self, bucket: str, key: str, upload_id: str, part: Part) -> None:
        await self._run(lambda conn: _put_part(conn, bucket, key, upload_id, part))

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartsPage:
        return await self._run(
            lambda conn: _list_parts(conn, bucket, key, upload_id, part_number_marker, max_parts),
            isolation="repeatable_read",
            readonly=True,
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
        return await self._run(
            lambda conn: _list_uploads(
                conn, bucket, prefix, delimiter, key_marker, upload_id_marker, max_uploads
            ),
            isolation="repeatable_read",
            readonly=True,
        )

    async def complete_upload(
        self,
        upload_id: str,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        parts_digest: str,
    ) -> ObjectVersion:
        return await self._run(
            lambda conn: _complete_upload(
                conn, upload_id, version, precondition, parts_digest, self._publish
            )
        )

    async def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload | None:
        row = await self._read(
            lambda c: c.fetchrow(
                "SELECT * FROM completed_uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3",
                upload_id,
                bucket,
                key,
            )
        )
        return None if row is None else completed_from_row(row)

    async def abort_upload(self, bucket: str, key: str, upload_id: str, *, now: float) -> None:
        await self._run(lambda conn: _abort_upload(conn, bucket, key, upload_id, now))
