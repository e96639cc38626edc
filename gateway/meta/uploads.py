"""Multipart uploads as transaction bodies, for SQLite and PostgreSQL alike.

The MetaStore multipart methods (gateway/meta/base.py documents their semantics) over the
tables of migrations 0002_multipart and 0003_retention (upload_retention), each written
once as a gateway.meta.sql body; gateway.meta.store runs them.

Blob bookkeeping: put_part moves the part's blob out of pending_blobs; a replaced part, an
aborted upload's parts and the parts a Complete leaves out go to garbage_blobs; a
completed upload's listed parts move to version_blobs through put_object's own body
(objects.put_version), so no blob is ever both referenced and collectable.

Concurrency (PostgreSQL; SQLite's single writer gives all of it for free):

- put_part, complete_upload, abort_upload and put_upload_retention lock the upload row
  FOR UPDATE, after the bucket row FOR KEY SHARE (the order every object write takes its
  locks in, so DeleteBucket, which takes the bucket row FOR UPDATE and then deletes the
  bucket's uploads, never waits on us while we wait on it). So they queue per upload: a
  part racing an abort or a completion lands before it (and is counted: aborted to
  garbage, or checked against the Complete's list) or finds the upload gone
  (NoSuchUpload). Two parts with one number queue too: the one whose request began
  later (Part.last_modified) is kept, the other one's blob goes to garbage, whichever
  committed first.
- complete_upload then publishes the version through objects.put_version, which takes
  the bucket row FOR KEY SHARE (again: it is re-entrant) and the object key's advisory
  lock, as put_object does.
- create_upload holds the bucket row FOR KEY SHARE, so a racing DeleteBucket either runs
  first (NoSuchBucket) or waits and then discards the new upload.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from events.records import EventIntent
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta import objects
from gateway.meta.base import (
    COMPLETED_UPLOAD_MEMORY,
    CompletedUpload,
    ObjectVersion,
    Part,
    PartsPage,
    Precondition,
    RetentionFields,
    Upload,
    UploadsPage,
)
from gateway.meta.blobs import claim_pending, to_garbage
from gateway.meta.ranges import feed
from gateway.meta.rows import (
    PART_COLUMNS,
    UPLOAD_COLUMNS,
    completed_from_row,
    dump_codec,
    dump_map,
    load_map,
    part_from_row,
    require_bucket,
    upload_from_row,
    upload_params,
)
from gateway.meta.sql import Tx, execute, marks, one, rows, value
from gateway.meta.upload_listing import UploadSeek, UploadSteps, upload_listing_steps

_UPLOAD = "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?"


def _upload(bucket: str, key: str, upload_id: str) -> Tx[None]:
    """NoSuchUpload unless the upload is in progress (a read: no lock)."""
    if (yield from value(_UPLOAD, upload_id, bucket, key)) is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


def lock_upload(bucket: str, key: str, upload_id: str) -> Tx[None]:
    """The locks an upload write takes, in their order (see the module docstring)."""
    yield from execute("SELECT 1 FROM buckets WHERE name = ?", bucket, lock="KEY SHARE")
    if (yield from value(_UPLOAD, upload_id, bucket, key, lock="UPDATE")) is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


def _parts_to_garbage(upload_id: str, since: float, *, number: int | None = None) -> Tx[None]:
    """The blobs of the upload's parts (only part `number`'s, if given) to garbage."""
    sql = (
        "INSERT INTO garbage_blobs (blob_id, since) SELECT blob_id, CAST(? AS DOUBLE PRECISION)"
        " FROM upload_parts WHERE upload_id = ?"
    )
    args: list[Any] = [since, upload_id]
    if number is not None:
        sql += " AND part_number = ?"
        args.append(number)
    yield from execute(sql + " ON CONFLICT (blob_id) DO NOTHING", *args)


def _drop_upload(upload_id: str) -> Tx[None]:
    # upload_retention goes with the upload (ON DELETE CASCADE).
    yield from execute("DELETE FROM upload_parts WHERE upload_id = ?", upload_id)
    yield from execute("DELETE FROM uploads WHERE upload_id = ?", upload_id)


# -- writes ----------------------------------------------------------------------------------
def create_upload(upload: Upload) -> Tx[None]:
    yield from require_bucket(upload.bucket, lock="KEY SHARE")
    yield from execute(
        f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES ({marks(13)})", *upload_params(upload)
    )


def put_part(bucket: str, key: str, upload_id: str, part: Part) -> Tx[None]:
    yield from lock_upload(bucket, key, upload_id)
    yield from claim_pending([part.blob_id])
    begun = yield from value(
        "SELECT last_modified FROM upload_parts WHERE upload_id = ? AND part_number = ?",
        upload_id,
        part.number,
    )
    if begun is not None and float(begun) > part.last_modified:
        # A later upload of this number finished first: it stays the part (the one its
        # client will name in the Complete), and ours goes to garbage.
        yield from to_garbage([part.blob_id], part.last_modified)
        return
    yield from _parts_to_garbage(upload_id, part.last_modified, number=part.number)
    yield from execute(
        f"INSERT INTO upload_parts (upload_id, {PART_COLUMNS}) VALUES ({marks(8)})"
        " ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id,"
        " size = excluded.size, etag = excluded.etag, checksums = excluded.checksums,"
        " last_modified = excluded.last_modified, codec = excluded.codec",
        upload_id,
        part.number,
        part.blob_id,
        part.size,
        part.etag,
        dump_map(part.checksums),
        part.last_modified,
        dump_codec(part.codec),
    )


def complete_upload(
    upload_id: str,
    version: ObjectVersion,
    precondition: Precondition | None = None,
    *,
    parts_digest: str,
    events: EventIntent | None = None,
) -> Tx[ObjectVersion]:
    v = version
    yield from lock_upload(v.bucket, v.key, upload_id)
    current = {
        r["part_number"]: r
        for r in (
            yield from rows(
                "SELECT part_number, blob_id, etag FROM upload_parts WHERE upload_id = ?",
                upload_id,
            )
        )
    }
    for seg in v.segments:
        row = current.get(seg.part_number)
        if row is None or (row["blob_id"], row["etag"]) != (seg.blob_id, seg.etag):
            raise S3Error(S3ErrorCode.INVALID_PART, PartNumber=str(seg.part_number))
    stored = yield from objects.put_version(v, precondition, claim_pending=False, events=events)
    listed = {seg.blob_id for seg in v.segments}
    unlisted = [r["blob_id"] for r in current.values() if r["blob_id"] not in listed]
    yield from to_garbage(unlisted, v.last_modified)
    yield from _drop_upload(upload_id)
    yield from execute(
        "INSERT INTO completed_uploads"
        " (upload_id, bucket, key, version_id, etag, parts_digest, completed)"
        f" VALUES ({marks(7)})",
        upload_id,
        v.bucket,
        v.key,
        stored.version_id,
        v.etag,
        parts_digest,
        v.last_modified,
    )
    yield from execute(
        "DELETE FROM completed_uploads WHERE completed < ?",
        v.last_modified - COMPLETED_UPLOAD_MEMORY,
    )
    return stored


def abort_upload(bucket: str, key: str, upload_id: str, *, now: float) -> Tx[None]:
    yield from lock_upload(bucket, key, upload_id)
    yield from _parts_to_garbage(upload_id, now)
    yield from _drop_upload(upload_id)


def discard_bucket_uploads(bucket: str) -> Tx[None]:
    """delete_bucket's share, run after it locked the bucket row FOR UPDATE: abort the
    bucket's uploads, forget its completed ones.

    A part's blob goes to garbage since the part was written: nothing reads parts, so no
    reader needs the grace period's protection.
    """
    yield from execute(
        "INSERT INTO garbage_blobs (blob_id, since) SELECT p.blob_id, p.last_modified"
        " FROM uploads u JOIN upload_parts p ON p.upload_id = u.upload_id WHERE u.bucket = ?"
        " ON CONFLICT (blob_id) DO NOTHING",
        bucket,
    )
    yield from execute(
        "DELETE FROM upload_parts WHERE upload_id IN"
        " (SELECT upload_id FROM uploads WHERE bucket = ?)",
        bucket,
    )
    yield from execute("DELETE FROM uploads WHERE bucket = ?", bucket)
    yield from execute("DELETE FROM completed_uploads WHERE bucket = ?", bucket)


def put_upload_retention(
    bucket: str, key: str, upload_id: str, fields: RetentionFields
) -> Tx[None]:
    yield from lock_upload(bucket, key, upload_id)
    yield from execute(
        "INSERT INTO upload_retention (upload_id, tags, retention_mode, retain_until,"
        " legal_hold) VALUES (?, ?, ?, ?, ?) ON CONFLICT (upload_id) DO UPDATE SET"
        " tags = excluded.tags, retention_mode = excluded.retention_mode,"
        " retain_until = excluded.retain_until, legal_hold = excluded.legal_hold",
        upload_id,
        dump_map(fields.tags),
        fields.retention_mode,
        fields.retain_until,
        fields.legal_hold,
    )


# -- reads -----------------------------------------------------------------------------------
def get_upload(bucket: str, key: str, upload_id: str) -> Tx[Upload | None]:
    row = yield from one(
        f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
        upload_id,
        bucket,
        key,
    )
    return None if row is None else upload_from_row(row)


def get_completed_upload(bucket: str, key: str, upload_id: str) -> Tx[CompletedUpload | None]:
    row = yield from one(
        "SELECT * FROM completed_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
        upload_id,
        bucket,
        key,
    )
    return None if row is None else completed_from_row(row)


def get_upload_retention(upload_id: str) -> Tx[RetentionFields | None]:
    row = yield from one("SELECT * FROM upload_retention WHERE upload_id = ?", upload_id)
    if row is None:
        return None
    return RetentionFields(
        tags=load_map(row["tags"]),
        retention_mode=row["retention_mode"],
        retain_until=row["retain_until"],
        legal_hold=bool(row["legal_hold"]),
    )


def list_parts(
    bucket: str, key: str, upload_id: str, *, part_number_marker: int = 0, max_parts: int = 1000
) -> Tx[PartsPage]:
    yield from _upload(bucket, key, upload_id)
    if max_parts <= 0:
        return PartsPage((), False, None)
    found = yield from rows(
        f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_id = ? AND part_number > ?"
        " ORDER BY part_number LIMIT ?",
        upload_id,
        part_number_marker,
        max_parts + 1,
    )
    parts = [part_from_row(r) for r in found[:max_parts]]
    return PartsPage(parts, len(found) > max_parts, parts[-1].number if parts else None)


def _read_uploads(bucket: str, seek: UploadSeek, after: Any, n: int) -> Tx[list[Any]]:
    """Up to n uploads of `seek`'s range, strictly after row `after` (None: its start)."""
    sql = f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE bucket = ?"
    args: list[Any] = [bucket]
    if after is not None:
        sql += " AND (key, upload_id) > (?, ?)"
        args += [after["key"], after["upload_id"]]
    elif seek.after_id is not None:
        sql += " AND (key, upload_id) > (?, ?)"
        args += [seek.key, seek.after_id]
    else:
        sql += " AND key >= ?" if seek.inclusive else " AND key > ?"
        args.append(seek.key)
    if seek.upper is not None:
        sql += " AND key < ?"
        args.append(seek.upper)
    return (yield from rows(sql + " ORDER BY key, upload_id LIMIT ?", *args, n))


def list_uploads(
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    max_uploads: int = 1000,
) -> Tx[UploadsPage]:
    yield from require_bucket(bucket)
    steps: UploadSteps[Any] = upload_listing_steps(
        lambda r: str(r["key"]),
        lambda r: str(r["upload_id"]),
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker,
        max_uploads=max_uploads,
    )
    # With a delimiter the walk may leave a range at its first row: start small.
    page = yield from feed(steps, partial(_read_uploads, bucket), 2 if delimiter else None)
    uploads = [upload_from_row(r) for r in page.rows]
    return UploadsPage(uploads, page.common_prefixes, page.is_truncated, *page.next_markers)
