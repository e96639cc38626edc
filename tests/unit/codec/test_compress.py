"""gateway.codec.compress: compressed (and sealed) frames with their index, ranges across
frames, incompressible frames stored raw, and tampering detected."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from gateway.codec.compress import INDEX_ENTRY, pack_frames, unpack_frames, worth_compressing
from gateway.codec.frames import FrameCipher, FrameError, frame_count

FRAME = 1024  # small frames keep the tables fast; the layout does not depend on the size
CIPHER = FrameCipher(bytes(range(32)), b"segment-0000001")
TEXT = b"".join(b"line %06d: the quick brown fox jumps over the lazy dog\n" % i for i in range(200))


async def _chunks(data: bytes, size: int = 700) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _pack(plain: bytes, cipher: FrameCipher | None) -> bytes:
    async def run() -> bytes:
        return b"".join([p async for p in pack_frames(_chunks(plain), cipher, FRAME)])

    return asyncio.run(run())


def _unpack(stored: bytes, cipher: FrameCipher | None, size: int, start: int, end: int) -> bytes:
    async def read(a: int, b: int) -> AsyncIterator[bytes]:
        for i in range(a, b, 300):
            yield stored[i : min(b, i + 300)]

    async def run() -> bytes:
        frames = unpack_frames(read, cipher, size, len(stored), start, end, FRAME)
        return b"".join([p async for p in frames])

    return asyncio.run(run())


SIZES = [0, 1, FRAME - 1, FRAME, FRAME + 1, len(TEXT)]


@pytest.mark.parametrize("cipher", [None, CIPHER], ids=["zstd", "zstd+aes"])
@pytest.mark.parametrize("size", SIZES)
def test_round_trip_and_ranges(cipher: FrameCipher | None, size: int) -> None:
    plain = TEXT[:size]
    stored = _pack(plain, cipher)
    assert len(stored) >= INDEX_ENTRY * frame_count(size, FRAME)
    if not size:
        return
    assert _unpack(stored, cipher, size, 0, size) == plain
    for start, end in [(0, 1), (size - 1, size), (FRAME - 3, FRAME + 3), (5, 3 * FRAME + 7)]:
        start, end = min(start, size - 1), min(end, size)
        if start < end:
            assert _unpack(stored, cipher, size, start, end) == plain[start:end]


def test_text_shrinks_and_random_is_stored_raw() -> None:
    assert len(_pack(TEXT, None)) < len(TEXT) / 3
    noise = os.urandom(3 * FRAME)
    stored = _pack(noise, None)
    # One flag byte per raw frame, and the index.
    assert len(stored) == len(noise) + 3 + 3 * INDEX_ENTRY
    assert _unpack(stored, None, len(noise), 0, len(noise)) == noise
    assert worth_compressing(TEXT) and not worth_compressing(noise)


def test_sealed_frames_hold_no_plaintext() -> None:
    stored = _pack(TEXT, CIPHER)
    assert b"quick brown fox" not in stored
    with pytest.raises(FrameError):
        _unpack(stored, FrameCipher(bytes(32), b"segment-0000001"), len(TEXT), 0, 10)


@pytest.mark.parametrize("cipher", [None, CIPHER], ids=["zstd", "zstd+aes"])
def test_tampering_fails(cipher: FrameCipher | None) -> None:
    stored = bytearray(_pack(TEXT, cipher))
    stored[5] ^= 0xFF  # inside frame 0
    with pytest.raises(FrameError):
        _unpack(bytes(stored), cipher, len(TEXT), 0, len(TEXT))
    cut = _pack(TEXT, cipher)
    index_at = len(cut) - INDEX_ENTRY * frame_count(len(TEXT), FRAME)
    # An index claiming frame 1 ends before it starts.
    broken = cut[: index_at + INDEX_ENTRY] + bytes(INDEX_ENTRY) + cut[index_at + 2 * INDEX_ENTRY :]
    with pytest.raises(FrameError):
        _unpack(broken, cipher, len(TEXT), 0, len(TEXT))
