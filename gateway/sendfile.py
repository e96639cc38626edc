"""Zero-copy responses under uvloop: one pump thread per process sends file ranges with
sendfile(2), memory buffers with write(2), and relays sockets with splice(2).

The same pump also sends a memory buffer (send_buffer: a sealed object's plaintext,
decrypted into a buffer the response reuses, gateway/responses.py): the buffer is the
caller's until `send_buffer` returns, so it can be refilled at once, where a buffer given
to the transport stays the transport's for as long as it holds any of it. And it relays
a backend's socket to the client's (`splice`: an s3 backend's GetObject body, read by
backends/relay.py's client), through a pipe: the bytes never enter Python (a relay
through the transports cost ~0.5 s of CPU per GiB, bench/RESULTS.md).

Why: uvloop implements no `loop.sendfile()` (it inherits AbstractEventLoop's, which raises
NotImplementedError), and it refuses `add_writer()` on a socket that one of its transports
owns. Without this module every local GET would be pread into Python and written back
out: two copies and a thread hop per MiB.

How this works:
  1. The caller has sent the response headers and waited until the transport's write
     buffer is empty, so the body bytes that follow cannot overtake anything.
  2. The pump dup()s the socket's descriptor and registers the duplicate with its own
     epoll instance for EPOLLOUT. The duplicate keeps the socket alive even if the
     transport closes its descriptor meanwhile (a client going away): the pump can never
     write into a recycled descriptor number.
  3. The pump thread waits in epoll; whenever a socket can take more, it calls
     os.sendfile() non-blocking for at most STEP bytes (or splices what the pipe holds,
     and what the backend's socket has into it). Done, or failed (EPIPE, ECONNRESET, a
     file or a backend body shorter than promised), it unregisters the job, closes the
     duplicate and resolves the caller's future on its event loop.
  4. Cancellation (the request task is cancelled) removes the job under the lock the pump
     holds while it touches a job, so once a call returns or raises the pump no longer
     uses the file's or the sockets' descriptors.

Every descriptor given to the pump stays owned by the caller (file, backend socket) or
the transport (client socket).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Final

STEP = 8 * 1024 * 1024  # bytes per sendfile(2) call: bounds one call's time under the lock
PIPE_SIZE: Final = 256 * 1024  # a relay's pipe (F_SETPIPE_SZ; 64 KiB if refused)
_F_SETPIPE_SZ: Final = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_SPLICE_FLAGS: Final = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK


class _Job:
    """Bytes from a file (`file` >= 0) or from `data` to a socket."""

    __slots__ = ("data", "file", "fds", "future", "loop", "offset", "remaining", "sock")

    def __init__(
        self,
        sock: int,
        file: int,
        offset: int,
        remaining: int,
        future: asyncio.Future[None],
        loop: asyncio.AbstractEventLoop,
        data: memoryview | None,
    ) -> None:
        self.sock = sock  # our duplicate of the socket descriptor
        self.fds = (sock,)
        self.file = file
        self.offset = offset  # in the file, or in `data`
        self.remaining = remaining
        self.future = future
        self.loop = loop
        self.data = data

    def register(self, epoll: select.epoll) -> None:
        epoll.register(self.sock, select.EPOLLOUT)

    def step(self, epoll: select.epoll) -> bool:
        """One non-blocking send; True once all is sent. Raises OSError on failure."""
        step = min(STEP, self.remaining)
        try:
            if self.data is None:
                sent = os.sendfile(self.sock, self.file, self.offset, step)
            else:
                sent = os.write(self.sock, self.data[self.offset : self.offset + step])
        except BlockingIOError:
            return False  # the socket filled up between epoll and the call: wait again
        if sent == 0:
            raise OSError(errno.EIO, "file shorter than its recorded size")
        self.offset += sent
        self.remaining -= sent
        return self.remaining == 0

    def release(self) -> None:
        os.close(self.sock)
        self.data = None


class _SpliceJob:
    """`head` (bytes already read from `src`), then `unread` bytes from the socket `src`
    to the socket `sock`, through a pipe: `remaining` bytes to write in all.

    The pipe holds `in_pipe` bytes. `src` is watched for EPOLLIN while the pipe can take
    more, `sock` for EPOLLOUT while the pipe holds some. A pipe counts buffers, not bytes
    (a socket's pages may be partly filled), so a splice into it that finds no room while
    it holds bytes marks it full until some are written out; otherwise a readable `src`
    would wake the pump again and again with nowhere to put its bytes."""

    __slots__ = (
        "fds", "future", "head", "in_pipe", "last_moved", "loop", "pipe_full", "pipe_r",
        "pipe_w", "remaining", "sock", "src", "unread", "watched",
    )  # fmt: skip

    def __init__(
        self,
        src: int,
        sock: int,
        count: int,
        future: asyncio.Future[None],
        loop: asyncio.AbstractEventLoop,
        head: memoryview,
    ) -> None:
        self.pipe_r, self.pipe_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(self.pipe_w, _F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:  # over the user's pipe-buffer limit: the default size still works
            pass
        self.src = src
        self.sock = sock  # our duplicate of the client socket's descriptor
        self.fds = (src, sock)
        self.head = head  # still to write before any byte of the pipe
        self.unread = count  # still to read from src
        self.remaining = len(head) + count  # still to write to sock
        self.in_pipe = 0
        self.pipe_full = False
        self.last_moved = time.monotonic()  # the last splice in or out
        self.future = future
        self.loop = loop
        self.watched: dict[int, int] = {}

    def register(self, epoll: select.epoll) -> None:
        if self.unread:
            self._watch(epoll, self.src, select.EPOLLIN)
        if self.head:
            self._watch(epoll, self.sock, select.EPOLLOUT)

    def _watch(self, epoll: select.epoll, fd: int, events: int) -> None:
        """Watch `fd` for `events`; 0 unregisters it, so that a hang-up, which epoll
        reports whatever was asked, cannot wake the pump while the job waits for the
        other side."""
        now = self.watched.get(fd, 0)
        if events == now:
            return
        if not events:
            epoll.unregister(fd)
            del self.watched[fd]
        elif now:
            epoll.modify(fd, events)
            self.watched[fd] = events
        else:
            epoll.register(fd, events)
            self.watched[fd] = events

    def stalled(self, timeout: float) -> bool:
        """Whether the client has been waiting for the source for more than `timeout`
        seconds (nothing moved since the pipe was emptied). A client that reads slowly
        holds the pipe full: that is the client's pace, not a stall."""
        waiting = self.in_pipe == 0 and not self.head and self.unread > 0
        return waiting and time.monotonic() - self.last_moved > timeout

    def step(self, epoll: select.epoll) -> bool:
        moved = True
        while moved:
            moved = False
            if self.head:
                try:
                    n = os.write(self.sock, self.head)
                except BlockingIOError:
                    n = 0
                if n:
                    self.head = self.head[n:]
                    self.remaining -= n
                    self.last_moved = time.monotonic()
            if self.unread and not self.pipe_full:
                try:
                    n = os.splice(self.src, self.pipe_w, self.unread, flags=_SPLICE_FLAGS)
                except BlockingIOError:
                    self.pipe_full = self.in_pipe > 0
                else:
                    if n == 0:
                        raise OSError(errno.EIO, "the backend's body ended early")
                    self.unread -= n
                    self.in_pipe += n
                    self.last_moved = time.monotonic()
                    moved = True
            if self.in_pipe and not self.head:
                try:
                    n = os.splice(self.pipe_r, self.sock, self.in_pipe, flags=_SPLICE_FLAGS)
                except BlockingIOError:
                    pass
                else:
                    self.in_pipe -= n
                    self.remaining -= n
                    self.pipe_full = False
                    self.last_moved = time.monotonic()
                    moved = n > 0
        if self.remaining == 0:
            return True
        self._watch(epoll, self.src, select.EPOLLIN if self.unread and not self.pipe_full else 0)
        self._watch(epoll, self.sock, select.EPOLLOUT if self.in_pipe or self.head else 0)
        return False

    def release(self) -> None:
        self.head = memoryview(b"")
        os.close(self.sock)
        os.close(self.pipe_r)
        os.close(self.pipe_w)


_MakeJob = Callable[[asyncio.AbstractEventLoop, "asyncio.Future[None]", int], "_Job | _SpliceJob"]


class SendfilePump:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job | _SpliceJob] = {}
        self._epoll: select.epoll | None = None
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> select.epoll:
        if self._epoll is None:
            self._epoll = select.epoll()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="kloudvault-sendfile", daemon=True
            )
            self._thread.start()
        return self._epoll

    async def send(self, sock_fd: int, file_fd: int, offset: int, count: int) -> None:
        """Send file bytes [offset, offset + count) to the socket; raise OSError on failure."""
        if count > 0:
            await self._run_job(
                lambda loop, future, dup: _Job(dup, file_fd, offset, count, future, loop, None),
                sock_fd,
            )

    async def send_buffer(self, sock_fd: int, data: memoryview) -> None:
        """Send all of `data` (bytes, 1-dimensional) to the socket; raise OSError on failure.
        The pump holds no reference to `data` once this returns or raises."""
        if len(data):
            await self._run_job(
                lambda loop, future, dup: _Job(dup, -1, 0, len(data), future, loop, data), sock_fd
            )

    async def splice(
        self, src_fd: int, sock_fd: int, count: int, idle_timeout: float, head: bytes = b""
    ) -> None:
        """Send `head` (bytes of the relayed body already read from `src_fd`), then relay
        `count` bytes from the socket `src_fd` (non-blocking) to the socket `sock_fd`: one
        job, one wake-up of the pump for both. Raises OSError on failure, TimeoutError if
        `src_fd` has nothing for `idle_timeout` seconds while the client waits for it (a
        stalled backend; a slow client is waited for, as `send` waits for it)."""
        if count > 0 or head:
            view = memoryview(head)
            await self._run_job(
                lambda loop, future, dup: _SpliceJob(src_fd, dup, count, future, loop, view),
                sock_fd,
                idle_timeout,
            )

    async def _run_job(
        self, make: _MakeJob, sock_fd: int, idle_timeout: float | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        dup = os.dup(sock_fd)
        try:
            job = make(loop, future, dup)
        except BaseException:
            os.close(dup)
            raise
        with self._lock:
            epoll = self._ensure_thread()
            for fd in job.fds:
                self._jobs[fd] = job
            job.register(epoll)
        try:
            while isinstance(job, _SpliceJob) and idle_timeout is not None:
                await asyncio.wait((future,), timeout=idle_timeout)
                if future.done():
                    break
                if job.stalled(idle_timeout):
                    raise TimeoutError(f"the backend sent nothing for {idle_timeout} s")
            await future
        finally:
            with self._lock:
                self._forget(job)

    def _forget(self, job: _Job | _SpliceJob) -> None:
        """Unregister a job and release its descriptors once (the lock is held)."""
        if self._jobs.get(job.fds[0]) is not job:
            return
        assert self._epoll is not None
        for fd in job.fds:
            del self._jobs[fd]
            try:
                self._epoll.unregister(fd)
            except OSError:
                pass
        job.release()

    def _run(self) -> None:
        assert self._epoll is not None
        epoll = self._epoll
        while True:
            try:
                events = epoll.poll(1.0)
            except InterruptedError:
                continue
            for fd, _mask in events:
                with self._lock:
                    job = self._jobs.get(fd)
                    if job is None or job.future.done():
                        continue
                    error: BaseException | None = None
                    try:
                        if not job.step(epoll):
                            continue
                    except Exception as exc:  # the job fails; the pump must go on
                        error = exc
                    self._forget(job)
                    job.loop.call_soon_threadsafe(_resolve, job.future, error)


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


_PUMP = SendfilePump()


def pump() -> SendfilePump:
    return _PUMP
