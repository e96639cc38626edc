"""Blob bookkeeping (DESIGN.md, "Write path"): the pending and garbage lists, and which
blobs versions and upload parts use, as transaction bodies.

A blob is pending from before its bytes are written until a version or part claims it;
garbage once nothing uses it; collectable from garbage after a grace period, or from
pending when its upload is stale (crashed). version_blobs mirrors every version's
segments, so "is this blob used" is an index probe; upload_parts is indexed by blob too.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import BlobBacklog
from gateway.meta.sql import Tx, execute, many, marks, rows, value

# Every table naming blobs the store accounts for (known_blobs); 4 x 200 parameters stay
# under SQLite's oldest limit of 999 per statement.
_BLOB_TABLES = ("version_blobs", "upload_parts", "pending_blobs", "garbage_blobs")
_KNOWN_BATCH = 200

# Neither list ever hands out a blob that a version or part uses (defence in depth).
_UNUSED = (
    " AND NOT EXISTS (SELECT 1 FROM version_blobs v WHERE v.blob_id = {t}.blob_id)"
    " AND NOT EXISTS (SELECT 1 FROM upload_parts u WHERE u.blob_id = {t}.blob_id)"
)


def to_garbage(blob_ids: Sequence[str], since: float) -> Tx[None]:
    """Put blobs on the garbage list (kept with their first `since` if already there)."""
    yield from many(
        "INSERT INTO garbage_blobs (blob_id, since) VALUES (?, ?) ON CONFLICT (blob_id) DO NOTHING",
        [(b, since) for b in blob_ids],
    )


def add_pending_blob(blob_id: str, *, now: float) -> Tx[None]:
    yield from execute("INSERT INTO pending_blobs (blob_id, created) VALUES (?, ?)", blob_id, now)


def drop_pending_blob(blob_id: str) -> Tx[None]:
    yield from execute("DELETE FROM pending_blobs WHERE blob_id = ?", blob_id)


def claim_pending(blob_ids: Sequence[str]) -> Tx[None]:
    """Take blobs off the pending list for a version or part that now uses them; S3Error
    INTERNAL_ERROR if one is no longer pending (collected as stale: its bytes may be gone)."""
    for blob_id in blob_ids:
        if (yield from execute("DELETE FROM pending_blobs WHERE blob_id = ?", blob_id)) != 1:
            raise S3Error(S3ErrorCode.INTERNAL_ERROR, f"blob {blob_id} is not pending")


def collectable_blobs(
    *, garbage_before: float, pending_before: float, limit: int = 1000
) -> Tx[list[str]]:
    # Stale pending blobs are *claimed*: moved to garbage in this transaction. An upload
    # that wakes up after this fails its put_object (the blob is no longer pending)
    # instead of publishing a version whose blob the collector is about to delete.
    # SKIP LOCKED (PostgreSQL): a pending row a PUT is publishing right now is that PUT's.
    claimed = yield from rows(
        "SELECT blob_id, created FROM pending_blobs p WHERE created < ?"
        + _UNUSED.format(t="p")
        + " ORDER BY created LIMIT ?",
        pending_before,
        limit,
        lock="UPDATE SKIP LOCKED",
    )
    yield from many(
        "DELETE FROM pending_blobs WHERE blob_id = ?", [(r["blob_id"],) for r in claimed]
    )
    yield from many(
        "INSERT INTO garbage_blobs (blob_id, since) VALUES (?, ?) ON CONFLICT (blob_id) DO NOTHING",
        [(r["blob_id"], r["created"]) for r in claimed],
    )
    ids: dict[str, None] = dict.fromkeys(r["blob_id"] for r in claimed)
    garbage = yield from rows(
        "SELECT blob_id FROM garbage_blobs g WHERE since < ?"
        + _UNUSED.format(t="g")
        + " ORDER BY since LIMIT ?",
        garbage_before,
        limit,
    )
    ids.update(dict.fromkeys(r["blob_id"] for r in garbage))
    return list(ids)[:limit]


def forget_blobs(blob_ids: Sequence[str]) -> Tx[None]:
    params = [(b,) for b in blob_ids]
    yield from many("DELETE FROM pending_blobs WHERE blob_id = ?", params)
    yield from many("DELETE FROM garbage_blobs WHERE blob_id = ?", params)


def blob_is_referenced(blob_id: str) -> Tx[bool]:
    found = yield from value(
        "SELECT 1 FROM version_blobs WHERE blob_id = ?"
        " UNION ALL SELECT 1 FROM upload_parts WHERE blob_id = ? LIMIT 1",
        blob_id,
        blob_id,
    )
    return found is not None


def referenced_blobs(after: str = "", limit: int = 1000) -> Tx[list[str]]:
    # Each side walks its blob_id index (version_blobs' primary key, upload_parts_by_blob)
    # for at most `limit` ids; UNION merges and deduplicates them.
    found = yield from rows(
        "SELECT blob_id FROM ("
        " SELECT * FROM (SELECT DISTINCT blob_id FROM version_blobs WHERE blob_id > ?"
        "  ORDER BY blob_id LIMIT ?) vb"
        " UNION"
        " SELECT * FROM (SELECT DISTINCT blob_id FROM upload_parts WHERE blob_id > ?"
        "  ORDER BY blob_id LIMIT ?) up"
        ") ids ORDER BY blob_id LIMIT ?",
        after,
        limit,
        after,
        limit,
        limit,
    )
    return [r["blob_id"] for r in found]


def known_blobs(blob_ids: Sequence[str]) -> Tx[set[str]]:
    known: set[str] = set()
    ids = list(dict.fromkeys(blob_ids))
    for start in range(0, len(ids), _KNOWN_BATCH):
        batch = ids[start : start + _KNOWN_BATCH]
        sql = " UNION ".join(
            f"SELECT blob_id FROM {table} WHERE blob_id IN ({marks(len(batch))})"
            for table in _BLOB_TABLES
        )
        known.update(r["blob_id"] for r in (yield from rows(sql, *(batch * len(_BLOB_TABLES)))))
    return known


def blob_backlog(*, cap: int) -> Tx[BlobBacklog]:
    # Capped: a scrape stays cheap after a mass delete left millions of garbage rows.
    counts = []
    for table in ("pending_blobs", "garbage_blobs"):
        n = yield from value(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT ?) s", cap)
        counts.append(int(n or 0))
    return BlobBacklog(*counts)
