"""The blob collector: deletes blobs nothing uses any more (DESIGN.md, "Write path", step 5).

    meta.collectable_blobs()  garbage older than the grace period (replaced or deleted
          │                   versions: the grace lets reads that already started finish)
          │                   + pending older than the TTL (uploads that crashed)
          ▼
    backend.delete_blob()     a blob already gone is fine; a backend error leaves the
          │                   row in place for the next run
          ▼
    meta.forget_blobs()       only the blobs actually deleted

A backend with `clean_stale_temp` (the local one) also gets its abandoned temp files
removed, and one with `abort_stale_uploads` (s3) its abandoned multipart uploads aborted,
both after --pending-ttl. tus uploads past their Upload-Expires are aborted first
(gateway/tus/), so their parts' blobs join the garbage. Safe to run in several processes
at once, though one is enough (`serve` runs it in its first worker only).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from backends.base import Backend, BackendError, BlobNotFound
from gateway.jobs.failures import log_failed_round
from gateway.jobs.leader import cancel_and_wait
from gateway.meta.base import MetaStore
from gateway.metrics.series import COLLECTOR_DELETED

log = logging.getLogger(__name__)

BATCH = 1000
DELETE_CONCURRENCY = 16


@runtime_checkable
class _HasStaleTemp(Protocol):
    def clean_stale_temp(self, *, max_age: float, now: float | None = None) -> Awaitable[int]: ...


@runtime_checkable
class _HasStaleUploads(Protocol):
    def abort_stale_uploads(
        self, older_than: float, *, now: float | None = None
    ) -> Awaitable[int]: ...


async def _delete(backend: Backend, blob_id: str, limiter: asyncio.Semaphore) -> bool:
    async with limiter:
        try:
            await backend.delete_blob(blob_id)
        except BlobNotFound:
            pass  # deleted by an earlier run that could not forget it
        except BackendError as exc:
            log.warning(
                "collector: cannot delete blob %s (kept for the next run): %s", blob_id, exc
            )
            return False
    return True


async def collect_once(
    meta: MetaStore,
    backend: Backend,
    *,
    now: float,
    garbage_grace: float,
    pending_ttl: float,
    batch: int = BATCH,
) -> int:
    """Delete every collectable blob; return how many were deleted."""
    limiter = asyncio.Semaphore(DELETE_CONCURRENCY)
    total = 0
    while True:
        ids = await meta.collectable_blobs(
            garbage_before=now - garbage_grace, pending_before=now - pending_ttl, limit=batch
        )
        if not ids:
            break
        done = await asyncio.gather(*(_delete(backend, b, limiter) for b in ids))
        deleted = [b for b, ok in zip(ids, done, strict=True) if ok]
        if deleted:
            await meta.forget_blobs(deleted)
            COLLECTOR_DELETED.inc(len(deleted))
        total += len(deleted)
        # Stop on a short batch, or when the backend refused: the rest waits a run.
        if len(ids) < batch or len(deleted) < len(ids):
            break
    if isinstance(backend, _HasStaleTemp):
        try:
            removed = await backend.clean_stale_temp(max_age=pending_ttl, now=now)
        except BackendError as exc:
            log.warning("collector: cannot clean temp files: %s", exc)
        else:
            if removed:
                log.info("collector: removed %d stale temp files", removed)
    if isinstance(backend, _HasStaleUploads):
        try:
            aborted = await backend.abort_stale_uploads(pending_ttl, now=now)
        except BackendError as exc:
            log.warning("collector: cannot abort stale multipart uploads: %s", exc)
        else:
            if aborted:
                log.info("collector: aborted %d stale multipart uploads", aborted)
    return total


class Collector:
    """Runs collect_once every `interval` seconds as an asyncio task."""

    def __init__(
        self,
        meta: MetaStore,
        backend: Backend,
        *,
        interval: float = 60.0,
        garbage_grace: float = 900.0,
        pending_ttl: float = 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.meta = meta
        self.backend = backend
        self.interval = interval
        self.garbage_grace = garbage_grace
        self.pending_ttl = pending_ttl
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        expired = await self.meta.abort_expired_tus_uploads(self.clock(), BATCH)
        if expired:
            log.info("collector: aborted %d expired tus uploads", expired)
        count = await collect_once(
            self.meta,
            self.backend,
            now=self.clock(),
            garbage_grace=self.garbage_grace,
            pending_ttl=self.pending_ttl,
        )
        if count:
            log.info("collector: deleted %d blobs", count)
        return count

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="collector")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                # The metadata store may be briefly unavailable; try again next interval.
                log_failed_round(log, exc, "collector: run failed")
            await asyncio.sleep(self.interval)
