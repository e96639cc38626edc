"""Group commit for SQLite: the write transactions waiting together share one COMMIT.

How this works:

- A commit is durable only once the WAL is fsynced (synchronous=FULL,
  gateway/meta/sqlite.py), and an fsync costs about as much as everything else in a small
  PUT. So the writer thread does not run write transactions one by one: `submit` queues
  the body, and the thread takes every body queued so far as one batch.
- A batch is one BEGIN IMMEDIATE ... COMMIT. Each body runs inside its own SAVEPOINT:
  a body that raises is rolled back to its savepoint alone (its exception goes to its
  caller) while the others go on. Nobody hears an outcome, result or error, before the
  batch's COMMIT returned, so nothing is acknowledged that a crash or power cut could
  take back, and what a caller reads next includes what the batch wrote.
- If the batch cannot commit, or a failure leaves SQLite outside the transaction (it
  rolls back the whole transaction on some errors, e.g. a full disk), every body of the
  batch that had not failed on its own gets that error: none of them is acknowledged.
  Bodies not yet run then run in a fresh batch.
- Batches form by themselves, with no timer: while one batch commits (the fsync), the
  next requests queue, and the next batch takes them all. One request alone waits for
  its own commit only, as before. A batch is capped (MAX_BATCH) so one batch holds the
  database lock (other processes: `serve --workers N`) for a bounded time. With several
  processes the writer takes its turn (below) before its batch, so the requests that
  queued while it waited for the others join that batch instead of waiting for another
  turn (4 KiB PUTs, two workers: 11-12 bodies per batch -> 13-15, +4% throughput).
- A body whose future was cancelled while queued (its request given up on) is dropped
  unrun; once taken into a batch, it runs, and a concurrent future can no longer be
  cancelled (an asyncio one, `submit_async`, can: its outcome is then dropped).
- `submit_async` hands the outcome to the caller's event loop with one
  call_soon_threadsafe (gateway/meta/call_thread.py), where a concurrent future wrapped
  by asyncio.wrap_future took a Condition, two chained callbacks and a state copy: about
  a tenth of a small PUT's Python opcodes.
- Several processes (`serve --workers N`) write one file. SQLite makes a writer that finds
  the database locked poll, sleeping 1, 2, 5 ... 100 ms between tries, while the other
  process, with requests queued, begins its next batch the moment it commits: with two
  workers a small PUT's p99 was the sum of those sleeps, 0.3-0.8 s (bench/RESULTS.md).
  So with `lock_fd` (a file every process of the database locks) a batch holds an flock
  from BEGIN to COMMIT: a waiting process sleeps in the kernel and is woken when the lock
  is let go, and takes it while the other one tells its batch's outcomes. SQLite's own
  lock still decides (writers of older versions do not take the flock). The wait is
  bounded by the busy timeout (gateway/meta/file_lock.py: a thread of its own sleeps in
  flock, polling would bring the starvation back): a process stopped while it holds the
  lock (SIGSTOP, a debugger) makes the others' batches fail as busy (SlowDown), as SQLite
  alone did, instead of holding them until it goes on.
- `marks` hears when each transaction begins and ends, holding the turn: caches of what
  the database says (gateway/meta/version_cache.py) stop trusting what they hold from
  before the BEGIN to after the COMMIT.
- Each body is a `Tx` generator run by gateway.meta.sql.run_sync; a body has no effect
  outside the database (the Database protocol's rule), so rolling back its savepoint
  undoes all of it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import deque
from concurrent.futures import Executor, Future
from typing import Any, Protocol, TypeVar

from gateway.meta.call_thread import LoopOutcome
from gateway.meta.file_lock import FileLock
from gateway.meta.sql import Tx, run_sync

T = TypeVar("T")

MAX_BATCH = 64


class WriteMarks(Protocol):
    """Told by the holder of the writers' turn around each write transaction."""

    def begin_write(self) -> None: ...

    def end_write(self) -> None: ...


class Outcome(Protocol):
    """Where a body's caller hears of it: a concurrent Future, or a LoopOutcome."""

    def set_running_or_notify_cancel(self) -> bool: ...

    def set_result(self, result: Any) -> None: ...

    def set_exception(self, exception: BaseException) -> None: ...


class GroupCommitter:
    """Runs write bodies on `conn` in batches, on `executor` (one thread, the connection's)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        executor: Executor,
        begin: str,
        *,
        file_lock: FileLock | None = None,
        lock_timeout: float = 10.0,
        marks: WriteMarks | None = None,
    ) -> None:
        self._conn = conn
        self._marks = marks
        self._executor = executor
        self._begin = begin
        self._file_lock = file_lock
        self._lock_timeout = lock_timeout
        self._queue: deque[tuple[Tx[Any], Outcome]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self.batches = 0  # batches committed (tests and metrics read it)

    def submit(self, tx: Tx[Any]) -> Future[Any]:
        """Queue `tx`; the future completes after the COMMIT of the batch it ran in."""
        future: Future[Any] = Future()
        self._enqueue(tx, future)
        return future

    def submit_async(self, tx: Tx[T]) -> asyncio.Future[T]:
        """`submit` for a coroutine: a future of the running loop."""
        outcome: LoopOutcome[T] = LoopOutcome()
        self._enqueue(tx, outcome)
        return outcome.future

    def _enqueue(self, tx: Tx[Any], outcome: Outcome) -> None:
        with self._lock:
            self._queue.append((tx, outcome))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._executor.submit(self._drain)
        except BaseException:
            with self._lock:
                self._scheduled = False
            raise

    def _take_turn(self) -> bool:
        """The writers' flock, if any (released at the end of the batch's transaction)."""
        return self._file_lock is None or self._file_lock.acquire(self._lock_timeout)

    def _take(self) -> list[tuple[Tx[Any], Outcome]]:
        with self._lock:
            batch: list[tuple[Tx[Any], Outcome]] = []
            while self._queue and len(batch) < MAX_BATCH:
                tx, future = self._queue.popleft()
                # Running from here on, so a late cancel() of a concurrent future fails and
                # the outcome is always told; a body whose caller gave up while it was
                # queued (its task cancelled, and the future with it) never runs.
                if future.set_running_or_notify_cancel():
                    batch.append((tx, future))
                else:
                    tx.close()
            if not batch:
                self._scheduled = False
            return batch

    def _drain(self) -> None:
        """On the writer thread: batches until no body is waiting. The turn comes first,
        the batch second: what queued while another process wrote joins this batch."""
        while True:
            turn = self._take_turn()
            batch = self._take()
            if not batch:
                if turn:
                    self._let_go()
                return
            if turn:
                self._run(batch)
            else:
                _fail([f for _, f in batch], self._no_turn())

    def _let_go(self) -> None:
        if self._file_lock is not None:
            self._file_lock.release()

    def _no_turn(self) -> sqlite3.OperationalError:
        return _busy(f"no turn to write in {self._lock_timeout:g} s")

    def _run(self, batch: list[tuple[Tx[Any], Outcome]]) -> None:
        """Run `batch` in one transaction, holding the turn; bodies left over when a
        failure ended the transaction run in a fresh one, at a turn of their own."""
        conn = self._conn
        todo = deque(batch)
        while todo:
            # Outcomes are told after the COMMIT, failures too: a body's error may come
            # from what an earlier body of the batch wrote (e.g. an upload it completed),
            # which its caller must be able to read once it hears.
            done: list[tuple[Outcome, Any]] = []
            failed: list[tuple[Outcome, BaseException]] = []
            marks = self._marks
            if marks is not None:
                marks.begin_write()
            unbegun: BaseException | None = None
            broken: BaseException | None = None
            try:
                try:
                    conn.execute(self._begin)
                except BaseException as exc:
                    unbegun = exc
                else:
                    broken = _bodies(conn, todo, done, failed)
            finally:
                if marks is not None:
                    marks.end_write()
                self._let_go()
            if unbegun is not None:
                _fail([f for _, f in todo], unbegun)
                return
            for future, error in failed:
                future.set_exception(error)
            if broken is not None:
                _fail([f for f, _ in done], broken)
                # The rest, if any, in a fresh transaction at a turn of its own.
                if todo and not self._take_turn():
                    _fail([f for _, f in todo], self._no_turn())
                    return
                continue
            self.batches += 1
            for future, result in done:
                future.set_result(result)


def _bodies(
    conn: sqlite3.Connection,
    todo: deque[tuple[Tx[Any], Outcome]],
    done: list[tuple[Outcome, Any]],
    failed: list[tuple[Outcome, BaseException]],
) -> BaseException | None:
    """Inside the transaction begun: the bodies of `todo`, each in its savepoint, then the
    COMMIT. Returns what ended the transaction instead, if anything did; the bodies not
    run by then stay in `todo`."""
    broken: BaseException | None = None
    while todo and broken is None:
        tx, future = todo.popleft()
        conn.execute("SAVEPOINT kv_body")
        try:
            result = run_sync(conn, tx)
        except BaseException as exc:
            broken = _roll_back_body(conn)
            failed.append((future, exc))
            continue
        conn.execute("RELEASE kv_body")
        done.append((future, result))
    if broken is None:
        try:
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            broken = exc
    return broken


def _busy(message: str) -> sqlite3.OperationalError:
    """The error SQLite raises for a lock it could not get in time (SlowDown to callers)."""
    exc = sqlite3.OperationalError(f"database is locked: {message}")
    exc.sqlite_errorcode = sqlite3.SQLITE_BUSY
    return exc


def _roll_back_body(conn: sqlite3.Connection) -> BaseException | None:
    """Undo one failed body; the error that ended the whole transaction instead, if any."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK TO kv_body")
            conn.execute("RELEASE kv_body")
            return None
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return exc
    return sqlite3.OperationalError("the transaction was rolled back")


def _fail(futures: list[Outcome], exc: BaseException) -> None:
    for future in futures:
        future.set_exception(exc)


def run_one(conn: sqlite3.Connection, begin: str, tx: Tx[T]) -> T:
    """A transaction of its own (reads, migrations): BEGIN, the body, COMMIT."""
    conn.execute(begin)
    try:
        result = run_sync(conn, tx)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
