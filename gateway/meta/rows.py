"""Row <-> model conversion shared by the SQLite and PostgreSQL stores (and the Redis cache).

Both databases hold the same schema (gateway/meta/migrations/), so one set of functions
turns rows into the value types of gateway.meta.base. A row is anything indexable by
column name: sqlite3.Row and asyncpg.Record both are. Maps and segments are stored as
compact JSON text; the cache stores whole values as JSON built from the same encoders.

Also here, because every body needs them: the bucket check (require_bucket), version id
generation and the precondition check run inside the write transaction.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from gateway.codec.params import SegmentCodec
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    AccessKey,
    Bucket,
    CompletedUpload,
    ListedObject,
    ObjectVersion,
    Part,
    Segment,
    Upload,
    User,
)
from gateway.meta.sql import Lock, Tx, one

# The versions columns in the order the stores select and insert them (seq excepted).
VERSION_COLUMNS = (
    "bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified, owner,"
    " content_type, headers, user_meta, checksums, checksum_type, segments, tags,"
    " storage_class, retention_mode, retain_until, legal_hold, acl"
)

# What ListObjects reads of a version (ListedObject), in this order: listings read rows by
# position, and the key first.
LISTED_COLUMNS = (
    "key, version_id, last_modified, size, etag, owner, storage_class, checksums, checksum_type"
)

VERSIONING_STATES = ("Enabled", "Suspended")


class Row(Protocol):
    """A database row read by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any: ...


# -- JSON columns --------------------------------------------------------------------------------
# Encoders made once: json.dumps with any argument builds a JSONEncoder per call.
_MAP_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
_LIST_JSON = json.JSONEncoder(separators=(",", ":")).encode


def dump_map(value: Mapping[str, str]) -> str:
    if not value:  # most maps of most rows (a small PUT writes four)
        return "{}"
    return _MAP_JSON(dict(value))


def load_map(text: str) -> dict[str, str]:
    if text == "{}":  # most maps of most rows: skip the JSON decoder (listings read 1,000)
        return {}
    loaded: dict[str, str] = json.loads(text)
    return loaded


def _segment_dict(s: Segment) -> dict[str, Any]:
    d = {
        "blob_id": s.blob_id,
        "size": s.size,
        "part_number": s.part_number,
        "etag": s.etag,
        "checksums": dict(s.checksums),
    }
    if s.codec is not None:
        d["codec"] = s.codec.to_dict()
    if s.inline:
        d["inline"] = True
    return d


def _segment_from(i: Mapping[str, Any]) -> Segment:
    return Segment(
        blob_id=i["blob_id"],
        size=i["size"],
        part_number=i.get("part_number"),
        etag=i.get("etag"),
        checksums=i.get("checksums") or {},
        codec=SegmentCodec.from_dict(i["codec"]) if i.get("codec") else None,
        inline=bool(i.get("inline")),
    )


def dump_segments(segments: Sequence[Segment]) -> str:
    return _LIST_JSON([_segment_dict(s) for s in segments])


def load_segments(text: str) -> tuple[Segment, ...]:
    if text == "[]":
        return ()
    items: list[dict[str, Any]] = json.loads(text)
    return tuple(_segment_from(i) for i in items)


def distinct_blob_ids(segments: Sequence[Segment]) -> list[str]:
    """The blob ids of `segments`, each once, in order (inline segments have none)."""
    return list(dict.fromkeys(s.blob_id for s in segments if not s.inline))


# -- rows -> models ------------------------------------------------------------------------------
def version_from_row(r: Row) -> ObjectVersion:
    return ObjectVersion(
        bucket=r["bucket"],
        key=r["key"],
        version_id=r["version_id"],
        last_modified=r["last_modified"],
        size=r["size"],
        etag=r["etag"],
        is_delete_marker=bool(r["is_delete_marker"]),
        is_latest=bool(r["is_latest"]),
        owner=r["owner"],
        content_type=r["content_type"],
        headers=load_map(r["headers"]),
        user_meta=load_map(r["user_meta"]),
        checksums=load_map(r["checksums"]),
        checksum_type=r["checksum_type"],
        segments=load_segments(r["segments"]),
        tags=load_map(r["tags"]),
        storage_class=r["storage_class"],
        retention_mode=r["retention_mode"],
        retain_until=r["retain_until"],
        legal_hold=bool(r["legal_hold"]),
        acl=r["acl"],
    )


def version_with_data(r: Iterable[Any]) -> ObjectVersion:
    """The version of a row of VERSION_COLUMNS then inline_data (get_object's), with the
    stored bytes of its inline segment. Read by position and built once: by name, and
    rebuilt with its bytes by dataclasses.replace, it cost a small GET 15 µs of the
    readers' thread against 8 (bench/RESULTS.md, "The cyclic collector")."""
    (
        bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified,
        owner, content_type, headers, user_meta, checksums, checksum_type, segments, tags,
        storage_class, retention_mode, retain_until, legal_hold, acl, inline_data,
    ) = r  # fmt: skip
    return ObjectVersion(
        bucket=bucket,
        key=key,
        version_id=version_id,
        last_modified=last_modified,
        size=size,
        etag=etag,
        is_delete_marker=bool(is_delete_marker),
        is_latest=bool(is_latest),
        owner=owner,
        content_type=content_type,
        headers=load_map(headers),
        user_meta=load_map(user_meta),
        checksums=load_map(checksums),
        checksum_type=checksum_type,
        segments=load_segments(segments),
        tags=load_map(tags),
        storage_class=storage_class,
        retention_mode=retention_mode,
        retain_until=retain_until,
        legal_hold=bool(legal_hold),
        acl=acl,
        inline_data=None if inline_data is None else bytes(inline_data),
    )


def first_algorithm(checksums: str) -> str | None:
    """The first key of a checksums map as stored (dump_map: sorted), without decoding it
    whole: a page of 1,000 objects with checksums would parse 1,000 JSON documents."""
    if checksums == "{}":
        return None
    if checksums.startswith('{"'):
        end = checksums.find('"', 2)
        name = checksums[2:end]
        if name.isalnum():  # no escapes in it: the key as written
            return name
    return next(iter(json.loads(checksums)), None)


def listed_from_row(r: Any) -> ListedObject:
    """A LISTED_COLUMNS row (read by position: a name lookup in sqlite3.Row scans the
    column names, and a page reads 1,000 rows)."""
    algorithm = first_algorithm(r[7])
    return ListedObject(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], algorithm, None if algorithm is None else r[8]
    )


def version_params(v: ObjectVersion) -> tuple[Any, ...]:
    """The VERSION_COLUMNS values of `v` except is_latest (the stores insert it as TRUE)."""
    return (
        v.bucket,
        v.key,
        v.version_id,
        v.is_delete_marker,
        v.size,
        v.etag,
        v.last_modified,
        v.owner,
        v.content_type,
        dump_map(v.headers),
        dump_map(v.user_meta),
        dump_map(v.checksums),
        v.checksum_type,
        dump_segments(v.segments),
        dump_map(v.tags),
        v.storage_class,
        v.retention_mode,
        v.retain_until,
        v.legal_hold,
        v.acl,
    )


def bucket_from_row(r: Row) -> Bucket:
    return Bucket(
        name=r["name"],
        owner=r["owner"],
        created=r["created"],
        region=r["region"],
        versioning=r["versioning"],
        object_lock=bool(r["object_lock"]),
    )


def access_key_from_row(r: Row) -> AccessKey:
    return AccessKey(
        r["access_key"],
        r["secret_key"],
        r["user_name"],
        r["created"],
        bool(r["is_root"]),
        r["iam_user"],
        bool(r["active"]),
    )


def user_from_row(r: Row) -> User:
    return User(r["name"], r["created"], bool(r["is_root"]), r["email"])


# -- whole values as JSON (the Redis cache) ------------------------------------------------------
def version_to_json(v: ObjectVersion) -> dict[str, Any]:
    return {
        "bucket": v.bucket,
        "key": v.key,
        "version_id": v.version_id,
        "last_modified": v.last_modified,
        "size": v.size,
        "etag": v.etag,
        "is_delete_marker": v.is_delete_marker,
        "is_latest": v.is_latest,
        "owner": v.owner,
        "content_type": v.content_type,
        "headers": dict(v.headers),
        "user_meta": dict(v.user_meta),
        "checksums": dict(v.checksums),
        "checksum_type": v.checksum_type,
        "segments": [_segment_dict(s) for s in v.segments],
        "tags": dict(v.tags),
        "storage_class": v.storage_class,
        "retention_mode": v.retention_mode,
        "retain_until": v.retain_until,
        "legal_hold": v.legal_hold,
        "acl": v.acl,
        "inline_data": None if v.inline_data is None else b64encode(v.inline_data).decode(),
    }


def version_from_json(d: Mapping[str, Any]) -> ObjectVersion:
    fields = dict(d)
    fields["segments"] = tuple(_segment_from(i) for i in d["segments"])
    data = d.get("inline_data")
    fields["inline_data"] = None if data is None else b64decode(data)
    return ObjectVersion(**fields)


# -- shared transaction logic --------------------------------------------------------------------
def require_bucket(name: str, *, lock: Lock | None = None) -> Tx[Any]:
    """The bucket's row (every column); S3Error NO_SUCH_BUCKET if there is none. Object
    and upload writes hold it with lock="KEY SHARE" (see gateway/meta/buckets.py)."""
    row = yield from one("SELECT * FROM buckets WHERE name = ?", name, lock=lock)
    if row is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    return row


# -- multipart uploads ---------------------------------------------------------------------------
UPLOAD_COLUMNS = (
    "upload_id, bucket, key, initiated, owner, content_type, headers, user_meta,"
    " storage_class, checksum_algorithm, checksum_type, acl, encryption"
)
PART_COLUMNS = "part_number, blob_id, size, etag, checksums, last_modified, codec"


def dump_codec(codec: SegmentCodec | None) -> str | None:
    return None if codec is None else json.dumps(codec.to_dict(), separators=(",", ":"))


def load_codec(text: str | None) -> SegmentCodec | None:
    return None if text is None else SegmentCodec.from_dict(json.loads(text))


def upload_params(u: Upload) -> tuple[Any, ...]:
    """The UPLOAD_COLUMNS values of `u`."""
    return (
        u.upload_id,
        u.bucket,
        u.key,
        u.initiated,
        u.owner,
        u.content_type,
        dump_map(u.headers),
        dump_map(u.user_meta),
        u.storage_class,
        u.checksum_algorithm,
        u.checksum_type,
        u.acl,
        dump_codec(u.encryption),
    )


def upload_from_row(r: Row) -> Upload:
    return Upload(
        bucket=r["bucket"],
        key=r["key"],
        upload_id=r["upload_id"],
        initiated=r["initiated"],
        owner=r["owner"],
        content_type=r["content_type"],
        headers=load_map(r["headers"]),
        user_meta=load_map(r["user_meta"]),
        storage_class=r["storage_class"],
        checksum_algorithm=r["checksum_algorithm"],
        checksum_type=r["checksum_type"],
        acl=r["acl"],
        encryption=load_codec(r["encryption"]),
    )


def part_from_row(r: Row) -> Part:
    return Part(
        number=r["part_number"],
        blob_id=r["blob_id"],
        size=r["size"],
        etag=r["etag"],
        last_modified=r["last_modified"],
        checksums=load_map(r["checksums"]),
        codec=load_codec(r["codec"]),
    )


def completed_from_row(r: Row) -> CompletedUpload:
    return CompletedUpload(
        bucket=r["bucket"],
        key=r["key"],
        upload_id=r["upload_id"],
        version_id=r["version_id"],
        etag=r["etag"],
        parts_digest=r["parts_digest"],
        completed=r["completed"],
    )
