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
Data keys are random per segment, so a (key, nonce) pair never repeats.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FRAME_SIZE: Final = 64 * 1024
TAG_SIZE: Final = 16
KEY_SIZE: Final = 32
_AAD_PREFIX: Final = b"kloudvault-frame-v1\0"


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

    def open(self, sealed: bytes, index: int, final: bool) -> bytes:
        try:
            return self._aead.decrypt(_nonce(index, final), sealed, self._aad)
        except InvalidTag as exc:
            raise FrameError(f"frame {index} failed authentication") from exc


async def seal_frames(
    source: AsyncIterable[bytes], cipher: FrameCipher, frame_size: int = FRAME_SIZE
) -> AsyncIterator[bytes]:
    """The sealed frames of `source`. A full frame is held until more bytes (or the end)
    show whether it is the last one; at most two frames are buffered."""
    buf = bytearray()
    index = 0
    async for chunk in source:
        buf += chunk
        while len(buf) > frame_size:
            yield cipher.seal(bytes(buf[:frame_size]), index, False)
            del buf[:frame_size]
            index += 1
    yield cipher.seal(bytes(buf), index, True)


async def open_frames(
    stored: AsyncIterable[bytes],
    cipher: FrameCipher,
    plain_size: int,
    start: int,
    end: int,
    frame_size: int = FRAME_SIZE,
) -> AsyncIterator[bytes]:
    """Plaintext [start, end) from `stored`: the bytes of stored_span(plain_size, start, end).

    Raises FrameError on a frame that fails authentication or a stream that ends early;
    nothing of a frame is yielded before the frame is authenticated.
    """
    span = stored_span(plain_size, start, end, frame_size)
    last_frame = frame_count(plain_size, frame_size) - 1
    sealed_size = frame_size + TAG_SIZE
    remaining = end - start
    skip = span.skip
    index = span.first
    buf = bytearray()

    def take(sealed: bytes) -> bytes:
        nonlocal index, skip, remaining
        plain = cipher.open(sealed, index, index == last_frame)
        index += 1
        piece = plain[skip : skip + remaining]
        skip = 0
        remaining -= len(piece)
        return piece

    async for chunk in stored:
        buf += chunk
        while len(buf) >= sealed_size and index <= span.last:
            yield take(bytes(buf[:sealed_size]))
            del buf[:sealed_size]
    if index == span.last and buf:
        yield take(bytes(buf))
    if index <= span.last or remaining:
        raise FrameError(f"segment ends before frame {index}")
