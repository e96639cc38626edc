"""gateway.codec.frames: sealed 64 KiB frames, ranges, and tampering detected."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable

import pytest

from gateway.codec.frames import (
    FRAME_SIZE,
    TAG_SIZE,
    FrameCipher,
    FrameError,
    frame_count,
    open_frames,
    seal_frames,
    stored_size,
    stored_span,
)

KEY = bytes(range(32))
SID = b"segment-0000001"


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _seal(plain: bytes, chunk: int = 10_000, frame: int = FRAME_SIZE) -> bytes:
    async def run() -> bytes:
        pieces = [plain[i : i + chunk] for i in range(0, len(plain), chunk)]
        out = [f async for f in seal_frames(_aiter(pieces), FrameCipher(KEY, SID), frame)]
        return b"".join(out)

    return asyncio.run(run())


def _open(
    stored: bytes,
    size: int,
    start: int,
    end: int,
    frame: int = FRAME_SIZE,
    cipher: FrameCipher | None = None,
    chunk: int = 7_777,
) -> bytes:
    span = stored_span(size, start, end, frame)
    window = stored[span.start : span.end]

    async def run() -> bytes:
        pieces = [window[i : i + chunk] for i in range(0, len(window), chunk)]
        c = cipher or FrameCipher(KEY, SID)
        return b"".join([p async for p in open_frames(_aiter(pieces), c, size, start, end, frame)])

    return asyncio.run(run())


@pytest.mark.parametrize(
    "size", [0, 1, 100, FRAME_SIZE - 1, FRAME_SIZE, FRAME_SIZE + 1, 3 * FRAME_SIZE, 200_000]
)
def test_round_trip(size: int) -> None:
    plain = os.urandom(size)
    stored = _seal(plain)
    assert len(stored) == stored_size(size) == size + frame_count(size) * TAG_SIZE
    # (A short plaintext can turn up in random ciphertext by chance: 1 byte in 17 does 6% of
    # the time; 16 bytes or more never will.)
    assert plain not in stored or size < 16
    if size:
        assert _open(stored, size, 0, size) == plain


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 1),
        (FRAME_SIZE - 1, FRAME_SIZE + 1),  # across a frame boundary
        (FRAME_SIZE, 2 * FRAME_SIZE),  # exactly one frame
        (10, 3 * FRAME_SIZE + 5),  # several frames, partial at both ends
        (3 * FRAME_SIZE + 4, 3 * FRAME_SIZE + 5),  # the last byte of the short last frame
    ],
)
def test_range_reads_only_the_frames_it_touches(start: int, end: int) -> None:
    size = 3 * FRAME_SIZE + 5
    plain = os.urandom(size)
    stored = _seal(plain)
    span = stored_span(size, start, end)
    assert span.first == start // FRAME_SIZE and span.last == (end - 1) // FRAME_SIZE
    assert span.end - span.start <= (span.last - span.first + 1) * (FRAME_SIZE + TAG_SIZE)
    assert _open(stored, size, start, end) == plain[start:end]


def test_small_frames_every_range() -> None:
    plain = os.urandom(50)
    stored = _seal(plain, chunk=3, frame=8)
    for start in range(50):
        for end in range(start + 1, 51):
            assert _open(stored, 50, start, end, frame=8, chunk=5) == plain[start:end]


def test_tampered_byte_fails() -> None:
    plain = os.urandom(2 * FRAME_SIZE + 10)
    stored = bytearray(_seal(plain))
    stored[FRAME_SIZE + TAG_SIZE + 3] ^= 1  # inside frame 1
    assert _open(bytes(stored), len(plain), 0, 10) == plain[:10]  # frame 0 is intact
    with pytest.raises(FrameError):
        _open(bytes(stored), len(plain), 0, len(plain))


def test_reordered_frames_fail() -> None:
    plain = os.urandom(3 * FRAME_SIZE)
    stored = _seal(plain)
    sealed = FRAME_SIZE + TAG_SIZE
    swapped = stored[sealed : 2 * sealed] + stored[:sealed] + stored[2 * sealed :]
    with pytest.raises(FrameError):
        _open(swapped, len(plain), 0, 10)


def test_truncated_at_a_frame_boundary_fails() -> None:
    """Dropping the last frame (and claiming the shorter size) fails: no frame is final."""
    plain = os.urandom(2 * FRAME_SIZE)
    stored = _seal(plain)
    with pytest.raises(FrameError):
        _open(stored[: FRAME_SIZE + TAG_SIZE], FRAME_SIZE, 0, FRAME_SIZE)


def test_short_stream_fails() -> None:
    plain = os.urandom(FRAME_SIZE + 100)
    stored = _seal(plain)

    async def run() -> None:
        cut = stored[: FRAME_SIZE + TAG_SIZE + 50]
        c = FrameCipher(KEY, SID)
        async for _ in open_frames(_aiter([cut]), c, len(plain), 0, len(plain)):
            pass

    with pytest.raises(FrameError):
        asyncio.run(run())


def test_other_segment_or_key_fails() -> None:
    plain = os.urandom(1000)
    stored = _seal(plain)
    with pytest.raises(FrameError):
        _open(stored, 1000, 0, 1000, cipher=FrameCipher(KEY, b"another-segment"))
    with pytest.raises(FrameError):
        _open(stored, 1000, 0, 1000, cipher=FrameCipher(bytes(32), SID))


def test_empty_object_is_one_final_frame() -> None:
    stored = _seal(b"")
    assert len(stored) == TAG_SIZE
    assert FrameCipher(KEY, SID).open(stored, 0, True) == b""
    with pytest.raises(FrameError):
        FrameCipher(KEY, SID).open(stored, 0, False)


def test_stored_span_rejects_empty_or_outside_ranges() -> None:
    for start, end in [(0, 0), (5, 4), (0, 11)]:
        with pytest.raises(ValueError):
            stored_span(10, start, end)
