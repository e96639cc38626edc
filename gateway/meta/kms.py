"""The built-in KMS's keys, and the rows whose segments carry codec parameters, as
transaction bodies (gateway/codec/kms.py and gateway/kms_admin.py use them).

Coded rows are found by a LIKE on their segments' JSON and changed only if that JSON is
still what was read (a compare-and-swap): a rotation running beside live writes re-seals
what it read or leaves the row to the write that replaced it.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.meta.base import CodedRow, KmsKey, Segment
from gateway.meta.rows import dump_codec, dump_segments, load_codec, load_segments
from gateway.meta.sql import Tx, UniqueViolation, execute, one, rows

_COLUMNS = "key_id, account, alias, description, enabled, versions, created"


def _key(row: Any) -> KmsKey:
    return KmsKey(
        key_id=row["key_id"],
        account=row["account"],
        alias=row["alias"],
        description=row["description"],
        enabled=bool(row["enabled"]),
        versions=tuple(json.loads(row["versions"])),
        created=float(row["created"]),
    )


def create_kms_key(key: KmsKey) -> Tx[None]:
    try:
        yield from execute(
            f"INSERT INTO kms_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            key.key_id,
            key.account,
            key.alias,
            key.description,
            key.enabled,
            json.dumps(list(key.versions)),
            key.created,
        )
    except UniqueViolation as exc:
        raise KeyError(f"KMS key {key.key_id} or alias {key.alias} exists") from exc


def get_kms_key(key_id: str) -> Tx[KmsKey | None]:
    row = yield from one(f"SELECT {_COLUMNS} FROM kms_keys WHERE key_id = ?", key_id)
    return None if row is None else _key(row)


def find_kms_alias(account: str, alias: str) -> Tx[KmsKey | None]:
    row = yield from one(
        f"SELECT {_COLUMNS} FROM kms_keys WHERE account = ? AND alias = ?", account, alias
    )
    return None if row is None else _key(row)


def list_kms_keys(account: str | None = None) -> Tx[list[KmsKey]]:
    found = yield from rows(
        f"SELECT {_COLUMNS} FROM kms_keys WHERE CAST(? AS TEXT) IS NULL OR account = ?"
        " ORDER BY created, key_id",
        account,
        account,
    )
    return [_key(r) for r in found]


def set_kms_key_enabled(key_id: str, enabled: bool) -> Tx[bool]:
    changed = yield from execute(
        "UPDATE kms_keys SET enabled = ? WHERE key_id = ?", enabled, key_id
    )
    return changed > 0


def add_kms_key_version(key_id: str, version: int, sealed_material: str) -> Tx[KmsKey | None]:
    row = yield from one("SELECT versions FROM kms_keys WHERE key_id = ?", key_id, lock="UPDATE")
    if row is None or len(json.loads(row["versions"])) != version:
        return None
    versions = [*json.loads(row["versions"]), sealed_material]
    yield from execute(
        "UPDATE kms_keys SET versions = ? WHERE key_id = ?", json.dumps(versions), key_id
    )
    return (yield from get_kms_key(key_id))


def replace_kms_key_versions(key_id: str, old: tuple[str, ...], new: tuple[str, ...]) -> Tx[bool]:
    changed = yield from execute(
        "UPDATE kms_keys SET versions = ? WHERE key_id = ? AND versions = ?",
        json.dumps(list(new)),
        key_id,
        json.dumps(list(old)),
    )
    return changed > 0


def _like(contains: str) -> str:
    escaped = contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def coded_versions(
    contains: str, after: tuple[str, str, str] = ("", "", ""), limit: int = 500
) -> Tx[list[CodedRow]]:
    found = yield from rows(
        "SELECT bucket, key, version_id, segments FROM versions"
        " WHERE (bucket, key, version_id) > (?, ?, ?) AND segments LIKE ? ESCAPE '\\'"
        " ORDER BY bucket, key, version_id LIMIT ?",
        *after,
        _like(contains),
        limit,
    )
    return [
        CodedRow(
            r["bucket"],
            r["key"],
            r["version_id"],
            None,
            load_segments(r["segments"]),
            r["segments"],
        )
        for r in found
    ]


def coded_parts(
    contains: str, after: tuple[str, int, str] = ("", 0, ""), limit: int = 500
) -> Tx[list[CodedRow]]:
    found = yield from rows(
        "SELECT u.bucket, u.key, p.upload_id, p.part_number, p.blob_id, p.size, p.codec"
        " FROM upload_parts p JOIN uploads u ON u.upload_id = p.upload_id"
        " WHERE (p.upload_id, p.part_number, p.blob_id) > (?, ?, ?)"
        " AND p.codec LIKE ? ESCAPE '\\'"
        " ORDER BY p.upload_id, p.part_number, p.blob_id LIMIT ?",
        *after,
        _like(contains),
        limit,
    )
    return [
        CodedRow(
            r["bucket"],
            r["key"],
            None,
            r["upload_id"],
            (
                Segment(
                    r["blob_id"],
                    int(r["size"]),
                    int(r["part_number"]),
                    codec=load_codec(r["codec"]),
                ),
            ),
            r["codec"],
        )
        for r in found
    ]


def replace_segments(row: CodedRow, segments: tuple[Segment, ...]) -> Tx[bool]:
    if row.upload_id is None:
        changed = yield from execute(
            "UPDATE versions SET segments = ?"
            " WHERE bucket = ? AND key = ? AND version_id = ? AND segments = ?",
            dump_segments(segments),
            row.bucket,
            row.key,
            row.version_id,
            row.raw,
        )
        return changed > 0
    changed = yield from execute(
        # One row per candidate: its blob id names it (migration 0019).
        "UPDATE upload_parts SET codec = ? WHERE upload_id = ? AND blob_id = ? AND codec = ?",
        dump_codec(segments[0].codec),
        row.upload_id,
        row.segments[0].blob_id,
        row.raw,
    )
    return changed > 0
