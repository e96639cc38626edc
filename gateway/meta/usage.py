"""Per-bucket usage (objects, bytes) as transaction bodies: moved with each version row.

objects.py calls add() wherever a version row is inserted or deleted, inside that
transaction; bucket_usage() reads the sums for the metrics scrape (and, later, quotas).
Rows are striped by a hash of the key (migration 0006 says why), so one key always adds to
the same row: its writers already queue on the key's lock, writers of other keys mostly
touch other rows.
"""

from __future__ import annotations

import zlib

from gateway.meta.base import BucketUsage
from gateway.meta.sql import Tx, execute, rows

SHARDS = 16


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % SHARDS


def add(bucket: str, key: str, objects: int, size: int) -> Tx[None]:
    """Count `objects` more versions of `size` bytes in all (negative: fewer) in `bucket`."""
    yield from execute(
        "INSERT INTO bucket_usage (bucket, shard, objects, bytes) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (bucket, shard) DO UPDATE SET objects = bucket_usage.objects"
        " + excluded.objects, bytes = bucket_usage.bytes + excluded.bytes",
        bucket,
        shard_of(key),
        objects,
        size,
    )


def bucket_usage(limit: int = 1000) -> Tx[list[BucketUsage]]:
    found = yield from rows(
        "SELECT bucket, SUM(objects) AS objects, SUM(bytes) AS bytes FROM bucket_usage"
        " GROUP BY bucket ORDER BY SUM(bytes) DESC, bucket LIMIT ?",
        limit,
    )
    return [BucketUsage(r["bucket"], int(r["objects"]), int(r["bytes"])) for r in found]
