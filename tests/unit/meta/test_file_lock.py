"""gateway/meta/file_lock.py: an flock waited for at most a timeout (another process's
holder is played by another open file description of the same file)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.meta.file_lock import FileLock


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[tuple[FileLock, int]]:
    path = str(tmp_path / "db-write-lock")
    lock = FileLock(path)
    theirs = os.open(path, os.O_RDWR)
    yield lock, theirs
    lock.close()
    os.close(theirs)


def can_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_uncontended_acquire_holds_until_release(paths: tuple[FileLock, int]) -> None:
    lock, theirs = paths
    assert lock.acquire(1.0)
    assert not can_lock(theirs)
    lock.release()
    assert can_lock(theirs)


def test_a_holder_that_never_lets_go_times_the_wait_out(paths: tuple[FileLock, int]) -> None:
    lock, theirs = paths
    fcntl.flock(theirs, fcntl.LOCK_EX)
    started = time.monotonic()
    assert not lock.acquire(0.3)
    assert 0.25 <= time.monotonic() - started < 3.0
    # The withdrawn request does not keep the lock once the holder lets go.
    fcntl.flock(theirs, fcntl.LOCK_UN)
    assert wait_until(lambda: can_lock(theirs))
    assert lock.acquire(1.0)
    lock.release()


def test_the_wait_ends_when_the_holder_lets_go(paths: tuple[FileLock, int]) -> None:
    lock, theirs = paths
    fcntl.flock(theirs, fcntl.LOCK_EX)
    threading.Timer(0.2, fcntl.flock, (theirs, fcntl.LOCK_UN)).start()
    started = time.monotonic()
    assert lock.acquire(10.0)
    assert time.monotonic() - started < 5.0
    assert not can_lock(theirs)  # held through the taker's descriptor
    lock.release()
    assert can_lock(theirs)


def test_turns_alternate_with_another_holder(paths: tuple[FileLock, int]) -> None:
    lock, theirs = paths
    for _ in range(20):
        fcntl.flock(theirs, fcntl.LOCK_EX)
        threading.Timer(0.01, fcntl.flock, (theirs, fcntl.LOCK_UN)).start()
        assert lock.acquire(5.0)
        assert not can_lock(theirs)
        lock.release()
    assert can_lock(theirs)
