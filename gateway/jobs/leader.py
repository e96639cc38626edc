"""Work that one replica at a time must do (the collector now, the lifecycle scan later).

How this works:

    SingletonTask(name, lock, work, interval)          one asyncio task per replica
      every check_every seconds:
        not leader -> lock.acquire()    held by another replica: try again next time
        leader     -> lock.held()?      the lock's session died: no longer leader
                      work() if `interval` has passed since its last run

Locks (LeaderLock):
- LocalLock: always held. One machine (SQLite): `serve --workers N` already runs the work
  in its first worker only, as before.
- PostgresAdvisoryLock: pg_try_advisory_lock on a connection of its own. PostgreSQL
  releases a session lock when the session ends, i.e. when the holder exits, is killed
  (kill -9 closes its sockets at once) or its host vanishes (TCP keepalives, set on that
  connection, notice within ~15 s). Another replica takes the lock on its next try, so
  the work moves within check_every seconds (plus that keepalive time for a vanished
  host). The lock must be a session lock on a dedicated connection: through PgBouncer in
  transaction mode a session lock would stay behind on a pooled server connection.

The lock is not a fence: a leader that stalls (frozen process, network partition) may
still be inside work() when another replica takes over. Work run under it must tolerate
a brief overlap: the collector does (claiming a blob is one transaction; deleting a blob
twice is harmless), and the lifecycle scan must too (each action one transaction that
re-checks its own precondition). work() may call `lock.held()` between batches to stop
early once the lock is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from gateway.jobs.failures import log_failed_round

log = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait for it to end; re-raise only if the caller itself
    is being cancelled (its CancelledError must not be swallowed)."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class LeaderLock(Protocol):
    """A lock at most one replica holds at a time, released when its holder dies."""

    async def acquire(self) -> bool:
        """Try once, without waiting; True if this replica holds the lock now."""
        ...

    async def held(self) -> bool:
        """Whether the lock is still ours (False once its connection is gone)."""
        ...

    async def release(self) -> None: ...


class LocalLock:
    """Always held: for a store that lives on one machine (SQLite)."""

    async def acquire(self) -> bool:
        return True

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class PostgresAdvisoryLock:
    """pg_try_advisory_lock(key) on a dedicated connection (see the module docstring).

    `connect` opens that connection (an asyncpg.Connection); the lock id is a signed 64-bit
    advisory key (gateway.meta.postgres.lock_id, which mixes in the schema).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        key: int,
        name: str,
        *,
        timeout: float = 5.0,
    ) -> None:
        self._connect = connect
        self.key = key
        self.name = name
        self.timeout = timeout
        self._conn: Any = None
        self._held = False

    async def acquire(self) -> bool:
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
            got = await self._conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", self.key, timeout=self.timeout
            )
        except Exception as exc:  # PostgreSQL unreachable: nobody new can lead either
            log.warning("leader %s: cannot try the lock: %r", self.name, exc)
            await self._drop()
            return False
        self._held = bool(got)
        return self._held

    async def held(self) -> bool:
        if not self._held or self._conn is None:
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=self.timeout)
        except Exception as exc:
            log.warning("leader %s: lock connection lost: %r", self.name, exc)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        await self._drop()  # closing the session releases the lock

    async def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is None:
            return
        try:
            await asyncio.wait_for(conn.close(), self.timeout)
        except Exception:
            conn.terminate()


class SingletonTask:
    """Run `work()` every `interval` seconds on whichever replica holds `lock`."""

    def __init__(
        self,
        name: str,
        lock: LeaderLock,
        work: Callable[[], Awaitable[object]],
        *,
        interval: float,
        check_every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.lock = lock
        self.work = work
        self.interval = interval
        self.check_every = min(interval, 5.0) if check_every is None else check_every
        self.clock = clock
        self.is_leader = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self.is_leader = False
        await self.lock.release()

    async def step(self, due: float) -> float:
        """One round: keep or take the lock, run the work if due; returns the next due time."""
        if self.is_leader and not await self.lock.held():
            self.is_leader = False
            log.warning("%s: lost the leader lock", self.name)
        if not self.is_leader and await self.lock.acquire():
            self.is_leader = True
            log.info("%s: this replica is now the leader", self.name)
            due = self.clock()
        if self.is_leader and self.clock() >= due:
            try:
                await self.work()
            except Exception as exc:
                log_failed_round(log, exc, "%s: run failed", self.name)
            due = self.clock() + self.interval
        return due

    async def _run(self) -> None:
        due = self.clock()
        while True:
            try:
                due = await self.step(due)
            except Exception as exc:
                log_failed_round(log, exc, "%s: leader check failed", self.name)
            wait = self.check_every
            if self.is_leader:
                wait = min(wait, max(0.0, due - self.clock()))
            await asyncio.sleep(wait)


def leader_lock_of(meta: object, name: str) -> LeaderLock | None:
    """The metadata store's lock for `name` (PostgreSQL), or None for a store that lives on
    one machine (SQLite), where the first worker runs the work without a lock."""
    factory = getattr(meta, "leader_lock", None)
    if factory is None:
        return None
    lock: LeaderLock | None = factory(name)
    return lock
