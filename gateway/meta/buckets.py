"""Buckets, their versioning and object lock states and configuration documents, as
transaction bodies.

Concurrency (PostgreSQL; SQLite's single writer gives all of it for free):
- object writes hold the bucket row FOR KEY SHARE (rows.require_bucket(lock="KEY SHARE")),
  delete_bucket takes it FOR UPDATE: a DeleteBucket racing a PutObject either runs first
  (the PUT finds no bucket: NoSuchBucket) or waits for the PUT to commit and then sees
  its row (BucketNotEmpty). No object survives in a deleted bucket.
- create_bucket is INSERT ... ON CONFLICT DO NOTHING: of racing creators one wins, the
  others get BucketAlreadyOwnedByYou / BucketAlreadyExists.
- put_bucket_versioning and enable_object_lock update the row with a condition on the
  other's column, so a racing suspend and lock enable cannot both win.
"""

from __future__ import annotations

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta import uploads
from gateway.meta.base import ACCESS_CONFIGS, Bucket
from gateway.meta.rows import VERSIONING_STATES, bucket_from_row, require_bucket
from gateway.meta.sql import Tx, execute, marks, one, rows, value

_LOCKED_VERSIONING = (
    "An Object Lock configuration is present on this bucket, so the versioning state"
    " cannot be changed."
)
_LOCK_NEEDS_VERSIONING = (
    "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
)


def create_bucket(bucket: Bucket) -> Tx[None]:
    # Of racing creators one inserts; the others wait for its commit and then see its row
    # (each statement of READ COMMITTED reads the latest commits).
    for _ in range(3):
        done = yield from value(
            "INSERT INTO buckets (name, owner, created, region, versioning, object_lock)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING TRUE",
            bucket.name,
            bucket.owner,
            bucket.created,
            bucket.region,
            bucket.versioning,
            bucket.object_lock,
        )
        if done:
            return
        owner = yield from value("SELECT owner FROM buckets WHERE name = ?", bucket.name)
        if owner is not None:
            code = (
                S3ErrorCode.BUCKET_ALREADY_OWNED_BY_YOU
                if owner == bucket.owner
                else S3ErrorCode.BUCKET_ALREADY_EXISTS
            )
            raise S3Error(code, BucketName=bucket.name)
        # Deleted again in between: try to create it once more.
    raise S3Error(S3ErrorCode.SLOW_DOWN)


def get_bucket(name: str) -> Tx[Bucket | None]:
    row = yield from one("SELECT * FROM buckets WHERE name = ?", name)
    return None if row is None else bucket_from_row(row)


def list_buckets(owner: str | None = None) -> Tx[list[Bucket]]:
    if owner is None:
        found = yield from rows("SELECT * FROM buckets ORDER BY name")
    else:
        found = yield from rows("SELECT * FROM buckets WHERE owner = ? ORDER BY name", owner)
    return [bucket_from_row(r) for r in found]


def delete_bucket(name: str) -> Tx[None]:
    # FOR UPDATE waits for object writes holding the row FOR KEY SHARE; the emptiness
    # check that follows then sees what they committed.
    yield from require_bucket(name, lock="UPDATE")
    if (yield from value("SELECT 1 FROM versions WHERE bucket = ? LIMIT 1", name)):
        raise S3Error(S3ErrorCode.BUCKET_NOT_EMPTY, BucketName=name)
    yield from uploads.discard_bucket_uploads(name)
    yield from execute("DELETE FROM buckets WHERE name = ?", name)


def put_bucket_versioning(name: str, status: str) -> Tx[None]:
    if status not in VERSIONING_STATES:
        raise ValueError(f"versioning status {status!r}")
    # An object lock bucket stays Enabled (the condition re-reads a racing enable).
    done = yield from value(
        "UPDATE buckets SET versioning = ? WHERE name = ?"
        " AND NOT (object_lock AND CAST(? AS TEXT) <> 'Enabled') RETURNING TRUE",
        status,
        name,
        status,
    )
    if not done:
        yield from require_bucket(name)
        raise S3Error(S3ErrorCode.INVALID_BUCKET_STATE, _LOCKED_VERSIONING)


def enable_object_lock(name: str) -> Tx[None]:
    done = yield from value(
        "UPDATE buckets SET object_lock = TRUE"
        " WHERE name = ? AND (versioning = 'Enabled' OR object_lock) RETURNING TRUE",
        name,
    )
    if not done:
        yield from require_bucket(name)
        raise S3Error(S3ErrorCode.INVALID_BUCKET_STATE, _LOCK_NEEDS_VERSIONING)


def get_bucket_config(bucket: str, name: str) -> Tx[str | None]:
    document = yield from value(
        "SELECT document FROM bucket_configs WHERE bucket = ? AND name = ?", bucket, name
    )
    return None if document is None else str(document)


def get_access_configs(bucket: str) -> Tx[dict[str, str]]:
    """The bucket's documents that authorization reads (ACCESS_CONFIGS), in one query."""
    found = yield from rows(
        "SELECT name, document FROM bucket_configs WHERE bucket = ?"
        f" AND name IN ({marks(len(ACCESS_CONFIGS))})",
        bucket,
        *ACCESS_CONFIGS,
    )
    return {r["name"]: str(r["document"]) for r in found}


def put_bucket_config(bucket: str, name: str, document: str | None) -> Tx[None]:
    # FOR KEY SHARE: a DeleteBucket waits for us, then cascades our row away.
    yield from require_bucket(bucket, lock="KEY SHARE")
    if document is None:
        yield from execute("DELETE FROM bucket_configs WHERE bucket = ? AND name = ?", bucket, name)
        return
    yield from execute(
        "INSERT INTO bucket_configs (bucket, name, document) VALUES (?, ?, ?)"
        " ON CONFLICT (bucket, name) DO UPDATE SET document = excluded.document",
        bucket,
        name,
        document,
    )
