"""gateway/meta/group_commit.py on a SQLite file: bodies queued together share one COMMIT,
a failing body fails alone, and when a failure ends the whole transaction no body of the
batch is acknowledged (the rest run again in a fresh one)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gateway.meta.file_lock import FileLock
from gateway.meta.group_commit import GroupCommitter, run_one
from gateway.meta.sql import Tx, execute, rows
from tests.unit.meta.test_file_lock import can_lock


@pytest.fixture
def setup(
    tmp_path: Path,
) -> Iterator[tuple[GroupCommitter, ThreadPoolExecutor, sqlite3.Connection]]:
    conn = sqlite3.connect(
        str(tmp_path / "t.sqlite3"), isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    executor = ThreadPoolExecutor(max_workers=1)
    yield GroupCommitter(conn, executor, "BEGIN IMMEDIATE"), executor, conn
    executor.shutdown(wait=True)
    conn.close()


def insert(k: str) -> Tx[int]:
    return (yield from execute("INSERT INTO t (k) VALUES (?)", k))


def insert_then_fail(k: str) -> Tx[None]:
    yield from execute("INSERT INTO t (k) VALUES (?)", k)
    raise ValueError(k)


def insert_then_end_transaction(k: str) -> Tx[None]:
    yield from execute("INSERT INTO t (k) VALUES (?)", k)
    yield from execute("ROLLBACK")  # what SQLite itself does on e.g. a full disk
    raise ValueError(k)


def stored(conn: sqlite3.Connection) -> list[str]:
    def body() -> Tx[list[str]]:
        return [r[0] for r in (yield from rows("SELECT k FROM t ORDER BY k"))]

    return run_one(conn, "BEGIN", body())


def queued_together(executor: ThreadPoolExecutor, submit: Any) -> list[Future[Any]]:
    """Submit while the writer thread is busy, so that one batch takes them all."""
    gate = threading.Event()
    executor.submit(gate.wait)
    futures: list[Future[Any]] = submit()
    gate.set()
    for f in futures:
        f.exception(timeout=10)
    return futures


def test_bodies_queued_together_share_one_commit_and_fail_alone(setup: Any) -> None:
    committer, executor, conn = setup
    futures = queued_together(
        executor,
        lambda: [
            committer.submit(insert("a")),
            committer.submit(insert_then_fail("b")),
            committer.submit(insert("c")),
        ],
    )
    assert committer.batches == 1
    assert [f.exception() is None for f in futures] == [True, False, True]
    assert isinstance(futures[1].exception(), ValueError)
    assert stored(conn) == ["a", "c"]  # b's insert rolled back to its savepoint


def test_transaction_ended_by_a_body_acknowledges_nothing_of_it(setup: Any) -> None:
    committer, executor, conn = setup
    futures = queued_together(
        executor,
        lambda: [
            committer.submit(insert("a")),
            committer.submit(insert_then_end_transaction("b")),
            committer.submit(insert("c")),
        ],
    )
    # a ran in the transaction that b's failure ended: not committed, so not acknowledged.
    assert futures[0].exception() is not None
    assert isinstance(futures[1].exception(), ValueError)
    assert futures[2].result() == 1  # run again in a fresh transaction
    assert stored(conn) == ["c"]


def test_a_write_cancelled_while_queued_is_not_run_and_the_writer_goes_on(setup: Any) -> None:
    # asyncio.wrap_future cancels the queued future when the awaiting task is cancelled
    # (a request given up on): the body must not run, and later writes must still commit.
    committer, executor, conn = setup
    gate = threading.Event()
    executor.submit(gate.wait)
    kept = committer.submit(insert("a"))
    dropped = committer.submit(insert("b"))
    assert dropped.cancel()
    gate.set()
    assert kept.result(timeout=10) == 1
    assert committer.submit(insert("c")).result(timeout=10) == 1
    assert stored(conn) == ["a", "c"]


def test_async_bodies_hear_their_outcomes_on_the_loop_after_the_commit(setup: Any) -> None:
    # submit_async: what the gateway awaits. Results and errors come back as the loop's
    # own futures, after the batch's COMMIT, and a body whose task was cancelled while it
    # was queued never runs.
    committer, executor, conn = setup

    async def scenario() -> list[Any]:
        gate = threading.Event()
        executor.submit(gate.wait)
        kept = committer.submit_async(insert("a"))
        failing = committer.submit_async(insert_then_fail("b"))
        dropped = committer.submit_async(insert("x"))
        last = committer.submit_async(insert("c"))
        assert isinstance(kept, asyncio.Future) and dropped.cancel()
        gate.set()
        outcomes = await asyncio.gather(kept, failing, last, return_exceptions=True)
        assert committer.batches == 1 and stored(conn) == ["a", "c"]
        return list(outcomes)

    kept, failing, last = asyncio.run(scenario())
    assert kept == 1 and last == 1
    assert isinstance(failing, ValueError)
    assert stored(conn) == ["a", "c"]


def test_an_async_body_cancelled_while_it_runs_still_commits(setup: Any) -> None:
    # Once taken into a batch a body runs to its commit; the caller that gave up hears
    # nothing (its future was cancelled), and later writes go on.
    committer, executor, conn = setup
    running, release = threading.Event(), threading.Event()

    def slow(k: str) -> Tx[int]:
        running.set()
        release.wait(10)
        return (yield from insert(k))

    async def scenario() -> int:
        future = committer.submit_async(slow("a"))
        await asyncio.to_thread(running.wait, 10)
        future.cancel()
        release.set()
        later: int = await committer.submit_async(insert("b"))
        return later

    assert asyncio.run(scenario()) == 1
    assert stored(conn) == ["a", "b"]


@pytest.fixture
def flocked(
    tmp_path: Path,
) -> Iterator[tuple[sqlite3.Connection, ThreadPoolExecutor, FileLock, int]]:
    """A database with the writers' file lock, and another descriptor of that file standing
    in for another process's writer."""
    conn = sqlite3.connect(
        str(tmp_path / "t.sqlite3"), isolation_level=None, check_same_thread=False
    )
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    lock_path = str(tmp_path / "t.sqlite3-write-lock")
    ours = FileLock(lock_path)
    theirs = os.open(lock_path, os.O_RDWR)
    executor = ThreadPoolExecutor(max_workers=1)
    yield conn, executor, ours, theirs
    executor.shutdown(wait=True)
    conn.close()
    ours.close()
    os.close(theirs)


def test_batch_holds_the_write_lock_from_begin_to_commit(
    flocked: tuple[sqlite3.Connection, ThreadPoolExecutor, FileLock, int],
) -> None:
    """Another process's writer finds the flock taken while a batch runs, and free once it
    has committed."""
    conn, executor, ours, theirs = flocked
    seen: list[bool] = []

    def insert_and_look(k: str) -> Tx[None]:
        yield from execute("INSERT INTO t (k) VALUES (?)", k)
        seen.append(can_lock(theirs))

    committer = GroupCommitter(conn, executor, "BEGIN IMMEDIATE", file_lock=ours)
    committer.submit(insert_and_look("a")).result(timeout=10)
    assert seen == [False]
    assert can_lock(theirs)
    assert stored(conn) == ["a"]


def test_a_stopped_holder_makes_a_batch_busy_not_hang(
    flocked: tuple[sqlite3.Connection, ThreadPoolExecutor, FileLock, int],
) -> None:
    """Another process holding the writers' flock past the timeout (stopped, say): the batch
    fails as SQLite's busy does (SlowDown to callers), and writes go on once it lets go."""
    conn, executor, ours, theirs = flocked
    committer = GroupCommitter(conn, executor, "BEGIN IMMEDIATE", file_lock=ours, lock_timeout=0.3)
    fcntl.flock(theirs, fcntl.LOCK_EX)
    with pytest.raises(sqlite3.OperationalError) as err:
        committer.submit(insert("a")).result(timeout=10)
    assert err.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    fcntl.flock(theirs, fcntl.LOCK_UN)
    assert committer.submit(insert("b")).result(timeout=10) == 1
    assert stored(conn) == ["b"]


def test_what_queues_while_another_process_writes_joins_the_batch_that_takes_the_turn(
    flocked: tuple[sqlite3.Connection, ThreadPoolExecutor, FileLock, int],
) -> None:
    """The writer takes its turn before it takes its batch: bodies submitted while it waits
    for another process's flock commit together with the one that was waiting."""
    conn, executor, ours, theirs = flocked
    committer = GroupCommitter(conn, executor, "BEGIN IMMEDIATE", file_lock=ours)
    fcntl.flock(theirs, fcntl.LOCK_EX)
    first = committer.submit(insert("a"))
    deadline = time.monotonic() + 5
    while not ours._wanted:  # the writer waits for its turn
        assert time.monotonic() < deadline
        time.sleep(0.005)
    later = [committer.submit(insert(k)) for k in "bc"]
    fcntl.flock(theirs, fcntl.LOCK_UN)
    assert [f.result(timeout=10) for f in (first, *later)] == [1, 1, 1]
    assert committer.batches == 1
    assert stored(conn) == ["a", "b", "c"]


class Marks:
    """WriteMarks recording, at each mark, whether the turn is held and what another
    connection reads."""

    def __init__(self, reader: sqlite3.Connection, theirs: int) -> None:
        self.reader, self.theirs = reader, theirs
        self.seen: list[tuple[str, bool, list[str]]] = []

    def begin_write(self) -> None:
        self.seen.append(("begin", can_lock(self.theirs), stored(self.reader)))

    def end_write(self) -> None:
        self.seen.append(("end", can_lock(self.theirs), stored(self.reader)))


def test_each_transaction_is_marked_before_its_begin_and_after_its_commit_holding_the_turn(
    flocked: tuple[sqlite3.Connection, ThreadPoolExecutor, FileLock, int], tmp_path: Path
) -> None:
    """Caches (gateway/meta/version_cache.py) stop trusting before anything is written and
    trust again only once the commit is readable; a transaction that fails, BEGIN
    included, is ended too."""
    conn, executor, ours, theirs = flocked
    reader = sqlite3.connect(
        str(tmp_path / "t.sqlite3"), isolation_level=None, check_same_thread=False
    )
    marks = Marks(reader, theirs)
    committer = GroupCommitter(conn, executor, "BEGIN IMMEDIATE", file_lock=ours, marks=marks)
    committer.submit(insert("a")).result(timeout=10)
    assert marks.seen == [("begin", False, []), ("end", False, ["a"])]
    marks.seen.clear()
    broken = GroupCommitter(conn, executor, "BEGIN NONSENSE", file_lock=ours, marks=marks)
    with pytest.raises(sqlite3.OperationalError):
        broken.submit(insert("b")).result(timeout=10)
    assert [mark for mark, _, _ in marks.seen] == ["begin", "end"]
    reader.close()
