"""Quotas (migration 0012) as transaction bodies: set, clear, read, and the check that
runs inside every write transaction that grows a bucket's usage.

How the check stays exact across replicas: enforce() runs after the write moved
bucket_usage (gateway/meta/usage.py) in the same transaction. It locks the quota rows that
apply (the bucket's, then its owner's: always in that order) FOR UPDATE, then sums the
usage. On PostgreSQL (READ COMMITTED) each statement reads the latest commits, so the sum
taken once the lock is held includes every write that held it before; two writers near the
limit take turns and the second sees the first. A write over the limit raises
QuotaExceeded and the whole transaction, version row and usage included, rolls back.
SQLite holds the database for the transaction, so the same statements suffice. Buckets
without quotas pay two primary-key probes and lock nothing.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.quota import Quota, QuotaUse, Scope, Usage, describe, exceeded
from gateway.meta.rows import require_bucket
from gateway.meta.sql import Tx, execute, one, rows

_BUCKET_USAGE = (
    "SELECT COALESCE(SUM(objects), 0) AS objects, COALESCE(SUM(bytes), 0) AS bytes"
    " FROM bucket_usage WHERE bucket = ?"
)
_ACCOUNT_USAGE = (
    "SELECT COALESCE(SUM(u.objects), 0) AS objects, COALESCE(SUM(u.bytes), 0) AS bytes"
    " FROM bucket_usage u JOIN buckets b ON b.name = u.bucket WHERE b.owner = ?"
)
# scope -> (table, key column, usage query)
_TABLES: dict[str, tuple[str, str, str]] = {
    "bucket": ("bucket_quotas", "bucket", _BUCKET_USAGE),
    "account": ("account_quotas", "account", _ACCOUNT_USAGE),
}


def _usage(row: Any) -> Usage:
    return Usage(int(row["objects"]), int(row["bytes"]))


def _quota(scope: Scope, name: str, row: Any) -> Quota:
    def num(v: Any) -> int | None:
        return None if v is None else int(v)

    return Quota(scope, name, num(row["max_bytes"]), num(row["max_objects"]))


def set_quota(scope: Scope, name: str, max_bytes: int | None, max_objects: int | None) -> Tx[None]:
    """Set (replace) the quota of a bucket or account. S3Error NO_SUCH_BUCKET for a bucket
    that does not exist; KeyError for an unknown account."""
    table, column, _ = _TABLES[scope]
    if scope == "bucket":
        yield from require_bucket(name, lock="KEY SHARE")
    elif (yield from one("SELECT name FROM users WHERE name = ?", name, lock="KEY SHARE")) is None:
        raise KeyError(name)
    yield from execute(
        f"INSERT INTO {table} ({column}, max_bytes, max_objects) VALUES (?, ?, ?)"
        f" ON CONFLICT ({column}) DO UPDATE SET max_bytes = excluded.max_bytes,"
        " max_objects = excluded.max_objects",
        name,
        max_bytes,
        max_objects,
    )


def clear_quota(scope: Scope, name: str) -> Tx[bool]:
    table, column, _ = _TABLES[scope]
    return (yield from execute(f"DELETE FROM {table} WHERE {column} = ?", name)) > 0


def list_quotas() -> Tx[list[QuotaUse]]:
    """Every quota with what it limits now (for `admin quota show` and the metrics)."""
    buckets = yield from rows(
        "SELECT q.bucket AS name, q.max_bytes, q.max_objects,"
        " COALESCE(SUM(u.objects), 0) AS objects, COALESCE(SUM(u.bytes), 0) AS bytes"
        " FROM bucket_quotas q LEFT JOIN bucket_usage u ON u.bucket = q.bucket"
        " GROUP BY q.bucket, q.max_bytes, q.max_objects ORDER BY q.bucket"
    )
    accounts = yield from rows(
        "SELECT q.account AS name, q.max_bytes, q.max_objects,"
        " COALESCE(SUM(u.objects), 0) AS objects, COALESCE(SUM(u.bytes), 0) AS bytes"
        " FROM account_quotas q LEFT JOIN buckets b ON b.owner = q.account"
        " LEFT JOIN bucket_usage u ON u.bucket = b.name"
        " GROUP BY q.account, q.max_bytes, q.max_objects ORDER BY q.account"
    )
    out = [QuotaUse(_quota("bucket", r["name"], r), _usage(r)) for r in buckets]
    return out + [QuotaUse(_quota("account", r["name"], r), _usage(r)) for r in accounts]


def _applying(bucket: str, owner: str, *, lock: bool) -> Tx[list[QuotaUse]]:
    """The quotas on `bucket` and on `owner`, with usage read after locking them."""
    found: list[QuotaUse] = []
    targets: tuple[tuple[Scope, str], ...] = (("bucket", bucket), ("account", owner))
    for scope, name in targets:
        table, column, usage_sql = _TABLES[scope]
        row = yield from one(
            f"SELECT max_bytes, max_objects FROM {table} WHERE {column} = ?",
            name,
            lock="UPDATE" if lock else None,
        )
        if row is not None:
            used = _usage((yield from one(usage_sql, name)))
            found.append(QuotaUse(_quota(scope, name, row), used))
    return found


def quota_uses(
    bucket: str, *, upload_id: str | None = None, part_number: int | None = None
) -> Tx[list[QuotaUse]]:
    """The quotas a write into `bucket` must stay within, with current usage; an upload's
    part candidates count as used already, but part_number's latest one (which a retried
    upload of the same bytes replaces: MetaStore.put_part)."""
    row = yield from one("SELECT owner FROM buckets WHERE name = ?", bucket)
    if row is None:
        return []
    uses = yield from _applying(bucket, row["owner"], lock=False)
    if uses and upload_id is not None:
        pending = yield from one(
            "SELECT COALESCE(SUM(size), 0) AS bytes FROM upload_parts WHERE upload_id = ?",
            upload_id,
        )
        replaced = yield from one(
            "SELECT size FROM upload_parts WHERE upload_id = ? AND part_number = ?"
            " ORDER BY last_modified DESC, blob_id DESC LIMIT 1",
            upload_id,
            part_number,
        )
        held = int(pending["bytes"]) - (0 if replaced is None else int(replaced["size"]))
        extra = Usage(0, held)
        uses = [QuotaUse(u.quota, u.used + extra) for u in uses]
    return uses


def enforce(bucket: str, owner: str, delta: Usage) -> Tx[None]:
    """In a write transaction that already moved usage by `delta`: QuotaExceeded if that
    took the bucket or its owner over a quota (see the module docstring)."""
    if delta.objects <= 0 and delta.bytes <= 0:
        return
    for use in (yield from _applying(bucket, owner, lock=True)):
        dimension = exceeded(use.quota, use.used, delta)
        if dimension is not None:
            raise S3Error(S3ErrorCode.QUOTA_EXCEEDED, describe(use.quota, dimension))
