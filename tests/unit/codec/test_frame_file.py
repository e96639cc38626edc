"""gateway.codec.frame_file: sealed frames opened straight from a local file, in runs of
READ_FRAMES read into reused buffers: every range, tampering and truncation detected,
and the descriptor closed however the reader stops."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.codec.frame_file import READ_FRAMES, FrameFileReader, open_file_frames
from gateway.codec.frames import TAG_SIZE, FrameCipher, FrameError, seal_frames

FRAME = 64  # small frames: a run of READ_FRAMES is ~1 KiB, every range stays cheap
SEALED = FRAME + TAG_SIZE
CIPHER = FrameCipher(bytes(range(32)), b"segment-file")
OFFLOAD = pytest.mark.parametrize("offload", [0, 10**9], ids=["threads", "inline"])


def _store(tmp_path: Path, plain: bytes) -> str:
    async def one() -> AsyncIterator[bytes]:
        yield plain

    async def run() -> bytes:
        return b"".join([f async for f in seal_frames(one(), CIPHER, FRAME)])

    path = tmp_path / "blob"
    path.write_bytes(asyncio.run(run()))
    return str(path)


def _open(
    path: str, size: int, start: int, end: int, offload: int
) -> tuple[list[bytes], FrameError | None]:
    pieces: list[bytes] = []

    async def run() -> None:
        async for piece in open_file_frames(path, CIPHER, size, start, end, FRAME, offload):
            pieces.append(bytes(piece))

    try:
        asyncio.run(run())
    except FrameError as exc:
        return pieces, exc
    return pieces, None


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@OFFLOAD
def test_every_range(tmp_path: Path, offload: int) -> None:
    size = 3 * READ_FRAMES * FRAME + 9  # four runs, the last one short
    plain = os.urandom(size)
    path = _store(tmp_path, plain)
    edges = [0, 1, FRAME - 1, FRAME, READ_FRAMES * FRAME - 1, READ_FRAMES * FRAME + 5]
    for start in [*edges, size - 1]:
        for end in [start + 1, *[e + 1 for e in edges], 2 * READ_FRAMES * FRAME + 7, size]:
            if start < end <= size:
                pieces, error = _open(path, size, start, end, offload)
                assert error is None and b"".join(pieces) == plain[start:end], (start, end)


@OFFLOAD
@pytest.mark.parametrize("size", [0, 1, FRAME, READ_FRAMES * FRAME])
def test_small_and_exact_sizes(tmp_path: Path, size: int, offload: int) -> None:
    plain = os.urandom(size)
    path = _store(tmp_path, plain)
    if size:
        pieces, error = _open(path, size, 0, size, offload)
        assert error is None and b"".join(pieces) == plain


@OFFLOAD
def test_one_chunk_per_run(tmp_path: Path, offload: int) -> None:
    size = 2 * READ_FRAMES * FRAME + 10
    path = _store(tmp_path, os.urandom(size))
    pieces, _ = _open(path, size, 0, size, offload)
    assert [len(p) for p in pieces] == [READ_FRAMES * FRAME, READ_FRAMES * FRAME, 10]


@OFFLOAD
def test_a_tampered_frame_stops_before_its_run(tmp_path: Path, offload: int) -> None:
    size = 3 * READ_FRAMES * FRAME
    plain = os.urandom(size)
    path = Path(_store(tmp_path, plain))
    stored = bytearray(path.read_bytes())
    stored[(READ_FRAMES + 3) * SEALED + 5] ^= 1  # a frame in the second run
    path.write_bytes(bytes(stored))
    pieces, error = _open(str(path), size, 0, size, offload)
    assert error is not None and f"frame {READ_FRAMES + 3}" in str(error)
    assert b"".join(pieces) == plain[: READ_FRAMES * FRAME]


@OFFLOAD
def test_a_file_cut_short_fails(tmp_path: Path, offload: int) -> None:
    size = 2 * READ_FRAMES * FRAME
    plain = os.urandom(size)
    path = Path(_store(tmp_path, plain))
    path.write_bytes(path.read_bytes()[:-1])
    pieces, error = _open(str(path), size, 0, size, offload)
    assert error is not None
    assert b"".join(pieces) == plain[: READ_FRAMES * FRAME]


@OFFLOAD
def test_descriptor_closed_when_the_reader_stops_early(tmp_path: Path, offload: int) -> None:
    size = 8 * READ_FRAMES * FRAME
    path = _store(tmp_path, os.urandom(size))

    async def run() -> None:
        before = _open_fds()
        reader = open_file_frames(path, CIPHER, size, 0, size, FRAME, offload)
        await anext(reader)
        await reader.aclose()  # a client gone after the first chunk
        # A job still running closes it when it ends (up to 10 s: a loaded machine).
        for _ in range(1000):
            if _open_fds() == before:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("descriptor left open")

    asyncio.run(run())


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _open(str(tmp_path / "gone"), 10, 0, 10, 0)


# -- FrameFileReader: the same reads as blocking calls into the caller's buffers -----------


def _read_all(reader: FrameFileReader) -> list[bytes]:
    """Every block, read into one buffer reused for all of them (as the writer reuses its
    two): a block must not depend on what the buffer held before."""
    buf = memoryview(bytearray(b"\xaa" * reader.block_size))
    pieces = []
    while n := reader.read_into(buf):
        pieces.append(bytes(buf[:n]))
    reader.close()
    return pieces


def test_reader_every_range(tmp_path: Path) -> None:
    size = 3 * READ_FRAMES * FRAME + 9
    plain = os.urandom(size)
    path = _store(tmp_path, plain)
    edges = [0, 1, FRAME - 1, FRAME, READ_FRAMES * FRAME - 1, READ_FRAMES * FRAME + 5]
    for start in [*edges, size - 1]:
        for end in [start + 1, *[e + 1 for e in edges], 2 * READ_FRAMES * FRAME + 7, size]:
            if start < end <= size:
                reader = FrameFileReader(path, lambda: CIPHER, size, start, end, FRAME)
                pieces = _read_all(reader)
                assert b"".join(pieces) == plain[start:end], (start, end)
                assert all(len(p) <= reader.block_size for p in pieces)


def test_reader_blocks_are_runs(tmp_path: Path) -> None:
    size = 2 * READ_FRAMES * FRAME + 10
    path = _store(tmp_path, os.urandom(size))
    reader = FrameFileReader(path, lambda: CIPHER, size, 0, size, FRAME)
    assert reader.block_size == READ_FRAMES * FRAME
    assert [len(p) for p in _read_all(reader)] == [READ_FRAMES * FRAME, READ_FRAMES * FRAME, 10]
    small = FrameFileReader(path, lambda: CIPHER, size, 5, 2 * FRAME, FRAME)
    assert small.block_size == 2 * FRAME  # no bigger than the range's frames


def test_reader_opens_nothing_before_its_first_read(tmp_path: Path) -> None:
    size = 4 * FRAME
    path = _store(tmp_path, os.urandom(size))
    made: list[int] = []

    def cipher() -> FrameCipher:
        made.append(1)
        return CIPHER

    before = _open_fds()
    reader = FrameFileReader(path, cipher, size, 0, size, FRAME)
    assert not made and _open_fds() == before
    reader.close()  # a body never sent: closing it is harmless
    reader = FrameFileReader(path, cipher, size, 0, size, FRAME)
    assert reader.read_into(memoryview(bytearray(reader.block_size))) == size
    assert made == [1] and _open_fds() == before + 1
    reader.close()
    reader.close()
    assert _open_fds() == before


def test_reader_tampered_frame(tmp_path: Path) -> None:
    size = 3 * READ_FRAMES * FRAME
    plain = os.urandom(size)
    path = Path(_store(tmp_path, plain))
    stored = bytearray(path.read_bytes())
    stored[(READ_FRAMES + 3) * SEALED + 5] ^= 1
    path.write_bytes(bytes(stored))
    reader = FrameFileReader(str(path), lambda: CIPHER, size, 0, size, FRAME)
    buf = memoryview(bytearray(reader.block_size))
    assert bytes(buf[: reader.read_into(buf)]) == plain[: READ_FRAMES * FRAME]
    with pytest.raises(FrameError, match=f"frame {READ_FRAMES + 3}"):
        reader.read_into(buf)
    reader.close()


@pytest.mark.parametrize("cut", [1, SEALED, READ_FRAMES * SEALED])
def test_reader_file_cut_short(tmp_path: Path, cut: int) -> None:
    size = 2 * READ_FRAMES * FRAME
    path = Path(_store(tmp_path, os.urandom(size)))
    path.write_bytes(path.read_bytes()[:-cut])
    reader = FrameFileReader(str(path), lambda: CIPHER, size, 0, size, FRAME)
    with pytest.raises(FrameError):
        _read_all(reader)
    reader.close()


def test_reader_missing_file(tmp_path: Path) -> None:
    reader = FrameFileReader(str(tmp_path / "gone"), lambda: CIPHER, 10, 0, 10, FRAME)
    with pytest.raises(FileNotFoundError):
        reader.read_into(memoryview(bytearray(reader.block_size)))
