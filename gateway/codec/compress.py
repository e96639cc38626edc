"""Compressed frames: a segment's plaintext as zstd-compressed 64 KiB frames, then sealed
(compress-then-encrypt) when the segment is encrypted, followed by a frame index.

How this works:
  - The plaintext is cut into frames of FRAME_SIZE bytes exactly as gateway.codec.frames
    does (the last may be shorter; an empty plaintext is one empty frame).
  - Each frame becomes a payload: one flag byte (0: raw, 1: zstd) and the frame, zstd
    compressed when that makes it smaller. Encrypted segments seal the payload with the
    segment's FrameCipher (same nonces and associated data as gateway.codec.frames), so
    the flag is authenticated too.
  - Stored frames vary in size, so the blob ends with an index: one 8-byte big-endian
    cumulative end offset per frame. A range read fetches the index entries of the frames
    it touches (a few bytes at a known place: the segment's stored size and frame count
    are in the version row), then those frames only.
Client-visible size, ETag, checksums and ranges are of the plaintext, as for plain blobs.
Encoding runs in a worker thread on batches of frames (zstd releases the GIL). Decoding
works on batches too: the frames of a backend chunk, cut as views (FrameCutter), become
one output chunk, decoded in a worker thread one batch ahead of the socket
(gateway.codec.frames says why).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Final

import zstandard

from gateway.codec.frames import (
    BATCH_FRAMES,
    FRAME_SIZE,
    OFFLOAD_BYTES,
    TAG_SIZE,
    FrameCipher,
    FrameCutter,
    FrameError,
    Job,
    batched,
    decoded_ahead,
    frame_count,
    trimmed,
)

ZSTD: Final = "zstd"
INDEX_ENTRY: Final = 8
_RAW: Final = 0
_ZSTD: Final = 1
_LEVEL: Final = 3
_BATCH: Final = 16  # frames encoded per worker-thread call (1 MiB)
# `auto` keeps compressing only when a trial frame shrinks below this share of its size.
TRIAL_RATIO: Final = 0.95

Reader = Callable[[int, int], AsyncIterable[bytes]]


def worth_compressing(sample: bytes) -> bool:
    """Whether zstd shrinks `sample` (a trial frame) enough to be worth it."""
    if not sample:
        return False
    return len(zstandard.ZstdCompressor(level=_LEVEL).compress(sample)) < TRIAL_RATIO * len(sample)


class _Encoder:
    def __init__(self, cipher: FrameCipher | None) -> None:
        # The frame checksum (4 bytes) catches a damaged frame that is not sealed.
        self._zstd = zstandard.ZstdCompressor(level=_LEVEL, write_checksum=True)
        self._cipher = cipher

    def encode(self, frames: list[bytes], first: int, last_final: bool) -> list[bytes]:
        out = []
        for n, plain in enumerate(frames):
            packed = self._zstd.compress(plain) if plain else b""
            payload = bytes([_ZSTD]) + packed if len(packed) < len(plain) else bytes([_RAW]) + plain
            if self._cipher is not None:
                final = last_final and n == len(frames) - 1
                payload = self._cipher.seal(payload, first + n, final)
            out.append(payload)
        return out


async def pack_frames(
    source: AsyncIterable[bytes], cipher: FrameCipher | None, frame_size: int = FRAME_SIZE
) -> AsyncIterator[bytes]:
    """The stored bytes of `source`: its coded frames, then the index."""
    encoder = _Encoder(cipher)
    buf = bytearray()
    pending: list[bytes] = []
    index = 0
    offset = 0
    ends = bytearray()
    async for chunk in source:
        buf += chunk
        # A frame is known not to be the last once more bytes follow it.
        while len(buf) > frame_size:
            pending.append(bytes(buf[:frame_size]))
            del buf[:frame_size]
        if len(pending) >= _BATCH:
            coded = await asyncio.to_thread(encoder.encode, pending, index, False)
            index += len(pending)
            pending = []
            for piece in coded:
                offset += len(piece)
                ends += offset.to_bytes(INDEX_ENTRY, "big")
                yield piece
    pending.append(bytes(buf))
    coded = await asyncio.to_thread(encoder.encode, pending, index, True)
    for piece in coded:
        offset += len(piece)
        ends += offset.to_bytes(INDEX_ENTRY, "big")
        yield piece
    yield bytes(ends)


def _decode_run(
    stored: Sequence[memoryview],
    cipher: FrameCipher | None,
    number: int,
    count: int,
    plain_size: int,
    frame_size: int,
    out: bytearray | None = None,
) -> bytearray:
    """The plaintext of consecutive stored frames, the first being frame `number` of
    `count`, in one buffer: `out` if given (exactly that size)."""
    expects = [min(frame_size, plain_size - (number + k) * frame_size) for k in range(len(stored))]
    if out is None:
        out = bytearray(sum(expects))
    view = memoryview(out)
    scratch = memoryview(bytearray(max(map(len, stored), default=0)))
    zstd = zstandard.ZstdDecompressor()
    at = 0
    for index, (payload, expect) in enumerate(zip(stored, expects, strict=True), number):
        if cipher is not None:
            opened = scratch[: max(len(payload) - TAG_SIZE, 0)]
            cipher.open_into(payload, index, index == count - 1, opened)
            payload = opened
        if not payload or payload[0] not in (_RAW, _ZSTD):
            raise FrameError(f"frame {index} has no valid header")
        body: bytes | memoryview = payload[1:]
        if payload[0] == _ZSTD:
            try:
                body = zstd.decompress(body, max_output_size=expect)
            except zstandard.ZstdError as exc:
                raise FrameError(f"frame {index} does not decompress") from exc
        if len(body) != expect:
            raise FrameError(f"frame {index} holds {len(body)} bytes, not {expect}")
        view[at : at + expect] = body
        at += expect
    return out


async def _read_all(read: Reader, start: int, end: int) -> bytes:
    out = bytearray()
    async for chunk in read(start, end):
        out += chunk
    return bytes(out)


async def unpack_frames(
    read: Reader,
    cipher: FrameCipher | None,
    plain_size: int,
    stored_size: int,
    start: int,
    end: int,
    frame_size: int = FRAME_SIZE,
    offload_at: int = OFFLOAD_BYTES,
) -> AsyncIterator[bytes]:
    """Plaintext [start, end) of a compressed segment, `read(a, b)` giving its stored bytes
    [a, b). Raises FrameError on a frame or index that does not decode. Batches of
    `offload_at` plaintext bytes or more are decoded in a worker thread (decoded_ahead)."""
    if not 0 <= start < end <= plain_size:
        raise ValueError(f"range [{start}, {end}) outside 0..{plain_size}")
    count = frame_count(plain_size, frame_size)
    index_at = stored_size - INDEX_ENTRY * count
    first, last = start // frame_size, (end - 1) // frame_size
    low = max(first - 1, 0)
    raw = await _read_all(read, index_at + INDEX_ENTRY * low, index_at + INDEX_ENTRY * (last + 1))
    if len(raw) != INDEX_ENTRY * (last + 1 - low):
        raise FrameError("the frame index is cut short")
    ends = [int.from_bytes(raw[i : i + INDEX_ENTRY], "big") for i in range(0, len(raw), 8)]
    begin = ends.pop(0) if first > 0 else 0
    bounds = [begin, *ends]
    if any(b > a for a, b in zip(bounds[1:], bounds, strict=False)) or bounds[-1] > index_at:
        raise FrameError("the frame index is not in order")
    sizes = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    cutter = FrameCutter(sizes.__getitem__, len(sizes))
    number = first
    skip = start - first * frame_size
    remaining = end - start

    def job(frames: list[memoryview]) -> Job:
        # The bookkeeping runs here, in order; only the decoding may run in a thread.
        nonlocal number, skip, remaining
        at, cut = number, skip
        plain = sum(
            min(frame_size, plain_size - k * frame_size) for k in range(at, at + len(frames))
        )
        keep = min(remaining, plain - cut)
        number += len(frames)
        skip = 0
        remaining -= keep
        out = bytearray(plain)  # on the loop's thread: gateway.codec.frames.open_frames says why
        return (
            lambda: trimmed(
                _decode_run(frames, cipher, at, count, plain_size, frame_size, out), cut, keep
            ),
            plain,
        )

    stored = read(begin, bounds[-1])
    async for plain in decoded_ahead(batched(stored, cutter, BATCH_FRAMES, job), offload_at):
        yield plain
    if not cutter.complete or remaining:
        raise FrameError(f"segment ends before frame {number}")
