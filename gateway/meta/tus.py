"""tus uploads: the MetaStore's tus methods as transaction bodies (migration 0011).

append_tus_part is uploads.put_part (replacing its number's bytes, not adding a candidate)
plus the offset's move, in one transaction: the part and the offset never disagree,
whatever crashes. It takes put_part's locks (the bucket row FOR KEY SHARE, then the
upload row FOR UPDATE) before it touches the tus row, so two PATCHes of one upload queue
on the upload row, and the second finds the offset moved (KeyError: the caller answers
409 and deletes its blob).

abort_expired_tus_uploads is the collector's share: uploads past Upload-Expires are
aborted (their parts' blobs to garbage, the tus row with the upload), as abort_upload.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta import uploads
from gateway.meta.base import Part, TusUpload
from gateway.meta.rows import dump_map, load_map
from gateway.meta.sql import Tx, execute, marks, one, rows

_COLUMNS = (
    "token_hash, upload_id, bucket, key, upload_length, upload_offset, part_number,"
    " part_size, metadata, account, iam_user, access_key, created, expires"
)


def tus_from_row(row: Any) -> TusUpload:
    return TusUpload(
        token_hash=row["token_hash"],
        upload_id=row["upload_id"],
        bucket=row["bucket"],
        key=row["key"],
        length=int(row["upload_length"]),
        offset=int(row["upload_offset"]),
        part_number=int(row["part_number"]),
        part_size=int(row["part_size"]),
        metadata=load_map(row["metadata"]),
        account=row["account"],
        iam_user=row["iam_user"],
        access_key=row["access_key"],
        created=float(row["created"]),
        expires=float(row["expires"]),
    )


def create_tus_upload(tus: TusUpload) -> Tx[None]:
    yield from uploads.lock_upload(tus.bucket, tus.key, tus.upload_id)
    yield from execute(
        f"INSERT INTO tus_uploads ({_COLUMNS}) VALUES ({marks(14)})",
        tus.token_hash,
        tus.upload_id,
        tus.bucket,
        tus.key,
        tus.length,
        tus.offset,
        tus.part_number,
        tus.part_size,
        dump_map(tus.metadata),
        tus.account,
        tus.iam_user,
        tus.access_key,
        tus.created,
        tus.expires,
    )


def get_tus_upload(token_hash: str) -> Tx[TusUpload | None]:
    row = yield from one(f"SELECT {_COLUMNS} FROM tus_uploads WHERE token_hash = ?", token_hash)
    return None if row is None else tus_from_row(row)


def append_tus_part(token_hash: str, offset: int, part: Part) -> Tx[TusUpload]:
    found = yield from get_tus_upload(token_hash)
    if found is None:
        raise S3Error(S3ErrorCode.NO_SUCH_UPLOAD)
    # put_part locks the upload row first: every append of this upload waits there, so
    # what is read after it stays true until commit. A tus part replaces its number's
    # earlier bytes (a growing last part): no candidates to choose from at the end.
    yield from uploads.record_part(found.bucket, found.key, found.upload_id, part, replace=True)
    now = yield from get_tus_upload(token_hash)
    if (
        now is None
        or now.offset != offset
        or part.number not in (now.part_number, now.part_number + 1)
    ):
        raise KeyError(f"tus upload moved from offset {offset}")
    # A part that replaces the last one holds its bytes too: the offset grows by the rest.
    kept = now.part_size if part.number == now.part_number else 0
    row = yield from one(
        "UPDATE tus_uploads SET upload_offset = ?, part_number = ?, part_size = ?"
        f" WHERE token_hash = ? RETURNING {_COLUMNS}",
        offset + part.size - kept,
        part.number,
        part.size,
        token_hash,
    )
    return tus_from_row(row)


def abort_expired_tus_uploads(now: float, limit: int = 1000) -> Tx[int]:
    found = yield from rows(
        "SELECT bucket, key, upload_id FROM tus_uploads WHERE expires <= ?"
        " ORDER BY expires LIMIT ?",
        now,
        limit,
    )
    aborted = 0
    for row in found:
        try:
            yield from uploads.abort_upload(row["bucket"], row["key"], row["upload_id"], now=now)
        except S3Error as error:  # raised by the body before any write: nothing to undo
            if error.code is not S3ErrorCode.NO_SUCH_UPLOAD:
                raise
            continue
        aborted += 1
    return aborted
