"""The replication worker: copies the outbox's replication rows to their destinations.

How this works: the event dispatcher's loop (gateway/jobs/event_dispatch.py,
OutboxDispatcher) on the rows of kind 'replication': one replica at a time holds the
"replication" leader lock (PostgreSQL; SQLite: the first worker process), it wakes on
this process's commits (Services.replication_queued) or every POLL seconds, takes the
oldest pending row of each (destination, bucket, key), so a key's changes are copied in
order, and copies them concurrently (gateway/replication/copy.py). A copied row is
deleted; a failed one is tried again after backoff * 2^(attempts-1) (capped), so a
destination that is down is retried until it is back; after --replication-attempts (or
at once when retrying cannot help: an SSE-C object) the row is 'dead' and the source
version's status FAILED; `kloudvault admin replication resync --failed` queues those
again. A crash between a copy and the deletion of its row copies again: to a KloudVault
that is a no-op (the version id is kept), elsewhere the same bytes once more.
"""

from __future__ import annotations

import logging
from typing import Any

from events.records import REPLICATION, OutboxEvent
from gateway.jobs.event_dispatch import DEAD, DELIVERED, RETRY, OutboxDispatcher
from gateway.metrics.series import REPLICATION_COPIED, REPLICATION_FAILED, REPLICATION_LATENCY
from gateway.replication.copy import COPIED, Copier, ReplicationError
from gateway.replication.targets import TargetClients
from gateway.s3.replication import COMPLETED, FAILED, OP_DELETE_MARKER

log = logging.getLogger(__name__)


class ReplicationWorker(OutboxDispatcher):
    NAME = "replication"
    KIND = REPLICATION

    def __init__(self, copier: Copier, clients: TargetClients, **options: Any) -> None:
        super().__init__(clients.outbox, **options)
        self.copier = copier
        self.clients = clients
        self._copied: set[int] = set()  # this round's rows that copied something

    async def _delivered(self, rows: list[OutboxEvent]) -> None:
        """Each version copied this round is COMPLETED when no other row of it is left
        (all its destinations, all its changes)."""
        ids = [e.id for e in rows]
        copied, self._copied = self._copied, set()
        seen: set[tuple[str, str, str]] = set()
        for e in rows:
            version_id = e.version_id
            if e.id not in copied or version_id is None or e.event_name == OP_DELETE_MARKER:
                continue
            if (e.bucket, e.key, version_id) in seen:
                continue
            seen.add((e.bucket, e.key, version_id))
            try:
                if await self.outbox.other_replication_work(ids, e.bucket, e.key, version_id):
                    continue
                version = await self.copier.services.meta.get_object(e.bucket, e.key, version_id)
                if version is not None:
                    await self.copier.mark(version, COMPLETED)
            except Exception:  # the status only: the copies are made
                log.exception("replication: cannot mark %s/%s COMPLETED", e.bucket, e.key)

    async def _close(self) -> None:
        await self.clients.close()

    async def _deliver(self, event: OutboxEvent) -> str:
        async with self._limiter:
            try:
                outcome = await self.copier.copy(event)
            except Exception as exc:  # ReplicationError, a backend error, a bug: retried alike
                return await self._failed(event, exc)
        if outcome == COPIED:
            self._copied.add(event.id)
            latency = max(0.0, self.clock() - event.event_time)
            self._slowest = max(self._slowest, latency)
            REPLICATION_COPIED.labels(event.target).inc()
            REPLICATION_LATENCY.labels(event.target).observe(latency)
        return DELIVERED

    async def _failed(self, event: OutboxEvent, exc: Exception) -> str:
        self.clients.stale()
        failures = event.attempts + 1
        error = str(exc) if isinstance(exc, ReplicationError) else repr(exc)
        permanent = isinstance(exc, ReplicationError) and exc.permanent
        where = f"{event.bucket}/{event.key} ({event.version_id}) to {event.target}"
        if permanent or failures >= self.attempts:
            next_attempt = None
            REPLICATION_FAILED.labels(event.target, "dead").inc()
            log.warning("replication: %s of %s: giving up after %d attempts: %s",
                        event.event_name, where, failures, error)  # fmt: skip
            try:
                version = await self.copier.services.meta.get_object(
                    event.bucket, event.key, event.version_id
                )
                if version is not None:
                    await self.copier.mark(version, FAILED)
            except Exception:
                log.exception("replication: cannot mark %s FAILED", where)
        else:
            next_attempt = self.clock() + self.delay(failures)
            REPLICATION_FAILED.labels(event.target, "retry").inc()
            log.info("replication: %s of %s failed (attempt %d): %s",
                     event.event_name, where, failures, error)  # fmt: skip
        await self.outbox.event_failed(event.id, error=error, next_attempt=next_attempt)
        return RETRY if next_attempt is not None else DEAD
