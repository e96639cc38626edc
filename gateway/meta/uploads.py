"""Multipart uploads as transaction bodies, for SQLite and PostgreSQL alike.

The MetaStore multipart methods (gateway/meta/base.py documents their semantics) over the
tables of migrations 0002_multipart and 0003_retention (upload_retention), each written
once as a gateway.meta.sql body; gateway.meta.store runs them.

Blob bookkeeping: put_part moves the part's blob out of pending_blobs; a dropped
candidate, an aborted upload's parts and the candidates a Complete leaves out go to
garbage_blobs; a completed upload's listed parts move to version_blobs through
put_object's own body (objects.put_version), so no blob is ever both referenced and
collectable.

Candidates (migration 0019): every upload of a part number is kept until Complete or
Abort, because a client that uploaded a number twice (a retry after a timeout, two
workers racing, the second finishing first) names in its Complete the ETag of the one
it kept, and S3 completes with that one. Two rules bound what is kept per number: of
candidates with one ETag (the same bytes, e.g. a retry), only the one whose request
began last stays; and at most MAX_PART_CANDIDATES stay, the latest-begun. ListParts
shows each number's latest-begun candidate (Part.last_modified, then blob id). tus
replaces its last part as it grows (record_part(replace=True)): no candidates there.

Concurrency (PostgreSQL; SQLite's single writer gives all of it for free):

- put_part, complete_upload, abort_upload and put_upload_retention lock the upload row
  FOR UPDATE, after the bucket row FOR KEY SHARE (the order every object write takes its
  locks in, so DeleteBucket, which takes the bucket row FOR UPDATE and then deletes the
  bucket's uploads, never waits on us while we wait on it). So they queue per upload: a
  part racing an abort or a completion lands before it (and is counted: aborted to
  garbage, or checked against the Complete's list) or finds the upload gone
  (NoSuchUpload). Two parts with one number queue too, and the rules above decide
  which candidates stay whichever committed first.
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
    MAX_PART_CANDIDATES,
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
from gateway.meta.sql import Tx, execute, many, marks, one, rows, value
from gateway.meta.upload_listing import UploadSeek, UploadSteps, upload_listing_steps

_UPLOAD = "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?"
# A candidate of p's number that began after p (the blob id breaks a tie): p is not the
# latest. Through the primary key (upload_id, part_number, blob_id).
_LATER = (
    "SELECT 1 FROM upload_parts q WHERE q.upload_id = p.upload_id"
    " AND q.part_number = p.part_number AND (q.last_modified > p.last_modified"
    " OR (q.last_modified = p.last_modified AND q.blob_id > p.blob_id))"
)


def _upload(bucket: str, key: str, upload_id: str) -> Tx[None]:
    """NoSuchUpload unless the upload is in progress (a read: no lock)."""
    if (yield from value(_UPLOAD, upload_id, bucket, key)) is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


def lock_upload(bucket: str, key: str, upload_id: str) -> Tx[None]:
    """The locks an upload write takes, in their order (see the module docstring)."""
    yield from execute("SELECT 1 FROM buckets WHERE name = ?", bucket, lock="KEY SHARE")
    if (yield from value(_UPLOAD, upload_id, bucket, key, lock="UPDATE")) is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD, UploadId=upload_id)


def _parts_to_garbage(upload_id: str, since: float) -> Tx[None]:
    """The blobs of every candidate of the upload's parts to garbage."""
    yield from execute(
        "INSERT INTO garbage_blobs (blob_id, since) SELECT blob_id, CAST(? AS DOUBLE PRECISION)"
        " FROM upload_parts WHERE upload_id = ? ON CONFLICT (blob_id) DO NOTHING",
        since,
        upload_id,
    )


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
    yield from record_part(bucket, key, upload_id, part, replace=False)


def record_part(bucket: str, key: str, upload_id: str, part: Part, *, replace: bool) -> Tx[None]:
    """Add `part` to its number's candidates (module docstring); with `replace`, it
    becomes the only one."""
    yield from lock_upload(bucket, key, upload_id)
    yield from claim_pending([part.blob_id])
    found = yield from rows(
        "SELECT blob_id, etag, last_modified FROM upload_parts"
        " WHERE upload_id = ? AND part_number = ?",
        upload_id,
        part.number,
    )
    # (began, blob id, etag), latest-begun first; the blob id breaks a tie, as in _LATER.
    ours = (part.last_modified, part.blob_id, part.etag)
    others = [(float(r["last_modified"]), str(r["blob_id"]), str(r["etag"])) for r in found]
    kept: list[tuple[float, str, str]] = []
    for c in sorted([ours] if replace else [ours, *others], reverse=True):
        if len(kept) < MAX_PART_CANDIDATES and all(k[2] != c[2] for k in kept):
            kept.append(c)
    gone = [blob for _, blob, _ in others if all(k[1] != blob for k in kept)]
    yield from many(
        "DELETE FROM upload_parts WHERE upload_id = ? AND blob_id = ?",
        [(upload_id, blob) for blob in gone],
    )
    if ours not in kept:
        gone.append(part.blob_id)
    yield from to_garbage(gone, part.last_modified)
    if ours not in kept:
        return  # a later-begun candidate of the same bytes, or enough later ones, stay
    yield from execute(
        f"INSERT INTO upload_parts (upload_id, {PART_COLUMNS}) VALUES ({marks(8)})",
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
    # Every candidate of every number: the segments name the ones the Complete chose.
    candidates = {
        r["blob_id"]: r
        for r in (
            yield from rows(
                "SELECT part_number, blob_id, etag FROM upload_parts WHERE upload_id = ?",
                upload_id,
            )
        )
    }
    for seg in v.segments:
        row = candidates.get(seg.blob_id)
        if row is None or (row["part_number"], row["etag"]) != (seg.part_number, seg.etag):
            raise S3Error(S3ErrorCode.INVALID_PART, PartNumber=str(seg.part_number))
    stored = yield from objects.put_version(v, precondition, claim_pending=False, events=events)
    listed = {seg.blob_id for seg in v.segments}
    unlisted = [b for b in candidates if b not in listed]
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
        f"SELECT {PART_COLUMNS} FROM upload_parts p WHERE upload_id = ? AND part_number > ?"
        f" AND NOT EXISTS ({_LATER}) ORDER BY part_number LIMIT ?",
        upload_id,
        part_number_marker,
        max_parts + 1,
    )
    parts = [part_from_row(r) for r in found[:max_parts]]
    return PartsPage(parts, len(found) > max_parts, parts[-1].number if parts else None)


def list_part_candidates(bucket: str, key: str, upload_id: str) -> Tx[list[Part]]:
    yield from _upload(bucket, key, upload_id)
    found = yield from rows(
        f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_id = ?"
        " ORDER BY part_number, last_modified DESC, blob_id DESC",
        upload_id,
    )
    return [part_from_row(r) for r in found]


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
