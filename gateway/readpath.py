"""From an object version and a byte range to a response body over its segments.

A range maps onto the segments it touches (a multipart object has one per part); when
every segment it touches is a plain local blob, it is served with sendfile, segment by
segment; when every one is a plain blob of a backend that can hand its bytes over on a
socket (the s3 backend over HTTP), they are spliced from that socket to the client's
(RelayBody); and a range within a plain inline segment (gateway/writepath.py INLINE_LIMIT)
straight from the version's bytes. A sealed segment (gateway.codec.frames) reads only the
frames the range touches and opens them (straight from the file on the local backend:
gateway.codec.frame_file; when every segment the range touches is such a file, as a
BlockBody that the response writer fills and sends from two reused buffers); a
compressed one (gateway.codec.compress) reads their index entries first.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence

from backends.base import Backend, ByteStream, as_relaying
from gateway.codec.compress import unpack_frames
from gateway.codec.frame_file import FrameFileReader, open_file_frames
from gateway.codec.frames import FrameCipher, FrameError, open_frames, stored_span
from gateway.codec.keys import KekFor, open_data_key
from gateway.codec.params import SegmentCodec
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion, Segment
from gateway.responses import (
    BlockBody,
    Body,
    FileBody,
    FileRange,
    RelayBody,
    RelayPart,
    StreamBody,
)

log = logging.getLogger(__name__)


def plan_ranges(
    segments: Sequence[Segment], start: int, end: int
) -> list[tuple[Segment, int, int]]:
    """(segment, start, end) within each segment covering object bytes [start, end)."""
    plan: list[tuple[Segment, int, int]] = []
    offset = 0
    for seg in segments:
        seg_start, seg_end = offset, offset + seg.size
        offset = seg_end
        if seg_end <= start or seg.size == 0:
            continue
        if seg_start >= end:
            break
        plan.append((seg, max(start, seg_start) - seg_start, min(end, seg_end) - seg_start))
    return plan


def part_range(version: ObjectVersion, part_number: int) -> tuple[int, int]:
    """Object bytes [start, end) of part `part_number` (a single PUT is part 1)."""
    if version.parts_count is None:
        if part_number == 1:
            return 0, version.size
        raise S3Error(S3ErrorCode.INVALID_PART_NUMBER)
    offset = 0
    for seg in version.segments:
        if seg.part_number == part_number:
            return offset, offset + seg.size
        offset += seg.size
    raise S3Error(S3ErrorCode.INVALID_PART_NUMBER)


Reader = Callable[[int, int], ByteStream]


def _blob_reader(backend: Backend, seg: Segment, inline_data: bytes | None) -> Reader:
    """Reads stored bytes [a, b) of `seg`: from its backend blob, or from the version
    row's inline bytes (already in memory: at most gateway.writepath.INLINE_LIMIT)."""
    if not seg.inline:
        return lambda a, b: backend.get_blob(seg.blob_id, a, b)
    if inline_data is None:  # a version read without its bytes (a listing's): a bug
        raise S3Error(S3ErrorCode.INTERNAL_ERROR, "inline segment read without its bytes")
    data = inline_data

    async def read(a: int, b: int) -> AsyncIterator[bytes]:
        yield data[a:b]

    return read


async def _segment_stream(
    backend: Backend, read: Reader, seg: Segment, start: int, end: int, kek: KekFor | None
) -> AsyncIterator[bytes]:
    codec = seg.codec
    if codec is None:
        async for chunk in read(start, end):
            yield chunk
        return
    cipher: FrameCipher | None = None
    if codec.mode is not None:
        if kek is None:
            raise S3Error(S3ErrorCode.INTERNAL_ERROR, "no key for an encrypted segment")
        cipher = open_data_key(codec, kek(codec))
    if codec.compression is not None:
        frames = unpack_frames(
            read, cipher, seg.size, codec.stored_size, start, end, codec.frame_size
        )
    else:
        assert cipher is not None  # a codec without compression seals
        path = None if seg.inline else backend.local_path(seg.blob_id)
        if path is not None:
            frames = open_file_frames(path, cipher, seg.size, start, end, codec.frame_size)
        else:
            span = stored_span(seg.size, start, end, codec.frame_size)
            stored = read(span.start, span.end)
            frames = open_frames(stored, cipher, seg.size, start, end, codec.frame_size)
    try:
        async for chunk in frames:
            yield chunk
    except FrameError:
        # The response has started: ending it early (the client sees a short body) is the
        # one way left to say the bytes are wrong; never send them.
        log.error("blob %s failed authentication", seg.blob_id or "(inline)")
        raise


async def _stream(
    backend: Backend,
    plan: list[tuple[Segment, int, int]],
    kek: KekFor | None,
    inline_data: bytes | None,
) -> AsyncIterator[bytes]:
    for seg, start, end in plan:
        read = _blob_reader(backend, seg, inline_data)
        async for chunk in _segment_stream(backend, read, seg, start, end, kek):
            yield chunk


def segment_stream(backend: Backend, seg: Segment, kek: KekFor | None = None) -> ByteStream:
    """A whole segment's plaintext (an upload part's blob, read back: gateway/tus/)."""
    return _segment_stream(backend, _blob_reader(backend, seg, None), seg, 0, seg.size, kek)


def stream_range(
    backend: Backend, version: ObjectVersion, start: int, end: int, kek: KekFor | None = None
) -> ByteStream:
    """Object bytes [start, end) as a stream, whatever the backend; `kek` opens the data
    keys of sealed segments (gateway.encryption.read_keys)."""
    plan = plan_ranges(version.segments, start, end)
    return _stream(backend, plan, kek, version.inline_data)


def file_ranges(
    backend: Backend, plan: Sequence[tuple[Segment, int, int]]
) -> tuple[FileRange, ...] | None:
    """The plan as local file ranges, if every segment in it is a plain local blob."""
    ranges: list[FileRange] = []
    for seg, start, end in plan:
        plain_blob = seg.codec is None and not seg.inline
        path = backend.local_path(seg.blob_id) if plain_blob else None
        if path is None:
            return None
        ranges.append(FileRange(path, start, end - start))
    return tuple(ranges)


def relay_parts(
    backend: Backend, plan: Sequence[tuple[Segment, int, int]]
) -> tuple[RelayPart, ...] | None:
    """The plan as blob ranges to relay, if every segment in it is a plain blob of a
    backend that can hand its bytes over on a socket (backends.base.Relaying)."""
    if as_relaying(backend) is None:
        return None
    parts: list[RelayPart] = []
    for seg, start, end in plan:
        if seg.codec is not None or seg.inline:
            return None
        parts.append(RelayPart(seg.blob_id, start, end))
    return tuple(parts)


class _SegmentReaders:
    """The readers of consecutive segments as one BlockReader; a segment's file is opened
    when its turn comes and closed when it is done (a multipart object's thousands of
    parts never hold more than one descriptor)."""

    def __init__(self, readers: list[tuple[str, FrameFileReader]]) -> None:
        self._blob_ids = [blob_id for blob_id, _ in readers]
        self._readers = [reader for _, reader in readers]
        self._at = 0
        self.block_size = max(r.block_size for r in self._readers)

    def read_into(self, out: memoryview) -> int:
        while self._at < len(self._readers):
            try:
                n = self._readers[self._at].read_into(out)
            except FrameError:
                log.error("blob %s failed authentication", self._blob_ids[self._at])
                raise
            if n:
                return n
            self._readers[self._at].close()
            self._at += 1
        return 0

    def close(self) -> None:
        for reader in self._readers[self._at :]:
            reader.close()


def _cipher(codec: SegmentCodec, kek: KekFor) -> FrameCipher:
    return open_data_key(codec, kek(codec))


def sealed_file_reader(
    backend: Backend, plan: Sequence[tuple[Segment, int, int]], kek: KekFor | None
) -> _SegmentReaders | None:
    """The plan as one reader, if every segment in it is a sealed (not compressed) local
    blob and there is a key to open them."""
    readers: list[tuple[str, FrameFileReader]] = []
    for seg, start, end in plan:
        codec = seg.codec
        if kek is None or seg.inline or codec is None or codec.mode is None or codec.compression:
            return None
        path = backend.local_path(seg.blob_id)
        if path is None:
            return None
        cipher = functools.partial(_cipher, codec, kek)
        reader = FrameFileReader(path, cipher, seg.size, start, end, codec.frame_size)
        readers.append((seg.blob_id, reader))
    return _SegmentReaders(readers) if readers else None


def object_body(
    backend: Backend, version: ObjectVersion, start: int, end: int, kek: KekFor | None = None
) -> Body:
    if end <= start:
        return b""
    plan = plan_ranges(version.segments, start, end)
    if len(plan) == 1:
        seg, seg_start, seg_end = plan[0]
        if seg.inline and seg.codec is None and version.inline_data is not None:
            # The plaintext is in memory already: one write, no stream.
            return version.inline_data[seg_start:seg_end]
    ranges = file_ranges(backend, plan)
    if ranges:
        return FileBody(ranges)
    relayed = relay_parts(backend, plan)
    if relayed:
        return RelayBody(backend, relayed)
    reader = sealed_file_reader(backend, plan, kek)
    if reader is not None:
        return BlockBody(reader, end - start)
    return StreamBody(_stream(backend, plan, kek, version.inline_data), end - start)
