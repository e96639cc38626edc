"""A BlockBody's bytes written to a plain TCP socket by the thread that makes them.

Why: a sealed GET made each MiB in a worker thread, handed it back to the event loop, and
the loop handed it on to the sendfile pump's thread (a dup, an epoll registration and a
wake-up per MiB) to write it: two thread hops and three wake-ups per MiB, which cost more
than the `preadv` copy (bench/RESULTS.md, "SSE-S3 GET: one thread makes and sends each
block").

How this works:
  - A response has two buffers (gateway/responses.py allocates them). `pending`, the
    bytes made and not yet sent, is in one; the next block is made into the other.
  - A step (one worker-thread call, `step`) writes `pending` to our duplicate of the
    socket's descriptor without blocking, and once all of it is out makes the next block
    and writes that, up to STEP_BLOCKS blocks.
  - When the socket is full the step makes the next block into the other buffer
    (`ready`: decryption overlaps the client's reading) and returns with `pending` left;
    the event loop gives what is left to the sendfile pump, which waits for the socket to
    drain (gateway/sendfile.py), and the next step starts from `ready`.
  - The socket is non-blocking (the transport's), so a step never waits for a client: a
    slow client holds its two buffers and an epoll registration, never a thread.
  - Every step of a process runs on one thread of its own (`blocks_executor`), queued
    step by step. Each `decrypt_into`, `preadv` and `write` drops the GIL and takes it
    back; with the default executor's six threads all making blocks, nearly every one
    of those became a futex wake-up and a context switch (15% of a sealed GET's CPU
    on two cores). One thread makes them uncontended; the processes (`--workers`, one
    per CPU by default) spread the work over the cores. The price: a process reads one
    block from disk at a time (a cold cache is read at queue depth one per process).

Our duplicate keeps the socket alive until close(): a step never writes into a descriptor
number the transport closed and something else reused.
"""

from __future__ import annotations

import concurrent.futures
import os
from typing import Final, Protocol

STEP_BLOCKS: Final = 4  # bounds one step's time (a few ms) while other responses queue


class BlockReader(Protocol):
    """Bytes made by blocking calls, one call at a time (each may run in a worker thread)."""

    @property
    def block_size(self) -> int:
        """The most bytes one read_into call writes."""
        ...

    def read_into(self, out: memoryview) -> int:
        """Write the next bytes at the start of `out` (block_size long); return how many,
        0 at the end. May raise: the response is then cut short (or, for the first
        call, which runs before the headers are sent, becomes an error answer)."""
        ...

    def close(self) -> None:
        """Release what the reads opened; called once, when no read_into is running."""
        ...


class BlockSender:
    """Sends `reader`'s bytes to the socket `sock_fd`, starting with the first `first`
    bytes already made in `buffers[0]`. `step` runs in a worker thread, one at a time;
    the event loop sends `pending` through the pump when a step leaves some."""

    __slots__ = ("_buffers", "_eof", "_fd", "_k", "_reader", "_ready", "pending", "sent")

    def __init__(
        self, reader: BlockReader, sock_fd: int, buffers: tuple[memoryview, memoryview], first: int
    ) -> None:
        self._reader = reader
        self._buffers = buffers
        self._k = 0  # the buffer `pending` is in
        self.pending = buffers[0][:first]
        self._ready: memoryview | None = None  # the next block, made while `pending` waits
        self._eof = False
        self.sent = 0
        self._fd = os.dup(sock_fd)

    @property
    def fd(self) -> int:
        """Our duplicate of the socket's descriptor (the pump sends `pending` to it)."""
        return self._fd

    @property
    def done(self) -> bool:
        return self._eof and not self.pending

    def step(self) -> None:
        """Write what the socket takes; make and write up to STEP_BLOCKS more blocks; if the
        socket fills up, make the next block and return with `pending` left. Raises what
        the reader or the socket raise (a peer gone: OSError)."""
        made = 0
        while True:
            pending = self.pending
            while pending:
                try:
                    n = os.write(self._fd, pending)
                except BlockingIOError:
                    break
                pending = pending[n:]
                self.sent += n
            self.pending = pending
            if pending or self._eof or made == STEP_BLOCKS:
                break
            self._next()
            made += 1
        if self.pending and self._ready is None and not self._eof:
            other = self._buffers[self._k ^ 1]
            n = self._reader.read_into(other)
            self._ready = other[:n] if n else None
            self._eof = not n

    def pending_sent(self) -> None:
        """The pump sent all of `pending`."""
        self.sent += len(self.pending)
        self.pending = self.pending[:0]

    def _next(self) -> None:
        """Make the next block `pending` (the one made ahead, if any)."""
        self._k ^= 1
        if self._ready is not None:
            self.pending, self._ready = self._ready, None
            return
        out = self._buffers[self._k]
        n = self._reader.read_into(out)
        self.pending = out[:n]
        self._eof = not n

    def close(self) -> None:
        """Close our duplicate of the socket; call once no step is running."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


_executor: concurrent.futures.ThreadPoolExecutor | None = None


def blocks_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread that makes (and over plain TCP writes) the blocks of every BlockBody
    this process sends; made on first use."""
    global _executor
    if _executor is None:
        _executor = concurrent.futures.ThreadPoolExecutor(1, "kloudvault-blocks")
    return _executor


def _forget_executor() -> None:
    global _executor
    _executor = None  # a forked child has none of its parent's threads


os.register_at_fork(after_in_child=_forget_executor)
