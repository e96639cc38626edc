"""Replication targets and the replication side of the outbox, as transaction bodies
(migration 0017). The work rows themselves are queued by gateway/meta/events.py
(add_events) and read with its kind-aware readers; what is here is replication's own:
the operator's targets and the buckets they serve, the status of a version, and resync
(queueing the versions that predate a rule, or failed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from events.records import REPLICATION
from gateway.meta.rows import load_map
from gateway.meta.sql import Tx, execute, many, marks, rows, value
from gateway.s3.replication import FAILED, OP_PUT, STATUS_HEADER


@dataclass(frozen=True)
class ReplicationTarget:
    """An S3 endpoint replicas go to; `secret` as stored (sealed, auth/sealed.py)."""

    name: str
    endpoint: str
    access_key: str
    secret: str
    region: str = "us-east-1"
    kloudvault: bool = False
    buckets: tuple[str, ...] = ()


def put_replication_target(target: ReplicationTarget, now: float) -> Tx[None]:
    """Add or replace a target and the buckets it serves (ValueError: a bucket is another
    target's)."""
    if target.buckets:
        taken = yield from rows(
            "SELECT bucket, target FROM replication_destinations WHERE target <> ?"
            f" AND bucket IN ({', '.join('?' * len(target.buckets))})",
            target.name,
            *target.buckets,
        )
        if taken:
            raise ValueError(f"bucket {taken[0]['bucket']} is served by {taken[0]['target']}")
    yield from execute(
        "INSERT INTO replication_targets (name, endpoint, access_key, secret, region,"
        " kloudvault, created) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION))"
        " ON CONFLICT (name) DO UPDATE SET endpoint = excluded.endpoint,"
        " access_key = excluded.access_key, secret = excluded.secret,"
        " region = excluded.region, kloudvault = excluded.kloudvault",
        target.name,
        target.endpoint,
        target.access_key,
        target.secret,
        target.region,
        target.kloudvault,
        now,
    )
    yield from execute("DELETE FROM replication_destinations WHERE target = ?", target.name)
    yield from many(
        "INSERT INTO replication_destinations (bucket, target) VALUES (?, ?)",
        [(b, target.name) for b in target.buckets],
    )


def list_replication_targets() -> Tx[list[ReplicationTarget]]:
    found = yield from rows(
        "SELECT name, endpoint, access_key, secret, region, kloudvault"
        " FROM replication_targets ORDER BY name"
    )
    served = yield from rows("SELECT bucket, target FROM replication_destinations ORDER BY bucket")
    buckets: dict[str, list[str]] = {}
    for r in served:
        buckets.setdefault(r["target"], []).append(r["bucket"])
    return [
        ReplicationTarget(
            r["name"],
            r["endpoint"],
            r["access_key"],
            r["secret"],
            r["region"],
            bool(r["kloudvault"]),
            tuple(buckets.get(r["name"], ())),
        )
        for r in found
    ]


def delete_replication_target(name: str) -> Tx[bool]:
    yield from execute("DELETE FROM replication_destinations WHERE target = ?", name)
    return (yield from execute("DELETE FROM replication_targets WHERE name = ?", name)) > 0


def resync_replication(
    bucket: str,
    routes: Sequence[tuple[str, str]],
    *,
    now: float,
    failed_only: bool,
    after: str = "",
    limit: int = 1000,
) -> Tx[tuple[int, str | None]]:
    """Queue a copy of the latest versions of `bucket` after key `after` (at most `limit`
    keys; with failed_only, only those whose status is FAILED) for each (rule id,
    destination) route. Returns (rows queued, the last key read, None at the end): the
    caller pages through a large bucket one transaction per page. The worker skips what
    its rule does not cover (tags)."""
    if failed_only and not after:  # queued again below: the given-up rows go
        yield from execute(
            "DELETE FROM event_outbox WHERE kind = ? AND state = 'dead' AND bucket = ?",
            REPLICATION,
            bucket,
        )
    found = yield from rows(
        "SELECT key, version_id, size, etag, headers FROM versions WHERE bucket = ?"
        " AND key > ? AND is_latest AND NOT is_delete_marker ORDER BY key LIMIT ?",
        bucket,
        after,
        limit,
    )
    queued = 0
    for r in found:
        if failed_only and load_map(r["headers"]).get(STATUS_HEADER) != FAILED:
            continue
        for rule_id, destination in routes:
            yield from execute(
                "INSERT INTO event_outbox (target, config_id, bucket, key, event_name,"
                " event_time, version_id, size, etag, next_attempt, kind)"
                " VALUES (?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?, ?, 0, ?)",
                destination,
                rule_id,
                bucket,
                r["key"],
                OP_PUT,
                now,
                r["version_id"],
                int(r["size"]),
                r["etag"],
                REPLICATION,
            )
            queued += 1
    last = found[-1]["key"] if len(found) == limit else None
    return queued, last


def other_replication_work(
    exclude: Sequence[int], bucket: str, key: str, version_id: str
) -> Tx[int]:
    """Replication rows of the same version, pending or given up, but those of `exclude`
    (copied in this round): while there are any, the version is not COMPLETED (one
    change, several destinations: all of them)."""
    sql = (
        "SELECT COUNT(*) FROM event_outbox WHERE kind = ? AND bucket = ? AND key = ?"
        " AND version_id = ?"
    )
    if exclude:
        sql += f" AND id NOT IN ({marks(len(exclude))})"
    count = yield from value(sql, REPLICATION, bucket, key, version_id, *exclude)
    return int(count)


def oldest_pending_replication() -> Tx[float | None]:
    """When the oldest pending replication row was queued (the lag metric)."""
    at = yield from value(
        "SELECT MIN(event_time) FROM event_outbox WHERE kind = ? AND state = 'pending'",
        REPLICATION,
    )
    return None if at is None else float(at)
