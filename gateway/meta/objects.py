"""Object versions: the versioning state machine of PUT and DELETE, tags and object lock
changes, and the conditional removals of lifecycle and object lock, as transaction bodies.

How this works:

- Every write of a key first takes lock_object(): the bucket row FOR KEY SHARE (so a
  racing DeleteBucket either runs first, and we get NoSuchBucket, or waits for our
  commit; gateway/meta/buckets.py), then the key's advisory lock, before it reads the
  latest version. Concurrent writers of one key so queue up on PostgreSQL: each sees the
  previous one's commit, replaces it whole and sends its blobs to garbage (a lost update,
  or a blob that never reaches garbage, would need two writers reading the same "latest"
  row, which the lock excludes; a row lock could not cover a key's first PUT, which has
  no row yet). SQLite's BEGIN IMMEDIATE already holds the whole database.
- Removals guarded by a check (delete_version, expire_object) read what they guard and
  run delete_object's body under the same locks (advisory transaction locks stack, FOR
  KEY SHARE is re-entrant), so a legal hold set by one request and a DeleteObject by
  another are ordered.
- Usage (gateway/meta/usage.py): inserting or deleting a version row (_insert_latest,
  _remove_version, the only two places that do) moves its bucket's counts, in the same
  transaction.
- Blob bookkeeping: a published version takes its blobs off `pending` and the blobs of
  the version it replaces go to `garbage` unless another version uses them, in the same
  transaction; version_blobs mirrors every version's segments. An inline segment (a
  small object, gateway/writepath.py) has no blob: its bytes are the row's inline_data
  (migration 0018), inserted and deleted with the row, so no blob list names them.
- Replicas (gateway/s3/replication.py): a version whose x-amz-replication-status is
  REPLICA, in a versioned bucket, keeps the version id and time its source gave it. It
  is written once (a second copy of the same version id is a no-op: a worker that died
  after its copy and before recording it copies again), and it becomes the latest only
  if it is newer, by (last modified, version id), than the latest there, so two gateways
  replicating into each other agree on every key's latest version.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from events.records import EventIntent
from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.quota import Usage
from gateway.meta import blobs, quotas, usage
from gateway.meta.base import (
    NULL_VERSION,
    DeleteCondition,
    DeleteOutcome,
    ObjectVersion,
    Precondition,
    RemovalCheck,
    VersionChange,
)
from gateway.meta.events import add_events
from gateway.meta.rows import (
    VERSION_COLUMNS,
    VERSIONING_STATES,
    distinct_blob_ids,
    dump_map,
    load_segments,
    require_bucket,
    version_params,
    version_with_data,
)
from gateway.meta.sql import Tx, UniqueViolation, execute, lock_key, many, one, rows, value
from gateway.s3.preconditions import check_delete_condition, check_write_precondition
from gateway.s3.replication import REPLICA, STATUS_HEADER, newer
from gateway.s3.versions import addressed, new_version_id

# The latest versions, through the partial index versions_latest (bucket, key) WHERE
# is_latest. Without statistics SQLite's planner may prefer another (bucket, key, ...)
# index, which also holds noncurrent versions; INDEXED BY pins the choice (and fails
# loudly if the index ever could not serve the query). PostgreSQL drops the hint.
LATEST = "versions INDEXED BY versions_latest"

_INSERT_VERSION = (
    f"INSERT INTO versions ({VERSION_COLUMNS}, inline_data, seq) VALUES (?, ?, ?, TRUE, "
    + ", ".join("?" * 18)
    + ", (SELECT COALESCE(MAX(seq), 0) + 1 FROM versions WHERE bucket = ? AND key = ?))"
)
_INSERT_AT = (  # a noncurrent version at a given seq (_make_room)
    f"INSERT INTO versions ({VERSION_COLUMNS}, inline_data, seq) VALUES (?, ?, ?, FALSE, "
    + ", ".join("?" * 18)
    + ", ?)"
)
# One version with the bytes of an inline segment: a small GET is this one indexed read.
_ONE = f"SELECT {VERSION_COLUMNS}, inline_data FROM {{}} WHERE bucket = ? AND key = ?"


def lock_object(bucket: str, key: str) -> Tx[Any]:
    """The locks every write of `key` takes, in this order (see the module docstring);
    returns the bucket's row. S3Error NO_SUCH_BUCKET if the bucket is gone."""
    row = yield from require_bucket(bucket, lock="KEY SHARE")
    yield from lock_key(bucket, key)
    return row


def _remove_version(bucket: str, key: str, version_id: str, *, since: float) -> Tx[Any]:
    """Delete one version row; blobs no other version uses go to garbage. Returns the row
    (is_latest, is_delete_marker), None if there was none."""
    row = yield from one(
        "DELETE FROM versions WHERE bucket = ? AND key = ? AND version_id = ?"
        " RETURNING is_latest, is_delete_marker, segments, size",
        bucket,
        key,
        version_id,
    )
    if row is None:
        return None
    if not row["is_delete_marker"]:
        yield from usage.add(bucket, key, -1, -int(row["size"]))
    ids = distinct_blob_ids(load_segments(row["segments"]))
    yield from many(
        "DELETE FROM version_blobs WHERE blob_id = ? AND bucket = ? AND key = ? AND version_id = ?",
        [(b, bucket, key, version_id) for b in ids],
    )
    yield from many(
        "INSERT INTO garbage_blobs (blob_id, since)"
        " SELECT CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION)"
        " WHERE NOT EXISTS (SELECT 1 FROM version_blobs WHERE blob_id = ?)"
        " ON CONFLICT (blob_id) DO NOTHING",
        [(b, since, b) for b in ids],
    )
    return row


def _insert_latest(v: ObjectVersion, *, latest: bool = True, demote: bool = True) -> Tx[None]:
    """Insert `v` as the newest version of its key and the only latest one (latest=False:
    an older replica arriving late, inserted where its time puts it: _make_room).
    demote=False: the caller knows no other version of the key is latest (no UPDATE)."""
    if latest and demote:
        yield from execute(
            f"UPDATE {LATEST} SET is_latest = FALSE WHERE bucket = ? AND key = ? AND is_latest",
            v.bucket,
            v.key,
        )
    try:
        if latest:
            yield from execute(_INSERT_VERSION, *version_params(v), v.inline_data, v.bucket, v.key)
        else:
            seq = yield from _make_room(v)
            yield from execute(_INSERT_AT, *version_params(v), v.inline_data, seq)
    except UniqueViolation as exc:  # a reused version id: a bug upstream
        raise S3Error(S3ErrorCode.INTERNAL_ERROR, "version id collision") from exc
    if not v.is_delete_marker:
        yield from usage.add(v.bucket, v.key, 1, v.size)
    yield from many(
        "INSERT INTO version_blobs (blob_id, bucket, key, version_id) VALUES (?, ?, ?, ?)",
        [(b, v.bucket, v.key, v.version_id) for b in distinct_blob_ids(v.segments)],
    )


def _make_room(v: ObjectVersion) -> Tx[int]:
    """The seq an older version `v` takes among its key's versions (seq orders them, newest
    highest: listings and the promotion after a delete read it), once the newer ones moved
    up by one. Two steps through negative numbers, as the (bucket, key, seq) index is
    unique and checked row by row."""
    found = yield from rows(
        "SELECT seq, last_modified, version_id FROM versions WHERE bucket = ? AND key = ?",
        v.bucket,
        v.key,
    )
    newer_seqs = [
        int(r["seq"])
        for r in found
        if newer(float(r["last_modified"]), r["version_id"], v.last_modified, v.version_id)
    ]
    if not newer_seqs:
        return max((int(r["seq"]) for r in found), default=0) + 1
    at = min(newer_seqs)
    yield from execute(
        "UPDATE versions SET seq = -(seq + 1) WHERE bucket = ? AND key = ? AND seq >= ?",
        v.bucket,
        v.key,
        at,
    )
    yield from execute(
        "UPDATE versions SET seq = -seq WHERE bucket = ? AND key = ? AND seq < 0", v.bucket, v.key
    )
    return at


def put_version(
    version: ObjectVersion,
    precondition: Precondition | None,
    *,
    claim_pending: bool,
    events: EventIntent | None = None,
) -> Tx[ObjectVersion]:
    """put_object's body. claim_pending=False publishes blobs that are not pending (the
    parts of a completed multipart upload, which left pending when each part was put)."""
    v = version
    bucket = yield from lock_object(v.bucket, v.key)
    if bucket["versioning"] == "Enabled" and v.headers.get(STATUS_HEADER) == REPLICA:
        return (yield from _put_replica(v, bucket["owner"], claim_pending=claim_pending))
    latest = yield from one(
        f"SELECT is_delete_marker, etag FROM {LATEST} WHERE bucket = ? AND key = ? AND is_latest",
        v.bucket,
        v.key,
    )
    current = None if latest is None or latest["is_delete_marker"] else latest["etag"]
    check_write_precondition(precondition, current, v.key)
    if claim_pending:
        yield from blobs.claim_pending(distinct_blob_ids(v.segments))
    delta = Usage(0 if v.is_delete_marker else 1, v.size)
    # Another version to demote from latest: none if the key had none (a new key, the
    # common case) or if the latest one was the null version this put replaces.
    demote = latest is not None
    if bucket["versioning"] == "Enabled":
        if not v.version_id or v.version_id == NULL_VERSION:
            raise ValueError("a versioned put needs a generated version id")
        stored = v.as_latest(v.version_id)
    else:
        stored = v.as_latest(NULL_VERSION)
        # A key with versions has a latest one: without it there is no null version either
        # (were there one, the INSERT would fail on the unique version id, not duplicate it).
        old = None
        if latest is not None:
            old = yield from _remove_version(v.bucket, v.key, NULL_VERSION, since=v.last_modified)
        if old is not None and not old["is_delete_marker"]:
            delta -= Usage(1, int(old["size"]))
        if old is not None and old["is_latest"]:
            demote = False
    yield from _insert_latest(stored, demote=demote)
    # Checked with the usage this transaction moved, before it commits (gateway/meta/quotas.py).
    yield from quotas.enforce(v.bucket, bucket["owner"], delta)
    yield from add_events(
        events,
        v.bucket,
        v.key,
        version_id=stored.version_id,
        size=v.size,
        etag=v.etag,
    )
    return stored


def _put_replica(v: ObjectVersion, owner: str, *, claim_pending: bool) -> Tx[ObjectVersion]:
    """put_version's body for a replica (the module docstring says how)."""
    ids = distinct_blob_ids(v.segments)
    if claim_pending:
        yield from blobs.claim_pending(ids)
    existing = yield from get_object(v.bucket, v.key, v.version_id)
    if existing is not None:  # copied before: this copy's blobs are not needed
        yield from many(
            "INSERT INTO garbage_blobs (blob_id, since)"
            " SELECT CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION)"
            " WHERE NOT EXISTS (SELECT 1 FROM version_blobs WHERE blob_id = ?)"
            " ON CONFLICT (blob_id) DO NOTHING",
            [(b, v.last_modified, b) for b in ids],
        )
        return existing
    latest = yield from get_object(v.bucket, v.key, None)
    is_latest = latest is None or newer(
        v.last_modified, v.version_id, latest.last_modified, latest.version_id
    )
    stored = replace(v, is_latest=is_latest)
    yield from _insert_latest(stored, latest=is_latest)
    delta = Usage(0 if v.is_delete_marker else 1, v.size)
    yield from quotas.enforce(v.bucket, owner, delta)
    return stored


def get_object(bucket: str, key: str, version_id: str | None = None) -> Tx[ObjectVersion | None]:
    if version_id is None:
        row = yield from one(_ONE.format(LATEST) + " AND is_latest", bucket, key)
    else:
        row = yield from one(
            _ONE.format("versions") + " AND version_id = ?", bucket, key, version_id
        )
    return None if row is None else version_with_data(row)


def delete_object(
    bucket: str,
    key: str,
    version_id: str | None = None,
    *,
    now: float,
    condition: DeleteCondition | None = None,
    events: EventIntent | None = None,
) -> Tx[DeleteOutcome]:
    b = yield from lock_object(bucket, key)
    if condition is not None:
        subject = yield from get_object(bucket, key, version_id)
        check_delete_condition(condition, subject, key)
    if version_id is None and b["versioning"] in VERSIONING_STATES:
        if b["versioning"] == "Enabled":
            marker_id = new_version_id(now)
        else:  # Suspended: the marker takes the place of the "null" version
            marker_id = NULL_VERSION
            yield from _remove_version(bucket, key, NULL_VERSION, since=now)
        marker = ObjectVersion(
            bucket, key, marker_id, last_modified=now, is_delete_marker=True, owner=b["owner"]
        )
        yield from _insert_latest(marker)
        yield from add_events(events, bucket, key, version_id=marker_id, marker_created=True)
        return DeleteOutcome(marker_id, True)
    target = NULL_VERSION if version_id is None else version_id
    row = yield from _remove_version(bucket, key, target, since=now)
    if row is None:
        return DeleteOutcome(None, False)
    if row["is_latest"]:  # the newest remaining version becomes the latest
        yield from execute(
            "UPDATE versions SET is_latest = TRUE WHERE bucket = ? AND key = ? AND seq ="
            " (SELECT MAX(seq) FROM versions WHERE bucket = ? AND key = ?)",
            bucket,
            key,
            bucket,
            key,
        )
    yield from add_events(events, bucket, key, version_id=target)
    return DeleteOutcome(target, bool(row["is_delete_marker"]))


def update_version(
    bucket: str,
    key: str,
    version_id: str | None,
    change: VersionChange,
    *,
    events: EventIntent | None = None,
) -> Tx[ObjectVersion | None]:
    yield from lock_object(bucket, key)
    current = yield from get_object(bucket, key, version_id)
    if current is None:
        return None
    new = change(current)
    yield from execute(
        "UPDATE versions SET tags = ?, retention_mode = ?, retain_until = ?, legal_hold = ?,"
        " headers = ? WHERE bucket = ? AND key = ? AND version_id = ?",
        dump_map(new.tags),
        new.retention_mode,
        new.retain_until,
        new.legal_hold,
        dump_map(new.headers),  # x-amz-replication-status (gateway/jobs/replication.py)
        bucket,
        key,
        current.version_id,
    )
    yield from add_events(
        events, bucket, key, version_id=current.version_id, size=current.size, etag=current.etag
    )
    return replace(
        current,
        headers=dict(new.headers),
        tags=dict(new.tags),
        retention_mode=new.retention_mode,
        retain_until=new.retain_until,
        legal_hold=new.legal_hold,
    )


def put_object_acl(
    bucket: str,
    key: str,
    version_id: str | None,
    acl: str | None,
    *,
    events: EventIntent | None = None,
) -> Tx[ObjectVersion]:
    yield from lock_object(bucket, key)
    current = addressed((yield from get_object(bucket, key, version_id)), key, version_id)
    yield from execute(
        "UPDATE versions SET acl = ? WHERE bucket = ? AND key = ? AND version_id = ?",
        acl,
        bucket,
        key,
        current.version_id,
    )
    yield from add_events(
        events, bucket, key, version_id=current.version_id, size=current.size, etag=current.etag
    )
    return replace(current, acl=acl)


def delete_version(
    bucket: str,
    key: str,
    version_id: str,
    *,
    now: float,
    check: RemovalCheck | None = None,
    condition: DeleteCondition | None = None,
    events: EventIntent | None = None,
) -> Tx[DeleteOutcome]:
    yield from lock_object(bucket, key)
    version = yield from get_object(bucket, key, version_id)
    if version is not None and check is not None:
        count = yield from value(
            "SELECT COUNT(*) FROM (SELECT 1 FROM versions WHERE bucket = ? AND key = ? LIMIT 2) s",
            bucket,
            key,
        )
        check(version, sole=count == 1)
    return (
        yield from delete_object(
            bucket, key, version_id, now=now, condition=condition, events=events
        )
    )


def expire_object(
    bucket: str,
    key: str,
    *,
    version_id: str,
    last_modified: float,
    now: float,
    events: EventIntent | None = None,
) -> Tx[DeleteOutcome | None]:
    yield from lock_object(bucket, key)
    latest = yield from get_object(bucket, key, None)
    if (
        latest is None
        or latest.is_delete_marker
        or latest.version_id != version_id
        or latest.last_modified != last_modified
    ):
        return None
    return (yield from delete_object(bucket, key, None, now=now, events=events))
