"""Zero-copy file responses under uvloop: one sendfile(2) pump thread per process.

The same pump also sends a memory buffer (send_buffer: a sealed object's plaintext,
decrypted into a buffer the response reuses, gateway/responses.py): the buffer is the
caller's until `send_buffer` returns, so it can be refilled at once, where a buffer given
to the transport stays the transport's for as long as it holds any of it.

Why: uvloop implements no `loop.sendfile()` (it inherits AbstractEventLoop's, which raises
NotImplementedError), and it refuses `add_writer()` on a socket that one of its transports
owns. Without this module every local GET would be pread into Python and written back
out: two copies and a thread hop per MiB.

How this works:
  1. The caller has sent the response headers and waited until the transport's write
     buffer is empty, so the body bytes that follow cannot overtake anything.
  2. `send()` dup()s the socket's descriptor and registers the duplicate with the pump's
     own epoll instance for EPOLLOUT. The duplicate keeps the socket alive even if the
     transport closes its descriptor meanwhile (a client going away): the pump can never
     write into a recycled descriptor number.
  3. The pump thread waits in epoll; whenever a socket can take more, it calls
     os.sendfile() non-blocking for at most STEP bytes. Done, or failed (EPIPE,
     ECONNRESET, a file shorter than promised), it unregisters the job, closes the
     duplicate and resolves the caller's future on its event loop.
  4. Cancellation (the request task is cancelled) removes the job under the lock the pump
     holds while it touches a job, so once `send()` returns or raises the pump no longer
     uses the file's or the socket's descriptor.

Both descriptors stay owned by the caller (file) and the transport (socket).
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import threading
from dataclasses import dataclass

STEP = 8 * 1024 * 1024  # bytes per sendfile(2) call: bounds one call's time under the lock


@dataclass
class _Job:
    sock: int  # our duplicate of the socket descriptor
    file: int  # -1: send from `data`
    offset: int  # in the file, or in `data`
    remaining: int
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop
    data: memoryview | None = None


class SendfilePump:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
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
        await self._start(sock_fd, file_fd, offset, count, None)

    async def send_buffer(self, sock_fd: int, data: memoryview) -> None:
        """Send all of `data` (bytes, 1-dimensional) to the socket; raise OSError on failure.
        The pump holds no reference to `data` once this returns or raises."""
        await self._start(sock_fd, -1, 0, len(data), data)

    async def _start(
        self, sock_fd: int, file_fd: int, offset: int, count: int, data: memoryview | None
    ) -> None:
        if count <= 0:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        dup = os.dup(sock_fd)
        job = _Job(dup, file_fd, offset, count, future, loop, data)
        with self._lock:
            epoll = self._ensure_thread()
            self._jobs[dup] = job
            epoll.register(dup, select.EPOLLOUT)
        try:
            await future
        finally:
            with self._lock:
                self._forget(job)

    def _forget(self, job: _Job) -> None:
        """Unregister and close a job's duplicate once (the lock is held)."""
        if self._jobs.get(job.sock) is job:
            del self._jobs[job.sock]
            assert self._epoll is not None
            try:
                self._epoll.unregister(job.sock)
            except OSError:
                pass
            os.close(job.sock)
            job.data = None

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
                    self._step(job)

    def _step(self, job: _Job) -> None:
        """One non-blocking sendfile call for `job` (the lock is held)."""
        error: BaseException | None = None
        try:
            step = min(STEP, job.remaining)
            if job.data is None:
                sent = os.sendfile(job.sock, job.file, job.offset, step)
            else:
                sent = os.write(job.sock, job.data[job.offset : job.offset + step])
        except BlockingIOError:
            return  # the socket filled up between epoll and the call: wait again
        except OSError as exc:
            error = exc
        else:
            if sent == 0:
                error = OSError(errno.EIO, "file shorter than its recorded size")
            else:
                job.offset += sent
                job.remaining -= sent
                if job.remaining > 0:
                    return
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
