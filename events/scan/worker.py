"""--scan-mode async: each new object is stored, then scanned right after, in the background.

How this works:
  1. After the commit, `enqueue_scan` records the version in the pending list (the
     `pending_scans` table, migration 0014) claimed for a lease, and starts a task that
     scans it. At most --scan-concurrency scans run at once per process; past a backlog
     of tasks, new rows are left to the sweep instead of piling up tasks.
  2. The scan reads the version back (events/scan/stored.py). Clean: the row is deleted.
     Infected: the version is quarantined (events/scan/quarantine.py), the hooks run
     (the "quarantined" event), the row is deleted. clamd unreachable or failing: the row
     is due again after an exponential backoff. Not scannable at all (too large, SSE-C):
     --scan-fail closed quarantines it as `unscanned`, open logs it; the row is deleted.
  3. A sweep (at start, then every SWEEP_INTERVAL) claims due rows: those a restart or a
     crash left behind (their lease ran out), those of another replica that died, and
     retries. A claim is atomic, so replicas never scan the same row at once.

Between the commit and the verdict the object is readable as any other: that window is
what async mode trades for not making the client wait on clamd. The row is written just
after the commit (not in its transaction): a crash in between leaves that one version
unscanned; the outbox of the events branch can close that gap by writing the row in the
commit's transaction.
"""

from __future__ import annotations

import asyncio
import logging

from events.scan.clamd import ClamdClient
from events.scan.protocol import Clean, Infected, ScanFailed, Verdict
from events.scan.quarantine import (
    INFECTED,
    UNSCANNED,
    QuarantineHook,
    quarantine,
)
from events.scan.stored import scan_version
from gateway.context import Services
from gateway.errors import S3Error
from gateway.meta.base import ObjectVersion, PendingScan

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 30.0
SWEEP_BATCH = 100
RETRY_BASE = 5.0  # seconds before the first retry; doubled each time
RETRY_MAX = 600.0
MAX_BACKLOG = 1000  # tasks waiting for a slot, per process


class ScanWorker:
    """The async mode's scans in this process (module docstring)."""

    def __init__(self, services: Services, scanner: ClamdClient) -> None:
        self.services = services
        self.scanner = scanner
        settings = services.settings
        # Longer than one scan may take, so a live scan is not claimed again under it.
        self.lease = max(300.0, 10 * settings.scan_timeout)
        self.on_quarantine: list[QuarantineHook] = []
        self._slots = asyncio.Semaphore(settings.scan_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # -- the request path --------------------------------------------------------------------
    async def submit(self, version: ObjectVersion) -> None:
        """Record `version` as pending and scan it soon."""
        now = self.services.clock()
        due = now + self.lease
        bucket, key, version_id = version.bucket, version.key, version.version_id
        await self.services.meta.add_pending_scan(bucket, key, version_id, now=now, due=due)
        if self._sweeper is not None and len(self._tasks) < MAX_BACKLOG:
            pending = PendingScan(bucket, key, version_id, now, due)
            self._spawn(pending)

    # -- running -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="scan-sweeper")

    async def stop(self) -> None:
        """Cancel the sweep and the scans in flight: their rows stay, claimed by a later
        sweep (here after a restart, or on another replica) once their lease runs out."""
        sweeper, self._sweeper = self._sweeper, None
        tasks = [*self._tasks, *([sweeper] if sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until the scans started so far are done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run_once(self) -> int:
        """Claim the due rows and scan them; how many were claimed."""
        now = self.services.clock()
        claimed = await self.services.meta.claim_pending_scans(now, now + self.lease, SWEEP_BATCH)
        for pending in claimed:
            self._spawn(pending)
        return len(claimed)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                while await self.run_once() == SWEEP_BATCH and len(self._tasks) < MAX_BACKLOG:
                    pass
            except S3Error as exc:  # the metadata store is down: try again later
                log.warning("scan sweep failed: %s", exc)
            await asyncio.sleep(SWEEP_INTERVAL)

    def _spawn(self, pending: PendingScan) -> None:
        task = asyncio.create_task(self._guarded(pending), name=f"scan {pending.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, pending: PendingScan) -> None:
        async with self._slots:
            try:
                await self.scan(pending)
            except S3Error as exc:
                # The store failed: the row stays, claimed again when its lease runs out.
                log.warning("scan of %s/%s failed: %s", pending.bucket, pending.key, exc)

    # -- one scan ----------------------------------------------------------------------------
    async def scan(self, pending: PendingScan) -> Verdict | None:
        """Scan one pending version and act on the verdict (None: nothing to scan)."""
        meta = self.services.meta
        ids = pending.bucket, pending.key, pending.version_id
        version = await meta.get_object(*ids)
        # A version tagged as quarantined is scanned all the same: the tag may be the
        # uploader's own (x-amz-tagging, or copied along), which the owner can remove.
        if version is None or version.is_delete_marker:
            await meta.drop_pending_scan(*ids)
            return None
        verdict = await scan_version(self.services, self.scanner, version)
        if isinstance(verdict, Clean):
            await meta.drop_pending_scan(*ids)
        elif isinstance(verdict, Infected):
            await self._quarantine(version, INFECTED, verdict.signature)
        else:
            assert isinstance(verdict, ScanFailed)
            await self._failed(pending, version, verdict)
        return verdict

    async def _failed(
        self, pending: PendingScan, version: ObjectVersion, failed: ScanFailed
    ) -> None:
        meta = self.services.meta
        ids = pending.bucket, pending.key, pending.version_id
        if not failed.permanent:
            delay = min(RETRY_MAX, RETRY_BASE * 2**pending.attempts)
            log.warning("scan of %s/%s: %s (retry in %.0f s)", *ids[:2], failed.reason, delay)
            await meta.retry_pending_scan(*ids, self.services.clock() + delay)
            return
        if self.services.settings.scan_fail == "closed":
            await self._quarantine(version, UNSCANNED, failed.reason)
            return
        log.warning("%s/%s stays unscanned (--scan-fail open): %s", *ids[:2], failed.reason)
        await meta.drop_pending_scan(*ids)

    async def _quarantine(self, version: ObjectVersion, status: str, detail: str) -> None:
        meta = self.services.meta
        done = await quarantine(meta, version, status, detail)
        log.warning("quarantined %s/%s (%s: %s)", version.bucket, version.key, status, detail)
        if done is not None:
            for hook in self.on_quarantine:
                try:
                    await hook(done, status)
                except Exception:
                    log.exception("quarantine hook %r failed", hook)
        await meta.drop_pending_scan(version.bucket, version.key, version.version_id)


async def enqueue_scan(services: Services, version: ObjectVersion) -> None:
    """After a new version's commit: scan it in the background (async mode), else nothing."""
    if services.scan_worker is None:
        return
    try:
        await services.scan_worker.submit(version)
    except S3Error as exc:
        # Committed already: an error now would only make the client retry a write that
        # succeeded. The version stays unscanned; say so loudly.
        log.error("%s/%s stays unscanned: %s", version.bucket, version.key, exc)
