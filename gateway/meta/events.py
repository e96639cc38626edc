"""The event outbox and the event targets table, as transaction bodies (migration 0010).

How this works:

- add_events() runs inside the transaction of the change it reports (put_version,
  delete_object, update_version, put_object_acl, complete_upload, expire_object...): one
  row per matching rule of the EventIntent the request path passed in; no intent, no
  statement. So the row commits, or rolls back, with the change.
- The dispatcher (gateway/jobs/event_dispatch.py) asks due_events() for the oldest pending
  row of each (target, bucket, key) whose next_attempt has come: a later event of a key
  never overtakes an earlier one that is still pending, while other keys go on. A
  delivered row is deleted; a failed one gets attempts + 1 and a later next_attempt, or
  state 'dead' after the last attempt, which lets the key's next event through.
- replay_events() puts dead (or named) rows back to pending; purge_events() deletes them.
- Replication work (migration 0017) rides the same outbox as rows of kind 'replication'
  (add_events queues them from the intent's replication routes, and marks the version
  PENDING in the same transaction); every reader below takes the kind it serves, so the
  event dispatcher and the replication worker (gateway/jobs/replication.py) never see
  each other's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from events.records import EVENT, REPLICATION, EventIntent, OutboxEvent, matching
from gateway.meta.rows import dump_map, load_map
from gateway.meta.sql import Tx, execute, marks, one, rows, value
from gateway.s3.replication import (
    OP_DELETE_MARKER,
    PENDING,
    REPLICA,
    STATUS_HEADER,
    replication_op,
)

_COLUMNS = (
    "id, target, config_id, bucket, key, event_name, event_time, version_id, size, etag,"
    " principal, source_ip, request_id, region, owner, state, attempts, next_attempt, last_error,"
    " kind"
)
_INSERT = (
    "INSERT INTO event_outbox (target, config_id, bucket, key, event_name, event_time,"
    " version_id, size, etag, principal, source_ip, request_id, region, owner, next_attempt,"
    " kind)"
    " VALUES (?, ?, ?, ?, ?, CAST(? AS DOUBLE PRECISION), ?, ?, ?, ?, ?, ?, ?, ?,"
    " CAST(? AS DOUBLE PRECISION), ?)"
)


def _event(row: Any) -> OutboxEvent:
    return OutboxEvent(
        id=int(row["id"]),
        target=row["target"],
        config_id=row["config_id"],
        bucket=row["bucket"],
        key=row["key"],
        event_name=row["event_name"],
        event_time=float(row["event_time"]),
        version_id=row["version_id"],
        size=int(row["size"]),
        etag=row["etag"],
        principal=row["principal"],
        source_ip=row["source_ip"],
        request_id=row["request_id"],
        region=row["region"],
        owner=row["owner"],
        state=row["state"],
        attempts=int(row["attempts"]),
        next_attempt=float(row["next_attempt"]),
        last_error=row["last_error"],
        kind=row["kind"],
    )


def add_events(
    intent: EventIntent | None,
    bucket: str,
    key: str,
    *,
    version_id: str | None = None,
    size: int = 0,
    etag: str = "",
    marker_created: bool = False,
) -> Tx[int]:
    """Queue the intent's event for every rule it matches, and its replication work for
    every route it carries, in the caller's transaction."""
    if intent is None:
        return 0
    name = intent.name(marker_created=marker_created)
    # What every row of this change shares; each rule or route fills in its own target.
    change = OutboxEvent(
        id=0,
        target="",
        config_id="",
        bucket=bucket,
        key=key,
        event_name=name,
        event_time=intent.time,
        version_id=version_id,
        size=size,
        etag=etag,
        principal=intent.principal,
        source_ip=intent.source_ip,
        request_id=intent.request_id,
        region=intent.region,
        owner=intent.owner,
    )
    rules = matching(intent.rules, name, key)
    for rule in rules:
        yield from execute(
            _INSERT, *_values(replace(change, target=rule.target, config_id=rule.id or ""))
        )
    queued = yield from _add_replication(intent, change)
    return len(rules) + queued


def _add_replication(intent: EventIntent, change: OutboxEvent) -> Tx[int]:
    op = replication_op(change.event_name)
    version_id = change.version_id
    if op is None or version_id is None or not intent.replication:
        return 0
    routes = [r for r in intent.replication if op != OP_DELETE_MARKER or r.delete_markers]
    for route in routes:
        work = replace(
            change,
            target=route.destination,
            config_id=route.rule_id,
            event_name=op,
            kind=REPLICATION,
        )
        yield from execute(_INSERT, *_values(work))
    if routes and op != OP_DELETE_MARKER:
        yield from mark_replication(change.bucket, change.key, version_id, PENDING)
    return len(routes)


def _values(event: OutboxEvent) -> tuple[object, ...]:
    """_INSERT's parameters for `event` (id, state, attempts and last_error: the table's
    defaults)."""
    return (
        event.target,
        event.config_id,
        event.bucket,
        event.key,
        event.event_name,
        event.event_time,
        event.version_id,
        event.size,
        event.etag,
        event.principal,
        event.source_ip,
        event.request_id,
        event.region,
        event.owner,
        event.next_attempt,
        event.kind,
    )


def mark_replication(bucket: str, key: str, version_id: str, status: str) -> Tx[bool]:
    """Set a version's x-amz-replication-status (kept with its content headers, so that
    HEAD and GET answer it as stored, through the same cache). A REPLICA stays one: a
    change made on a replica is queued (replica modification sync) but its status tells
    where the version came from, not what is pending."""
    row = yield from one(
        "SELECT headers FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
        bucket,
        key,
        version_id,
    )
    if row is None:
        return False
    headers = load_map(row["headers"])
    if headers.get(STATUS_HEADER) in (status, REPLICA):
        return True
    headers[STATUS_HEADER] = status
    yield from execute(
        "UPDATE versions SET headers = ? WHERE bucket = ? AND key = ? AND version_id = ?",
        dump_map(headers),
        bucket,
        key,
        version_id,
    )
    return True


def queue_event(event: OutboxEvent) -> Tx[int]:
    """Queue one event as given (s3:TestEvent); its id."""
    new_id = yield from value(_INSERT + " RETURNING id", *_values(event))
    return int(new_id)


def due_events(now: float, limit: int = 100, *, kind: str = EVENT) -> Tx[list[OutboxEvent]]:
    """The oldest pending row of `kind` of each (target, bucket, key), if due at `now`."""
    found = yield from rows(
        f"SELECT {_COLUMNS} FROM event_outbox o WHERE o.kind = ? AND o.state = 'pending'"
        " AND o.next_attempt <= CAST(? AS DOUBLE PRECISION)"
        " AND NOT EXISTS (SELECT 1 FROM event_outbox p WHERE p.kind = o.kind"
        " AND p.state = 'pending' AND p.target = o.target AND p.bucket = o.bucket"
        " AND p.key = o.key AND p.id < o.id)"
        " ORDER BY o.id LIMIT ?",
        kind,
        now,
        limit,
    )
    return [_event(r) for r in found]


def next_event_due(after: float, *, kind: str = EVENT) -> Tx[float | None]:
    """The earliest retry time after `after` (None: no pending row waits for one)."""
    at = yield from value(
        "SELECT MIN(next_attempt) FROM event_outbox WHERE kind = ? AND state = 'pending'"
        " AND next_attempt > CAST(? AS DOUBLE PRECISION)",
        kind,
        after,
    )
    return None if at is None else float(at)


def events_delivered(ids: Sequence[int]) -> Tx[None]:
    if ids:
        yield from execute(f"DELETE FROM event_outbox WHERE id IN ({marks(len(ids))})", *ids)


def event_failed(event_id: int, *, error: str, next_attempt: float | None) -> Tx[None]:
    """Count a failed attempt; next_attempt None: give up (state 'dead')."""
    yield from execute(
        "UPDATE event_outbox SET attempts = attempts + 1, last_error = ?, state = ?,"
        " next_attempt = CAST(? AS DOUBLE PRECISION) WHERE id = ?",
        error[:1000],
        "pending" if next_attempt is not None else "dead",
        next_attempt if next_attempt is not None else 0.0,
        event_id,
    )


def outbox_depth(*, kind: str = EVENT) -> Tx[tuple[int, int]]:
    """(pending, dead) row counts."""
    row = yield from one(
        "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS pending,"
        " COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS dead FROM event_outbox"
        " WHERE kind = ?",
        kind,
    )
    return int(row["pending"]), int(row["dead"])


def list_events(
    *, dead: bool = False, limit: int = 1000, kind: str = EVENT
) -> Tx[list[OutboxEvent]]:
    found = yield from rows(
        f"SELECT {_COLUMNS} FROM event_outbox WHERE kind = ? AND state = ? ORDER BY id LIMIT ?",
        kind,
        "dead" if dead else "pending",
        limit,
    )
    return [_event(r) for r in found]


def replay_events(ids: Sequence[int] | None, *, kind: str = EVENT) -> Tx[int]:
    """Dead rows (those of `ids`, or all of them for None) back to pending, at once."""
    sql = (
        "UPDATE event_outbox SET state = 'pending', attempts = 0, next_attempt = 0"
        " WHERE kind = ? AND state = 'dead'"
    )
    if ids is None:
        return (yield from execute(sql, kind))
    if not ids:
        return 0
    return (yield from execute(sql + f" AND id IN ({marks(len(ids))})", kind, *ids))


def purge_events(ids: Sequence[int] | None, *, kind: str = EVENT) -> Tx[int]:
    """Delete dead rows (those of `ids`, or all of them for None)."""
    sql = "DELETE FROM event_outbox WHERE kind = ? AND state = 'dead'"
    if ids is None:
        return (yield from execute(sql, kind))
    if not ids:
        return 0
    return (yield from execute(sql + f" AND id IN ({marks(len(ids))})", kind, *ids))


# -- targets added with `kloudvault admin target add` --------------------------------------------
def put_event_target(name: str, url: str, options: str, now: float) -> Tx[None]:
    yield from execute(
        "INSERT INTO event_targets (name, url, options, created)"
        " VALUES (?, ?, ?, CAST(? AS DOUBLE PRECISION))"
        " ON CONFLICT (name) DO UPDATE SET url = excluded.url, options = excluded.options",
        name,
        url,
        options,
        now,
    )


def reseal_event_target(name: str, stored: tuple[str, str], sealed: tuple[str, str]) -> Tx[bool]:
    """Replace a target's (url, options) if they are still `stored` (events/targets/
    sealing.py seals them at start); whether they were replaced."""
    changed = yield from execute(
        "UPDATE event_targets SET url = ?, options = ? WHERE name = ? AND url = ? AND options = ?",
        *sealed,
        name,
        *stored,
    )
    return changed > 0


def list_event_targets() -> Tx[list[tuple[str, str, str]]]:
    found = yield from rows("SELECT name, url, options FROM event_targets ORDER BY name")
    return [(r["name"], r["url"], r["options"]) for r in found]


def delete_event_target(name: str) -> Tx[bool]:
    return (yield from execute("DELETE FROM event_targets WHERE name = ?", name)) > 0
