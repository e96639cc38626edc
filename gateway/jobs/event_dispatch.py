"""The event dispatcher: delivers the outbox to the targets (DESIGN.md, "Events").

How this works:

    EventDispatcher._run()                    one asyncio task per process; works only
      │                                       while it holds the "events" leader lock
      │                                       (PostgreSQL: one replica at a time; SQLite:
      │                                       `serve` runs it in its first worker only)
      loop: clear the wake-up event -> run_once() -> wait for the wake-up event (set by
            this process's writes after their commit), the next retry falling due, or
            POLL seconds (events committed by other replicas or processes)
    run_once(): rounds until nothing is due
      outbox.due_events(now)      the oldest pending event of each (target, bucket, key)
      send them concurrently      target.send() returns once the target acknowledged
      delivered -> deleted        in one statement per round; a crash before it means a
                                  second delivery (at least once), never none
      failed -> attempts + 1,     next try after backoff * 2^(attempts-1) (capped), or
                or 'dead'         after --notify-attempts the dead-letter list; the key's
                                  later events then go on
    A key's next event is asked for only once its head is delivered (or dead), so each
    key's events reach each target in order; a failing key waits on its own.

Counts: EVENTS_DELIVERED, EVENTS_FAILED, EVENT_LATENCY (gateway/metrics/series.py); the
outbox depth is read at scrape time; each run that did something logs one line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from events.records import EVENT, OutboxEvent, message
from events.targets.base import TargetError
from events.targets.registry import TargetRegistry
from gateway.jobs.failures import log_failed_round
from gateway.jobs.leader import LeaderLock, LocalLock, cancel_and_wait
from gateway.meta.outbox import EventOutbox
from gateway.metrics.series import EVENT_LATENCY, EVENTS_DELIVERED, EVENTS_FAILED

log = logging.getLogger(__name__)

POLL = 2.0  # seconds: how soon events committed elsewhere are seen
CHECK_EVERY = 5.0  # seconds between leader lock checks
BATCH = 100
CONCURRENCY = 16
MAX_BACKOFF = 3600.0
# What became of one delivery attempt.
DELIVERED, RETRY, DEAD = "delivered", "retry", "dead"


class OutboxDispatcher:
    """The loop that drains one kind of outbox row (module docstring): leader lock,
    wake-ups, per-key order, backoff. A subclass says how one row is delivered
    (`_deliver`, returning DELIVERED, RETRY or DEAD) and names itself (NAME, KIND):
    EventDispatcher here, gateway/jobs/replication.py's ReplicationWorker."""

    NAME = "events"
    KIND = EVENT

    def __init__(
        self,
        outbox: EventOutbox,
        *,
        wake: asyncio.Event | None = None,
        attempts: int = 10,
        backoff: float = 1.0,
        max_backoff: float = MAX_BACKOFF,
        poll: float = POLL,
        lock: LeaderLock | None = None,
        clock: Callable[[], float] = time.time,
        batch: int = BATCH,
    ) -> None:
        self.outbox = outbox
        self.wake = wake if wake is not None else asyncio.Event()
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll = poll
        self.lock = lock if lock is not None else LocalLock()
        self.clock = clock
        self.batch = batch
        self.is_leader = False
        self._task: asyncio.Task[None] | None = None
        self._limiter = asyncio.Semaphore(CONCURRENCY)
        self._slowest = 0.0  # the longest delivery latency of the current run, for its log

    def delay(self, failures: int) -> float:
        """Seconds before the next try, after `failures` failed attempts (>= 1)."""
        return float(min(self.backoff * 2 ** (failures - 1), self.max_backoff))

    async def _deliver(self, event: OutboxEvent) -> str:
        raise NotImplementedError

    async def _close(self) -> None:
        """Release what delivering holds (connections), once stopped."""

    async def _delivered(self, rows: list[OutboxEvent]) -> None:
        """Bookkeeping of a round's delivered rows, just before they are deleted (a crash
        in between delivers them again: at least once)."""

    async def run_once(self) -> int:
        """Deliver every event due now; returns how many were delivered."""
        delivered = failed = 0
        self._slowest = 0.0
        while True:
            due = await self.outbox.due_events(self.clock(), self.batch, kind=self.KIND)
            if not due:
                break
            results = await asyncio.gather(*(self._deliver(e) for e in due))
            delivered_rows = [e for e, o in zip(due, results, strict=True) if o == DELIVERED]
            await self._delivered(delivered_rows)
            done = [e.id for e in delivered_rows]
            await self.outbox.events_delivered(done)
            delivered += len(done)
            failed += len(due) - len(done)
            if all(outcome == RETRY for outcome in results):
                break  # every head is rescheduled: nothing more is due now
        if delivered or failed:
            pending, dead = await self.outbox.outbox_depth(kind=self.KIND)
            log.info(
                "%s: %d delivered (latency up to %.3fs), %d failed; outbox: %d pending, %d dead",
                self.NAME,
                delivered,
                self._slowest,
                failed,
                pending,
                dead,
            )
        return delivered

    # -- the task ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.NAME)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self.is_leader = False
        await self.lock.release()
        await self._close()

    async def _lead(self, checked: float) -> float:
        """Take or keep the leader lock; returns when it was last checked."""
        now = time.monotonic()
        if now - checked < CHECK_EVERY:
            return checked
        if self.is_leader and not await self.lock.held():
            self.is_leader = False
            log.warning("%s: lost the leader lock", self.NAME)
        if not self.is_leader and await self.lock.acquire():
            self.is_leader = True
            log.info("%s: this replica now drains the outbox", self.NAME)
        return now

    async def _wait(self) -> None:
        if not self.is_leader:  # another replica delivers; wake-ups are not ours to answer
            await asyncio.sleep(CHECK_EVERY)
            return
        timeout = self.poll
        now = self.clock()
        at = await self.outbox.next_event_due(now, kind=self.KIND)
        if at is not None:
            timeout = min(timeout, max(0.0, at - now))
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that arrives as the wake-up does, and stop() would then wait for ever.
        try:
            async with asyncio.timeout(timeout):
                await self.wake.wait()
        except TimeoutError:
            pass

    async def _run(self) -> None:
        checked = -CHECK_EVERY  # try the lock at once
        while True:
            try:
                checked = await self._lead(checked)
                self.wake.clear()  # before the run: a commit during it wakes the next wait
                if self.is_leader:
                    await self.run_once()
                await self._wait()
            except Exception as exc:
                log_failed_round(log, exc, "%s: dispatch failed", self.NAME)
                await asyncio.sleep(self.poll)


class EventDispatcher(OutboxDispatcher):
    """Delivers the notification events to their targets."""

    def __init__(self, outbox: EventOutbox, targets: TargetRegistry, **options: Any) -> None:
        super().__init__(outbox, **options)
        self.targets = targets

    async def _close(self) -> None:
        await self.targets.close()

    async def _deliver(self, event: OutboxEvent) -> str:
        async with self._limiter:
            try:
                target = await self.targets.get(event.target)
                await target.send(message(event))
            except Exception as exc:  # TargetError, or a target's own bug: retried alike
                return await self._failed(event, exc)
        latency = max(0.0, self.clock() - event.event_time)
        self._slowest = max(self._slowest, latency)
        EVENTS_DELIVERED.labels(event.target).inc()
        EVENT_LATENCY.labels(event.target).observe(latency)
        return DELIVERED

    async def _failed(self, event: OutboxEvent, exc: Exception) -> str:
        failures = event.attempts + 1
        error = str(exc) if isinstance(exc, TargetError) else repr(exc)
        if failures >= self.attempts:
            next_attempt = None
            EVENTS_FAILED.labels(event.target, "dead").inc()
            log.warning(
                "events: %s for %s/%s to %s: giving up after %d attempts (dead-letter list): %s",
                event.event_name,
                event.bucket,
                event.key,
                event.target,
                failures,
                error,
            )
        else:
            next_attempt = self.clock() + self.delay(failures)
            EVENTS_FAILED.labels(event.target, "retry").inc()
            log.info(
                "events: %s for %s/%s to %s failed (attempt %d): %s",
                event.event_name,
                event.bucket,
                event.key,
                event.target,
                failures,
                error,
            )
        await self.outbox.event_failed(event.id, error=error, next_attempt=next_attempt)
        return RETRY if next_attempt is not None else DEAD
