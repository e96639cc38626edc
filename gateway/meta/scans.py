"""The malware scan's pending list (migration 0014) as transaction bodies.

A claim is one UPDATE whose outer WHERE repeats `due <= now`: PostgreSQL re-evaluates it
on a row a concurrent claim has just moved (READ COMMITTED), so two replicas never both
claim a row; SQLite's writes are serial.
"""

from __future__ import annotations

from typing import Any

from gateway.meta.base import PendingScan
from gateway.meta.sql import Tx, execute, rows

_COLUMNS = "bucket, key, version_id, enqueued, due, attempts"


def _pending(row: Any) -> PendingScan:
    return PendingScan(
        bucket=row["bucket"],
        key=row["key"],
        version_id=row["version_id"],
        enqueued=float(row["enqueued"]),
        due=float(row["due"]),
        attempts=int(row["attempts"]),
    )


def add_pending_scan(bucket: str, key: str, version_id: str, *, now: float, due: float) -> Tx[None]:
    yield from execute(
        f"INSERT INTO pending_scans ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0)"
        " ON CONFLICT (bucket, key, version_id) DO NOTHING",
        bucket,
        key,
        version_id,
        now,
        due,
    )


def claim_pending_scans(now: float, until: float, limit: int) -> Tx[list[PendingScan]]:
    found = yield from rows(
        "UPDATE pending_scans SET due = ?"
        " WHERE (bucket, key, version_id) IN (SELECT bucket, key, version_id FROM pending_scans"
        " WHERE due <= ? ORDER BY due LIMIT ?) AND due <= ?"
        f" RETURNING {_COLUMNS}",
        until,
        now,
        limit,
        now,
    )
    return sorted((_pending(r) for r in found), key=lambda p: p.enqueued)


def retry_pending_scan(bucket: str, key: str, version_id: str, due: float) -> Tx[None]:
    yield from execute(
        "UPDATE pending_scans SET due = ?, attempts = attempts + 1"
        " WHERE bucket = ? AND key = ? AND version_id = ?",
        due,
        bucket,
        key,
        version_id,
    )


def drop_pending_scan(bucket: str, key: str, version_id: str) -> Tx[None]:
    yield from execute(
        "DELETE FROM pending_scans WHERE bucket = ? AND key = ? AND version_id = ?",
        bucket,
        key,
        version_id,
    )
