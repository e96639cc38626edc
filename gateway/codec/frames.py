"""Sealed frames: a segment's plaintext as a sequence of AES-256-GCM sealed 64 KiB frames.

How this works (the idea of MinIO's DARE format, our own layout):
  - The plaintext is cut into frames of FRAME_SIZE bytes; the last one may be shorter, and an
    empty plaintext is one empty frame, so every stored segment ends with a final frame.
  - Frame i is stored as ciphertext || 16-byte tag, sealed under the segment's random data
    key with nonce = i (8 bytes, big-endian) || final flag (1 byte) || 3 zero bytes, and the
    segment id as associated data. A frame moved to another position, a frame that claims
    to be the last one but is not (or the reverse: a truncated segment) or a frame from
    another segment (another key and id) fails authentication.
  - Frame i of the plaintext starts at stored offset i * (FRAME_SIZE + TAG_SIZE), so a
    plaintext range maps onto the stored range of the frames it touches
    (stored_span); open_frames decodes just those and trims to the range.
  - open_frames opens the frames as views into the stored chunks (FrameCutter: only a
    frame split across two chunks is copied) and at least BATCH_FRAMES of them at a time
    into one buffer, so a 1 MiB backend chunk becomes one 1 MiB output chunk, not 16:
    per-frame Python work, copies and response writes cost a GET more than AES-GCM did.
    Each frame is still authenticated on its own, and no byte of a batch is yielded
    before all its frames are.
  - A batch of OFFLOAD_BYTES or more is opened in a worker thread (AES-GCM in
    `cryptography` and zstd release the GIL), one batch ahead (decoded_ahead): batch k+1
    is being opened while batch k is written to the socket, so on two cores decryption
    overlaps with the event loop's socket writes instead of stalling them.
  - seal_frames works the same way round: frames cut as views out of the body's chunks,
    SEAL_FRAMES of them sealed (`encrypt_into`) straight into one output chunk, in a
    worker thread one batch ahead, so on two cores AES-GCM runs beside the MD5 of the
    ETag (gateway.hashing) instead of on the event loop, with no copy of a frame but the
    one split across two chunks.
Data keys are random per segment, so a (key, nonce) pair never repeats.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FRAME_SIZE: Final = 64 * 1024
TAG_SIZE: Final = 16
KEY_SIZE: Final = 32
_AAD_PREFIX: Final = b"kloudvault-frame-v1\0"
# Frames opened per step at least (512 KiB): a 1 MiB backend chunk is one step; a
# request holds the chunks of one step and its output.
BATCH_FRAMES: Final = 8
# Frames sealed per step by default (512 KiB): one output chunk, one worker-thread call.
SEAL_FRAMES: Final = 8
# Plaintext bytes from which a batch is opened in a worker thread; a smaller one (a short
# range) inline, where a thread hop would cost more than it saves.
OFFLOAD_BYTES: Final = 128 * 1024

Job = tuple[Callable[[], bytes], int]  # a batch's decoder, and its plaintext size


class FrameError(Exception):
    """A stored frame failed authentication or the segment is cut short."""


def frame_count(plain_size: int, frame_size: int = FRAME_SIZE) -> int:
    return max(1, -(-plain_size // frame_size))


def stored_size(plain_size: int, frame_size: int = FRAME_SIZE) -> int:
    return plain_size + frame_count(plain_size, frame_size) * TAG_SIZE


@dataclass(frozen=True)
class StoredSpan:
    """The stored bytes [start, end) holding frames first..last, and the plaintext to drop
    from the front of frame `first` (`skip`)."""

    first: int
    last: int
    start: int
    end: int
    skip: int


def stored_span(plain_size: int, start: int, end: int, frame_size: int = FRAME_SIZE) -> StoredSpan:
    """The frames covering plaintext [start, end) of a segment of `plain_size` bytes."""
    if not 0 <= start < end <= plain_size:
        raise ValueError(f"range [{start}, {end}) outside 0..{plain_size}")
    first, last = start // frame_size, (end - 1) // frame_size
    sealed = frame_size + TAG_SIZE
    stored_end = min((last + 1) * sealed, stored_size(plain_size, frame_size))
    return StoredSpan(first, last, first * sealed, stored_end, start - first * frame_size)


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(8, "big") + (b"\1" if final else b"\0") + b"\0\0\0"


class FrameCipher:
    """Seals and opens the frames of one segment."""

    __slots__ = ("_aad", "_aead")

    def __init__(self, data_key: bytes, segment_id: bytes) -> None:
        if len(data_key) != KEY_SIZE:
            raise ValueError("data key must be 32 bytes")
        self._aead = AESGCM(data_key)
        self._aad = _AAD_PREFIX + segment_id

    def seal(self, plain: bytes, index: int, final: bool) -> bytes:
        return self._aead.encrypt(_nonce(index, final), plain, self._aad)

    def seal_into(self, plain: memoryview, index: int, final: bool, out: memoryview) -> None:
        """seal `plain` into `out` (len(plain) + TAG_SIZE bytes)."""
        self._aead.encrypt_into(_nonce(index, final), plain, self._aad, out)

    def open(self, sealed: bytes, index: int, final: bool) -> bytes:
        try:
            return self._aead.decrypt(_nonce(index, final), sealed, self._aad)
        except InvalidTag as exc:
            raise FrameError(f"frame {index} failed authentication") from exc

    def open_into(self, sealed: memoryview, index: int, final: bool, out: memoryview) -> None:
        """Open `sealed` into `out` (len(sealed) - TAG_SIZE bytes). On FrameError `out`
        holds unauthenticated bytes: the caller must drop it."""
        if len(sealed) < TAG_SIZE:
            raise FrameError(f"frame {index} is shorter than its tag")
        try:
            self._aead.decrypt_into(_nonce(index, final), sealed, self._aad, out)
        except InvalidTag as exc:
            raise FrameError(f"frame {index} failed authentication") from exc


class FrameCutter:
    """Cuts a stream of chunks into stored frames of known sizes (`size_of(k)` bytes for the
    k-th of `count`), as views into the chunks; only a frame split across chunks is copied.
    Bytes past the last frame are ignored."""

    __slots__ = ("_count", "_next", "_partial", "_size_of")

    def __init__(self, size_of: Callable[[int], int], count: int) -> None:
        self._size_of = size_of
        self._count = count
        self._next = 0
        self._partial = bytearray()

    @property
    def complete(self) -> bool:
        return self._next == self._count

    @property
    def partial(self) -> bytearray:
        """The bytes fed past the last whole frame so far."""
        return self._partial

    def feed(self, chunk: bytes) -> list[memoryview]:
        frames: list[memoryview] = []
        view = memoryview(chunk)
        n = self._next
        if self._partial and n < self._count:
            want = self._size_of(n)
            need = want - len(self._partial)
            self._partial += view[:need]
            view = view[need:]
            if len(self._partial) < want:
                return frames
            frames.append(memoryview(self._partial))
            self._partial = bytearray()  # the view keeps the old one: never resized again
            n += 1
        pos = 0
        while n < self._count and len(view) - pos >= (size := self._size_of(n)):
            frames.append(view[pos : pos + size])
            pos += size
            n += 1
        if n < self._count:
            self._partial += view[pos:]
        self._next = n
        return frames


def open_run(
    cipher: FrameCipher,
    sealed: Sequence[memoryview],
    index: int,
    last_frame: int,
    out: bytearray | None = None,
) -> bytearray:
    """The plaintext of consecutive sealed frames, the first being frame `index` (the
    segment's last is `last_frame`), in one buffer: `out` if given (exactly that size)."""
    if out is None:
        out = bytearray(sum(max(len(f) - TAG_SIZE, 0) for f in sealed))
    open_run_into(cipher, sealed, index, last_frame, memoryview(out))
    return out


def open_run_into(
    cipher: FrameCipher, sealed: Sequence[memoryview], index: int, last_frame: int, out: memoryview
) -> None:
    """open_run into `out`, which holds at least the run's plaintext."""
    at = 0
    for i, frame in enumerate(sealed, index):
        size = max(len(frame) - TAG_SIZE, 0)
        cipher.open_into(frame, i, i == last_frame, out[at : at + size])
        at += size


async def seal_frames(
    source: AsyncIterable[bytes],
    cipher: FrameCipher,
    frame_size: int = FRAME_SIZE,
    batch: Callable[[], int] = lambda: SEAL_FRAMES,
    offload_at: int = OFFLOAD_BYTES,
) -> AsyncIterator[bytes]:
    """The sealed frames of `source`, `batch()` frames to a chunk. A full frame is held until
    more bytes (or the end) show whether it is the last one. Frames are cut as views into
    the chunks (FrameCutter: only a frame split across two is copied) and sealed straight
    into the output chunk; a batch of `offload_at` bytes or more in a worker thread, while
    the next is received (decoded_ahead: at most two batches are being sealed, and hashlib
    hashes the body in another thread, gateway.hashing), not on the event loop."""
    cutter = FrameCutter(lambda _: frame_size, sys.maxsize)
    index = 0

    def job(frames: list[memoryview], final: bool) -> Job:
        nonlocal index
        first = index
        index += len(frames)
        size = sum(len(f) for f in frames)
        out = bytearray(size + len(frames) * TAG_SIZE)  # on the loop's thread: open_frames
        return lambda: seal_run(cipher, frames, first, final, out), size

    async def jobs() -> AsyncIterator[Job]:
        pending: list[memoryview] = []
        async for chunk in source:
            pending += cutter.feed(chunk)
            # Bytes follow each of the first `n` frames: none of them is the last.
            n = max(1, batch())
            while len(pending) > n or (len(pending) == n and cutter.partial):
                yield job(pending[:n], False)
                del pending[:n]
        if cutter.partial or not pending:  # the last frame is short, or the body empty
            pending.append(memoryview(bytes(cutter.partial)))
        yield job(pending, True)

    async for sealed in decoded_ahead(jobs(), offload_at):
        yield sealed


def seal_run(
    cipher: FrameCipher, frames: Sequence[memoryview], index: int, last_final: bool, out: bytearray
) -> bytes:
    """Consecutive plaintext frames, the first being frame `index`, sealed into `out`
    (their sizes plus a tag each); the last one is the segment's last if `last_final`."""
    view = memoryview(out)
    at = 0
    for n, frame in enumerate(frames):
        size = len(frame) + TAG_SIZE
        final = last_final and n == len(frames) - 1
        cipher.seal_into(frame, index + n, final, view[at : at + size])
        at += size
    return out  # type: ignore[return-value]  # a bytearray, never written to again


async def batched(
    stored: AsyncIterable[bytes],
    cutter: FrameCutter,
    batch: int,
    job: Callable[[list[memoryview]], Job],
) -> AsyncIterator[Job]:
    """The stored stream cut into frames, a job per `batch` frames (and one for the rest)."""
    pending: list[memoryview] = []
    async for chunk in stored:
        pending += cutter.feed(chunk)
        if len(pending) >= batch:
            yield job(pending)
            pending = []
    if pending:
        yield job(pending)


async def decoded_ahead(
    jobs: AsyncIterable[Job],
    offload_at: int = OFFLOAD_BYTES,
    then: Callable[[], None] | None = None,
) -> AsyncGenerator[bytes, None]:
    """The outputs of `jobs`, in order. A job of `offload_at` plaintext bytes or more runs in
    a worker thread, started before the previous job's output is yielded: at most two
    batches are held (one being decoded, one being written). An error of a job is raised
    when its turn comes; a job left running when the consumer stops finishes on its own,
    and `then` runs once no job is running any more (to close what the jobs read from)."""
    loop = asyncio.get_running_loop()
    live: list[asyncio.Future[bytes]] = []  # started and not yet awaited: at most two

    async def result_of(future: asyncio.Future[bytes]) -> bytes:
        # shield: cancelling the request must not detach us from a running thread.
        out = await asyncio.shield(future)
        live.remove(future)
        return out

    try:
        async for decode, size in jobs:
            if not live and size < offload_at:
                yield decode()
                continue
            live.append(loop.run_in_executor(None, decode))
            if len(live) == 2:
                yield await result_of(live[0])
        if live:
            yield await result_of(live[0])
    finally:
        _after(live, then)


def _after(futures: list[asyncio.Future[bytes]], then: Callable[[], None] | None) -> None:
    """Run `then` once every one of `futures` is done; retrieve their errors (nobody is
    waiting for them any more)."""
    left = [len(futures)]

    def done(future: asyncio.Future[bytes]) -> None:
        if not future.cancelled():
            future.exception()
        left[0] -= 1
        if left[0] == 0 and then is not None:
            then()

    if not futures and then is not None:
        then()
    for future in futures:
        future.add_done_callback(done)


def trimmed(plain: bytearray, skip: int, keep: int) -> bytes:
    if skip or len(plain) > keep:
        plain = plain[skip : skip + keep]  # only the range's first and last batches
    return plain  # type: ignore[return-value]  # a bytearray, never written to again


async def open_frames(
    stored: AsyncIterable[bytes],
    cipher: FrameCipher,
    plain_size: int,
    start: int,
    end: int,
    frame_size: int = FRAME_SIZE,
    batch: int = BATCH_FRAMES,
    offload_at: int = OFFLOAD_BYTES,
) -> AsyncIterator[bytes]:
    """Plaintext [start, end) from `stored`: the bytes of stored_span(plain_size, start, end).

    Raises FrameError on a frame that fails authentication or a stream that ends early;
    nothing of a frame is yielded before the frame is authenticated. Yields one chunk per
    `batch` frames or more; batches of `offload_at` plaintext bytes or more are opened in a
    worker thread (decoded_ahead).
    """
    span = stored_span(plain_size, start, end, frame_size)
    last_frame = frame_count(plain_size, frame_size) - 1
    sealed_size = frame_size + TAG_SIZE
    stored_len = span.end - span.start
    cutter = FrameCutter(
        lambda k: min(sealed_size, stored_len - k * sealed_size), span.last + 1 - span.first
    )
    remaining = end - start
    skip = span.skip
    index = span.first

    def job(frames: list[memoryview]) -> Job:
        # The bookkeeping runs here, in order; only the opening may run in a thread.
        nonlocal index, skip, remaining
        first, cut = index, skip
        plain = sum(max(len(f) - TAG_SIZE, 0) for f in frames)
        keep = min(remaining, plain - cut)
        index += len(frames)
        skip = 0
        remaining -= keep
        # Allocated here, on the event loop's thread, which also frees it once written:
        # glibc then reuses the memory, where a worker thread's allocation comes from a
        # per-thread arena that returns it to the kernel (page faults on every batch).
        out = bytearray(plain)
        return lambda: trimmed(open_run(cipher, frames, first, last_frame, out), cut, keep), plain

    async for plain in decoded_ahead(batched(stored, cutter, batch, job), offload_at):
        yield plain
    if not cutter.complete or remaining:
        raise FrameError(f"segment ends before frame {index}")
