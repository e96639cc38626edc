"""Sealed frames read straight from a local blob file (the local backend's SSE GET path).

The generic path (gateway.codec.frames.open_frames over backend.get_blob) costs, per MiB,
a thread hop to pread into a new bytes object, the cutting of frames out of chunks that do
not end on frame boundaries (a copy of the frame split between two), and a second thread
hop to open them. Here each step is one worker-thread call that preadv()s a run of whole
sealed frames into one of two buffers reused for the whole request and opens them into
the output chunk: one hop, no allocation for the stored bytes, no split frames. Two
buffers suffice because decoded_ahead holds at most two jobs at a time (one running, one
whose output is being written), and a job's buffer is free once its output exists.

The descriptor is closed only once no job is running (decoded_ahead's `then`), so a
cancelled request can never make a thread read a recycled descriptor.

FrameFileReader does the same work as blocking calls that fill buffers the caller owns
and reuses (gateway/responses.py BlockBody): the plaintext is written into the caller's
buffer, never into a new object, so a GET allocates (and zero-fills, and page-faults)
its three 1 MiB buffers once instead of one per MiB sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Final

from gateway import buffers
from gateway.codec.frames import (
    FRAME_SIZE,
    OFFLOAD_BYTES,
    TAG_SIZE,
    FrameCipher,
    FrameError,
    Job,
    decoded_ahead,
    frame_count,
    open_run,
    open_run_into,
    stored_span,
    trimmed,
)

READ_FRAMES: Final = 16  # sealed frames per read and per output chunk (~1 MiB)


def _read_exactly(fd: int, view: memoryview, offset: int) -> int:
    """Fill `view` from `offset`; return how many bytes the file had (short at its end)."""
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            break
        got += n
    return got


async def open_file_frames(
    path: str,
    cipher: FrameCipher,
    plain_size: int,
    start: int,
    end: int,
    frame_size: int = FRAME_SIZE,
    offload_at: int = OFFLOAD_BYTES,
) -> AsyncGenerator[bytes, None]:
    """Plaintext [start, end) of the sealed segment stored in the file at `path`; raises
    FrameError as open_frames does (a frame that fails authentication, a file cut short)."""
    span = stored_span(plain_size, start, end, frame_size)
    last_frame = frame_count(plain_size, frame_size) - 1
    sealed = frame_size + TAG_SIZE
    fd = await asyncio.to_thread(os.open, path, os.O_RDONLY | os.O_CLOEXEC)
    step = min(READ_FRAMES, span.last + 1 - span.first)
    buffers = [bytearray(step * sealed) for _ in range(2 if span.last > span.first else 1)]

    def job(n: int, first: int, count: int, cut: int, keep: int) -> Job:
        offset = span.start + (first - span.first) * sealed
        length = min(count * sealed, span.end - offset)
        plain = length - count * TAG_SIZE

        out = bytearray(plain)  # allocated on the loop's thread: frames.open_frames says why

        def run() -> bytes:
            view = memoryview(buffers[n % len(buffers)])[:length]
            if _read_exactly(fd, view, offset) != length:
                raise FrameError(f"segment ends before frame {first + count - 1}")
            frames = [view[k : k + sealed] for k in range(0, length, sealed)]
            return trimmed(open_run(cipher, frames, first, last_frame, out), cut, keep)

        return run, plain

    started = False

    async def jobs() -> AsyncIterator[Job]:
        nonlocal started
        started = True  # decoded_ahead runs: its `then` closes the descriptor
        remaining = end - start
        cut = span.skip
        for n, first in enumerate(range(span.first, span.last + 1, step)):
            count = min(step, span.last + 1 - first)
            plain = min(count * frame_size, plain_size - first * frame_size)
            keep = min(remaining, plain - cut)
            yield job(n, first, count, cut, keep)
            remaining -= keep
            cut = 0

    ahead = decoded_ahead(jobs(), offload_at, then=lambda: os.close(fd))
    try:
        async with contextlib.aclosing(ahead):
            async for chunk in ahead:
                yield chunk
    finally:
        if not started:
            os.close(fd)


class FrameFileReader:
    """Plaintext [start, end) of the sealed segment in the file at `path`, by blocking calls
    (each may run in a worker thread, one at a time). The file is opened and the cipher
    made (`cipher()`) by the first call, so a reader never used holds nothing.

    Raises FrameError as open_frames does (a frame that fails authentication, a file cut
    short); nothing of a run is written before all its frames are authenticated, but the
    buffer given to a call that raised holds unauthenticated bytes: drop them.
    """

    def __init__(
        self,
        path: str,
        cipher: Callable[[], FrameCipher],
        plain_size: int,
        start: int,
        end: int,
        frame_size: int = FRAME_SIZE,
    ) -> None:
        self._path = path
        self._make_cipher = cipher
        self._cipher: FrameCipher | None = None
        self._span = stored_span(plain_size, start, end, frame_size)
        self._last_frame = frame_count(plain_size, frame_size) - 1
        self._frame_size = frame_size
        self._next = self._span.first  # the next frame to read
        self._remaining = end - start
        self._fd = -1
        self._stored: bytearray | None = None
        self._run = min(READ_FRAMES, self._span.last + 1 - self._span.first)  # frames per call
        # Most plaintext bytes one call writes (a whole run, before the range trims it).
        self.block_size = self._run * frame_size

    def read_into(self, out: memoryview) -> int:
        """Write the next plaintext bytes (at most block_size) at the start of `out`;
        return how many, 0 at the end."""
        if not self._remaining:
            return 0
        span, sealed = self._span, self._frame_size + TAG_SIZE
        if self._cipher is None:
            cipher = self._make_cipher()
            self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
            self._cipher = cipher
        first = self._next
        count = min(self._run, span.last + 1 - first)
        offset = span.start + (first - span.first) * sealed
        length = min(count * sealed, span.end - offset)
        if self._stored is None:
            self._stored = buffers.take(self._run * sealed)
        stored = memoryview(self._stored)[:length]
        if _read_exactly(self._fd, stored, offset) != length:
            raise FrameError(f"segment ends before frame {first + count - 1}")
        plain = length - count * TAG_SIZE
        frames = [stored[k : k + sealed] for k in range(0, length, sealed)]
        open_run_into(self._cipher, frames, first, self._last_frame, out[:plain])
        skip = span.skip if first == span.first else 0
        keep = min(self._remaining, plain - skip)
        if skip:
            out[:keep] = out[skip : skip + keep]  # the range's first run only (memmove)
        self._next = first + count
        self._remaining -= keep
        return keep

    def close(self) -> None:
        """Close the file; call once no read_into is running."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._stored is not None:
            buffers.give(self._stored)
            self._stored = None
