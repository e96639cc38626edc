"""An exclusive flock of a file, waited for at most `timeout` seconds.

The SQLite writers of several processes take turns through an flock around each batch
(gateway/meta/group_commit.py says why a sleeping wait, not polling). `flock()` itself
waits without a bound, so a process stopped while it holds the lock (SIGSTOP, a debugger)
would hold every other process's writes for as long as it stays stopped, where SQLite's
own lock answers "busy" (SlowDown) after its busy timeout. So a contended lock is waited
for by a thread of its own, on a descriptor of its own (flock belongs to the open file
description: a second flock of the writer's own descriptor would succeed at once), and
the writer waits for that thread's word with a timeout:

    acquire   try the writer's descriptor without blocking; taken: done. Else ask the
              taker thread, and wait for its grant up to `timeout`; on timeout withdraw
              the request and answer False
    taker     blocks in flock(LOCK_EX) on its descriptor while a request is open; once it
              holds the lock, grants it to the open request, or, if the request was
              withdrawn meanwhile, lets go at once
    release   unlocks whichever descriptor holds the lock

One writer thread per FileLock (a GroupCommitter's), so at most one request is open.
"""

from __future__ import annotations

import fcntl
import os
import threading


class FileLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._own = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._taker_fd: int | None = None
        self._cond = threading.Condition()
        self._wanted = False  # a request is open
        self._granted = False  # the taker holds the lock for the open request
        self._closed = False
        self._thread: threading.Thread | None = None
        self._held: int | None = None  # the descriptor that holds the lock

    def acquire(self, timeout: float) -> bool:
        """Hold the lock (True), or give up after `timeout` seconds (False)."""
        try:
            fcntl.flock(self._own, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            self._held = self._own
            return True
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.path}: the lock is closed")
            self._start_taker()
            self._wanted, self._granted = True, False
            self._cond.notify_all()
            if self._cond.wait_for(lambda: self._granted, timeout):
                self._granted = False
                self._held = self._taker_fd
                return True
            self._wanted = False  # withdrawn: the taker lets go when it gets the lock
            return False

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close both descriptors (after the last release); the taker thread ends."""
        with self._cond:
            self._closed = True
            self._wanted = False
            self._cond.notify_all()
            thread = self._thread
        if thread is None or not thread.is_alive():
            self._close_fds()
        # else: the taker, blocked in flock, closes them when it wakes (closing a
        # descriptor another thread is blocked on is undefined behaviour).

    def _start_taker(self) -> None:
        if self._thread is None:
            self._taker_fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._thread = threading.Thread(
                target=self._take, name="kv-sqlite-write-lock", daemon=True
            )
            self._thread.start()

    def _take(self) -> None:
        fd = self._taker_fd
        assert fd is not None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wanted or self._closed)
                if self._closed:
                    break
            fcntl.flock(fd, fcntl.LOCK_EX)
            with self._cond:
                if self._wanted and not self._closed:
                    self._wanted, self._granted = False, True
                    self._cond.notify_all()
                    # The writer holds it now; wait until it asks again.
                    continue
            fcntl.flock(fd, fcntl.LOCK_UN)  # withdrawn (or closing): nobody wants it
        self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self._own, self._taker_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._taker_fd = None
