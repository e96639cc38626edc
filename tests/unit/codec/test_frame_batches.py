"""gateway.codec.frames' batched opening: FrameCutter cuts chunks of any size into whole
stored frames, open_frames opens them a batch at a time (inline, or in worker threads one
batch ahead: OFFLOAD runs both ways), and a bad frame still yields nothing of its batch."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable

import pytest

from gateway.codec.compress import pack_frames, unpack_frames
from gateway.codec.frames import (
    TAG_SIZE,
    FrameCipher,
    FrameCutter,
    FrameError,
    decoded_ahead,
    open_frames,
    seal_frames,
    stored_span,
)

FRAME = 64  # small frames: every chunking and range stays cheap
SEALED = FRAME + TAG_SIZE
CIPHER = FrameCipher(bytes(range(32)), b"segment-batches")
# offload_at values: every batch in a worker thread, or (these frames being tiny) inline.
OFFLOAD = pytest.mark.parametrize("offload", [0, 10**9], ids=["threads", "inline"])


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _seal(plain: bytes) -> bytes:
    async def run() -> bytes:
        return b"".join([f async for f in seal_frames(_aiter([plain]), CIPHER, FRAME)])

    return asyncio.run(run())


def _open_pieces(
    stored: bytes, size: int, start: int, end: int, chunk: int, batch: int, offload: int = 0
) -> tuple[list[bytes], FrameError | None]:
    """The pieces open_frames yields before it ends (or fails), and its error."""
    span = stored_span(size, start, end, FRAME)
    pieces: list[bytes] = []

    async def run() -> None:
        stream = _aiter(_cut(stored[span.start : span.end], chunk))
        opened = open_frames(stream, CIPHER, size, start, end, FRAME, batch, offload)
        async for piece in opened:
            pieces.append(bytes(piece))

    try:
        asyncio.run(run())
    except FrameError as exc:
        return pieces, exc
    return pieces, None


@pytest.mark.parametrize("chunk", [1, 5, SEALED - 1, SEALED, SEALED + 1, 3 * SEALED + 2, 10**6])
def test_cutter_gives_whole_frames_whatever_the_chunks(chunk: int) -> None:
    sizes = [SEALED] * 5 + [TAG_SIZE + 7]
    data = os.urandom(sum(sizes))
    cutter = FrameCutter(sizes.__getitem__, len(sizes))
    frames = [bytes(f) for c in _cut(data + b"extra bytes", chunk) for f in cutter.feed(c)]
    assert [len(f) for f in frames] == sizes  # the trailing extra bytes are ignored
    assert b"".join(frames) == data and cutter.complete


def test_cutter_incomplete_when_the_stream_ends_early() -> None:
    cutter = FrameCutter(lambda k: SEALED, 3)
    assert len(cutter.feed(bytes(2 * SEALED + 5))) == 2
    assert not cutter.complete


@pytest.mark.parametrize("chunk", [1, 7, SEALED, SEALED + 1, 4 * SEALED + 3, 10**6])
@pytest.mark.parametrize("batch", [1, 3, 8])
@OFFLOAD
def test_every_range_for_every_chunking_and_batch(chunk: int, batch: int, offload: int) -> None:
    size = 5 * FRAME + 9  # a short final frame
    plain = os.urandom(size)
    stored = _seal(plain)
    for start in (0, 1, FRAME - 1, FRAME, 2 * FRAME + 3, size - 1):
        for end in (start + 1, FRAME + 1, 3 * FRAME, 4 * FRAME + 1, size):
            if end <= start:
                continue
            pieces, error = _open_pieces(stored, size, start, end, chunk, batch, offload)
            assert error is None and b"".join(pieces) == plain[start:end], (start, end)


def test_one_byte_object_and_exact_frame_multiple() -> None:
    for size in (1, FRAME, 4 * FRAME):
        plain = os.urandom(size)
        pieces, error = _open_pieces(_seal(plain), size, 0, size, 10**6, 8)
        assert error is None and b"".join(pieces) == plain


def test_a_batch_is_yielded_whole_and_big() -> None:
    size = 20 * FRAME
    plain = os.urandom(size)
    pieces, _ = _open_pieces(_seal(plain), size, 0, size, 10 * SEALED, 8)
    assert [len(p) for p in pieces] == [10 * FRAME, 10 * FRAME]  # one piece per chunk


@pytest.mark.parametrize("bad", [0, 5, 7, 19])
def test_a_tampered_frame_yields_nothing_of_its_batch(bad: int) -> None:
    size = 20 * FRAME
    plain = os.urandom(size)
    stored = bytearray(_seal(plain))
    stored[bad * SEALED + 3] ^= 1
    pieces, error = _open_pieces(bytes(stored), size, 0, size, 10**6, 8)
    assert error is not None and f"frame {bad}" in str(error)
    assert pieces == []  # the whole object came in one chunk: one batch


@OFFLOAD
def test_a_tampered_frame_in_a_later_batch_stops_there(offload: int) -> None:
    size = 20 * FRAME
    plain = os.urandom(size)
    stored = bytearray(_seal(plain))
    stored[12 * SEALED] ^= 1
    pieces, error = _open_pieces(bytes(stored), size, 0, size, 8 * SEALED, 8, offload)
    assert error is not None
    assert b"".join(pieces) == plain[: 8 * FRAME]  # frames 8..15 never came out


@OFFLOAD
def test_truncated_final_frame_fails_after_the_frames_before_it(offload: int) -> None:
    size = 3 * FRAME + 9
    plain = os.urandom(size)
    stored = _seal(plain)
    pieces, error = _open_pieces(stored[:-1], size, 0, size, 10**6, 8, offload)
    assert error is not None and b"".join(pieces) == plain[: 3 * FRAME]


def _unpack_pieces(
    stored: bytes,
    cipher: FrameCipher | None,
    size: int,
    start: int,
    end: int,
    chunk: int,
    offload: int = 0,
) -> list[bytes]:
    async def read(a: int, b: int) -> AsyncIterator[bytes]:
        for piece in _cut(stored[a:b], chunk):
            yield piece

    async def run() -> list[bytes]:
        stream = unpack_frames(read, cipher, size, len(stored), start, end, FRAME, offload)
        return [bytes(p) async for p in stream]

    return asyncio.run(run())


@OFFLOAD
@pytest.mark.parametrize("cipher", [None, CIPHER], ids=["zstd", "zstd+aes"])
@pytest.mark.parametrize("chunk", [1, 50, 10**6])
def test_compressed_ranges_for_every_chunking(
    cipher: FrameCipher | None, chunk: int, offload: int
) -> None:
    plain = b"".join(b"%05d mixed " % i + os.urandom(i % 40) for i in range(120))
    size = len(plain)

    async def pack() -> bytes:
        return b"".join([p async for p in pack_frames(_aiter([plain]), cipher, FRAME)])

    stored = asyncio.run(pack())
    for start, end in [(0, size), (0, 1), (FRAME - 1, FRAME + 1), (70, 20 * FRAME + 3)]:
        got = _unpack_pieces(stored, cipher, size, start, end, chunk, offload)
        assert b"".join(got) == plain[start:end]
    if cipher is not None:  # a raw frame stored unsealed has nothing to check it with
        bad = bytearray(stored)
        bad[len(stored) // 2] ^= 0x55  # a frame in the middle
        with pytest.raises(FrameError):
            _unpack_pieces(bytes(bad), cipher, size, 0, size, chunk, offload)


def test_decoded_ahead_keeps_order_and_runs_the_next_job_while_one_is_written() -> None:
    started = [threading.Event() for _ in range(5)]

    def decode(n: int) -> bytes:
        started[n].set()
        return b"%d," % n

    async def jobs() -> AsyncIterator[tuple[Callable[[], bytes], int]]:
        for n in range(5):
            yield (lambda n=n: decode(n)), 1  # type: ignore[misc]

    async def run() -> list[bytes]:
        seen: list[bytes] = []
        async for out in decoded_ahead(jobs(), offload_at=0):
            n = len(seen)
            if n < 4:  # while output n is "written", job n + 1 is already running
                assert await asyncio.to_thread(started[n + 1].wait, 10)
            seen.append(out)
        return seen

    assert asyncio.run(run()) == [b"0,", b"1,", b"2,", b"3,", b"4,"]


def test_decoded_ahead_raises_a_failed_job_in_its_turn() -> None:
    def fail() -> bytes:
        raise FrameError("frame 9 failed authentication")

    async def jobs() -> AsyncIterator[tuple[Callable[[], bytes], int]]:
        yield (lambda: b"first"), 1
        yield fail, 1
        yield (lambda: b"never"), 1

    async def run() -> list[bytes]:
        got: list[bytes] = []
        with pytest.raises(FrameError):
            async for out in decoded_ahead(jobs(), offload_at=0):
                got.append(out)
        return got

    assert asyncio.run(run()) == [b"first"]


# -- sealing in batches ---------------------------------------------------------------------


def _seal_chunks(plain: bytes, chunk: int, batch: int, offload: int) -> list[bytes]:
    async def run() -> list[bytes]:
        stream = _aiter(_cut(plain, chunk) if plain else [])
        sealed = seal_frames(stream, CIPHER, FRAME, lambda: batch, offload)
        return [bytes(s) async for s in sealed]

    return asyncio.run(run())


def _open_all(stored: bytes, size: int) -> bytes:
    pieces, error = _open_pieces(stored, size, 0, size, 1000, 4) if size else ([], None)
    assert error is None
    return b"".join(pieces)


@OFFLOAD
@pytest.mark.parametrize("batch", [1, 2, 3])
def test_seal_any_chunking_and_batch(batch: int, offload: int) -> None:
    """Every size around frame and batch boundaries, every chunking: the same frames as
    one frame at a time, the last one (only) final, and each output chunk one batch."""
    for size in [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 3 * FRAME + 1, 7 * FRAME]:
        plain = os.urandom(size)
        expected = _seal_chunks(plain, max(size, 1), 1, 10**9)
        for chunk in [1, FRAME - 1, FRAME, FRAME + 1, 2 * FRAME + 3, max(size, 1)]:
            out = _seal_chunks(plain, chunk, batch, offload)
            assert b"".join(out) == b"".join(expected), (size, chunk)
            assert all(len(piece) <= batch * SEALED for piece in out[:-1])
            assert all(len(piece) == batch * SEALED for piece in out[:-1]), (size, chunk)
            assert _open_all(b"".join(out), size) == plain


def test_seal_frame_of_an_exact_multiple_is_final() -> None:
    """A body ending on a frame boundary: its last full frame is the final one (no empty
    frame follows), whatever chunk ended it."""
    plain = os.urandom(4 * FRAME)
    stored = b"".join(_seal_chunks(plain, FRAME, 2, 0))
    assert len(stored) == 4 * SEALED
    last = stored[3 * SEALED :]
    assert CIPHER.open(last, 3, True) == plain[3 * FRAME :]
    with pytest.raises(FrameError):
        CIPHER.open(last, 3, False)


def test_seal_batch_follows_the_callable() -> None:
    sizes = iter([1, 1, 4, 4, 4, 4])
    plain = os.urandom(10 * FRAME + 5)

    async def run() -> list[int]:
        sealed = seal_frames(_aiter(_cut(plain, FRAME)), CIPHER, FRAME, lambda: next(sizes, 2))
        return [-(-len(s) // SEALED) async for s in sealed]  # frames per chunk

    counts = asyncio.run(run())
    assert sum(counts) == 11 and counts[0] == 1 and 4 in counts
