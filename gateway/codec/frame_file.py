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
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final

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
