"""The Backend contract (backends/base.py), run against every entry of BACKEND_FACTORIES.

The local-only tests at the end cover what the contract leaves to the implementation:
the fan-out layout, temp files, batching of thread hops, blob id validation.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from backends.base import Backend, BackendError, BackendUnavailable, BlobInfo, BlobNotFound
from backends.buffering import UPLOADS
from backends.local import READ_BLOCK, LocalBackend

MiB = 1024 * 1024


def new_blob_id() -> str:
    return secrets.token_hex(16)


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def stream(data: bytes, chunk: int | list[int] = 65_537) -> AsyncIterator[bytes]:
    """`data` in chunks of the given size(s), cycled; yields to the loop between chunks."""
    sizes = [chunk] if isinstance(chunk, int) else chunk
    view = memoryview(data)
    offset = i = 0
    while offset < len(data):
        n = sizes[i % len(sizes)]
        yield bytes(view[offset : offset + n])
        offset += n
        i += 1
        await asyncio.sleep(0)


class Boom(Exception):
    pass


async def failing_stream(data: bytes, fail_at: int) -> AsyncIterator[bytes]:
    """Yields `data` up to offset `fail_at`, then raises Boom."""
    async for chunk in stream(data[:fail_at], 100_003):
        yield chunk
    raise Boom("client went away")


async def read_all(backend: Backend, blob_id: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in backend.get_blob(blob_id, start, end)])


async def listed(backend: Backend) -> dict[str, int]:
    return {info.blob_id: info.size async for info in backend.list_blobs()}


# -- the contract --------------------------------------------------------------------------------
def test_put_blob_get_blob_roundtrip(backend: Backend, aio: asyncio.Runner) -> None:
    async def body() -> None:
        blob_id, data = new_blob_id(), payload(300_000)
        assert await backend.put_blob(blob_id, stream(data)) == len(data)
        assert await read_all(backend, blob_id) == data
        assert await backend.blob_size(blob_id) == len(data)

    aio.run(body())


def test_get_blob_ranges(backend: Backend, aio: asyncio.Runner) -> None:
    size = 2 * READ_BLOCK + 12_345  # ranges cross the local backend's read blocks
    data = payload(size, seed=1)
    ranges = [
        (0, None),
        (0, size),
        (0, 1),
        (1, 2),
        (5, 17),
        (READ_BLOCK - 3, READ_BLOCK + 3),
        (READ_BLOCK, 2 * READ_BLOCK),
        (123, size - 456),
        (size - 1, None),
        (size - 1, size),
        (size, None),  # empty ranges yield nothing
        (size, size),
        (0, 0),
        (10, 10),
    ]

    async def body() -> None:
        blob_id = new_blob_id()
        await backend.put_blob(blob_id, stream(data))
        for start, end in ranges:
            got = await read_all(backend, blob_id, start, end)
            assert got == data[start:end], (start, end)

    aio.run(body())


@pytest.mark.parametrize("size", [None, 0], ids=["unknown-size", "known-size"])
def test_empty_blob(backend: Backend, aio: asyncio.Runner, size: int | None) -> None:
    async def body() -> None:
        blob_id = new_blob_id()
        assert await backend.put_blob(blob_id, stream(b""), size) == 0
        assert await read_all(backend, blob_id) == b""
        assert await read_all(backend, blob_id, 0, 0) == b""
        assert await backend.blob_size(blob_id) == 0
        assert (await listed(backend)).get(blob_id) == 0

    aio.run(body())


@pytest.mark.parametrize("sized", [False, True], ids=["unknown-size", "known-size"])
def test_large_blob_streamed_in_odd_chunks(
    backend: Backend, aio: asyncio.Runner, sized: bool
) -> None:
    data = payload(50 * MiB, seed=2)
    expected = hashlib.sha256(data).hexdigest()

    async def body() -> None:
        blob_id = new_blob_id()
        sizes = [1, 4_099, 65_537, MiB + 1, 7, 3 * MiB - 5, 333_333]
        size = len(data) if sized else None
        assert await backend.put_blob(blob_id, stream(data, sizes), size) == len(data)
        digest, largest, total = hashlib.sha256(), 0, 0
        async for chunk in backend.get_blob(blob_id):
            assert chunk, "no empty chunks"
            digest.update(chunk)
            largest = max(largest, len(chunk))
            total += len(chunk)
        assert total == len(data)
        assert digest.hexdigest() == expected
        assert largest <= 16 * MiB, "reads must stream, not return the blob in one piece"
        tail = await read_all(backend, blob_id, len(data) - MiB - 3)
        assert tail == data[len(data) - MiB - 3 :]

    aio.run(body())


def test_concurrent_writers(backend: Backend, aio: asyncio.Runner) -> None:
    blobs = {new_blob_id(): payload(n * 150_001, seed=n) for n in range(16)}

    async def body() -> None:
        sizes = await asyncio.gather(
            *(backend.put_blob(b, stream(data, 32_771)) for b, data in blobs.items())
        )
        assert sizes == [len(d) for d in blobs.values()]
        for blob_id, data in blobs.items():
            assert await read_all(backend, blob_id) == data
        assert {b: s for b, s in (await listed(backend)).items() if b in blobs} == {
            b: len(d) for b, d in blobs.items()
        }

    aio.run(body())


@pytest.mark.parametrize("sized", [False, True], ids=["unknown-size", "known-size"])
@pytest.mark.parametrize("fail_at", [0, 100_003, 3 * MiB + 17, 7 * MiB + 1])
def test_put_blob_failing_stream_leaves_nothing(
    backend: Backend, aio: asyncio.Runner, fail_at: int, sized: bool
) -> None:
    data = payload(12 * MiB, seed=3)  # several parts of the remote backends' minimum size

    async def body() -> None:
        blob_id = new_blob_id()
        with pytest.raises(Boom):  # the stream's own error, not the HTTP client's wrapping
            await backend.put_blob(
                blob_id, failing_stream(data, fail_at), len(data) if sized else None
            )
        assert blob_id not in await listed(backend)
        with pytest.raises(BlobNotFound):
            await read_all(backend, blob_id)
        with pytest.raises(BlobNotFound):
            await backend.blob_size(blob_id)
        # The id is still usable afterwards.
        assert await backend.put_blob(blob_id, stream(data[:1000])) == 1000

    aio.run(body())


@pytest.mark.parametrize("actual", [0, 300_000 - 1, 300_000 + 1, 11 * MiB, 13 * MiB])
def test_put_blob_size_mismatch_fails(backend: Backend, aio: asyncio.Runner, actual: int) -> None:
    """A stream that yields more or fewer bytes than the announced size stores nothing."""
    announced = 12 * MiB if actual > MiB else 300_000
    data = payload(actual, seed=4)

    async def body() -> None:
        blob_id = new_blob_id()
        with pytest.raises(BackendError):
            await backend.put_blob(blob_id, stream(data, 1_000_003), announced)
        assert blob_id not in await listed(backend)
        with pytest.raises(BlobNotFound):
            await backend.blob_size(blob_id)

    aio.run(body())


def test_put_blob_known_size_ends_stream_before_storing(
    backend: Backend, aio: asyncio.Runner
) -> None:
    """The stream's end-of-body checks (a request's signature, its declared length) run
    before the blob is complete: a stream that fails after its last byte stores nothing."""
    data = payload(6 * MiB + 3, seed=5)

    async def failing_at_end() -> AsyncIterator[bytes]:
        async for chunk in stream(data, 1_000_003):
            yield chunk
        raise Boom("signature mismatch")

    async def body() -> None:
        blob_id = new_blob_id()
        with pytest.raises(Boom):
            await backend.put_blob(blob_id, failing_at_end(), len(data))
        assert blob_id not in await listed(backend)

    aio.run(body())


def test_get_blob_missing_raises_before_first_chunk(backend: Backend, aio: asyncio.Runner) -> None:
    async def body() -> None:
        chunks = backend.get_blob(new_blob_id())
        with pytest.raises(BlobNotFound):
            await chunks.__anext__()
        with pytest.raises(BlobNotFound):
            await backend.blob_size(new_blob_id())

    aio.run(body())


def test_delete_blob_idempotent(backend: Backend, aio: asyncio.Runner) -> None:
    async def body() -> None:
        blob_id = new_blob_id()
        await backend.put_blob(blob_id, stream(b"bytes"))
        await backend.delete_blob(blob_id)
        await backend.delete_blob(blob_id)
        await backend.delete_blob(new_blob_id())  # never existed
        with pytest.raises(BlobNotFound):
            await read_all(backend, blob_id)
        assert blob_id not in await listed(backend)

    aio.run(body())


def test_list_blobs(backend: Backend, aio: asyncio.Runner) -> None:
    async def body() -> None:
        assert await listed(backend) == {}
        blobs = {new_blob_id(): n * 1000 for n in range(7)}
        for blob_id, size in blobs.items():
            await backend.put_blob(blob_id, stream(payload(size)))
        assert await listed(backend) == blobs
        gone = next(iter(blobs))
        await backend.delete_blob(gone)
        del blobs[gone]
        infos = [info async for info in backend.list_blobs()]
        assert all(isinstance(i, BlobInfo) for i in infos)
        assert {i.blob_id: i.size for i in infos} == blobs

    aio.run(body())


def test_list_blobs_modified(backend: Backend, aio: asyncio.Runner) -> None:
    """BlobInfo.modified: when the blob was written (the scrubber's orphan grace needs it;
    every backend here knows it, at the store's precision: whole seconds for S3)."""

    async def body() -> None:
        before = time.time()
        blob_id = new_blob_id()
        await backend.put_blob(blob_id, stream(b"x"))
        after = time.time()
        (info,) = [i async for i in backend.list_blobs() if i.blob_id == blob_id]
        assert info.modified is not None
        assert before - 2 <= info.modified <= after + 2

    aio.run(body())


def test_health(backend: Backend, aio: asyncio.Runner) -> None:
    aio.run(backend.health())


def test_local_path(backend: Backend, aio: asyncio.Runner) -> None:
    async def body() -> None:
        blob_id, data = new_blob_id(), payload(10_000)
        await backend.put_blob(blob_id, stream(data))
        path = backend.local_path(blob_id)
        if path is not None:  # a local path, when offered, holds exactly the blob's bytes
            assert Path(path).read_bytes() == data
        assert backend.local_path(new_blob_id()) is None

    aio.run(body())


# -- the local backend's own rules ---------------------------------------------------------------
def _local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "blobs")


def _tmp_files(backend: LocalBackend) -> list[str]:
    tmp = Path(backend.root) / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def test_local_fanout_layout(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    blob_id = "abcdef0123456789"
    aio.run(backend.put_blob(blob_id, stream(b"x")))
    expected = Path(backend.root) / "ab" / "cd" / blob_id
    assert expected.read_bytes() == b"x"
    assert backend.local_path(blob_id) == str(expected)
    assert _tmp_files(backend) == []


@pytest.mark.parametrize(
    "blob_id",
    ["", "abc", "ABCDEF0123", "../../etc/passwd", "abcd/efgh", "abcdefgh\n", "a" * 65, "ghijklmn"],
)
def test_local_rejects_invalid_blob_id(tmp_path: Path, aio: asyncio.Runner, blob_id: str) -> None:
    backend = _local(tmp_path)
    with pytest.raises(ValueError):
        aio.run(backend.put_blob(blob_id, stream(b"x")))
    with pytest.raises(ValueError):
        aio.run(read_all(backend, blob_id))
    with pytest.raises(ValueError):
        aio.run(backend.delete_blob(blob_id))
    with pytest.raises(ValueError):
        backend.local_path(blob_id)


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_local_put_blob_batches_thread_hops(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    data = payload(4 * MiB)
    executor = CountingExecutor()

    async def body() -> None:
        asyncio.get_running_loop().set_default_executor(executor)
        await backend.put_blob(new_blob_id(), stream(data, 1024))  # 4,096 small chunks

    aio.run(body())
    # Four 1 MiB writes plus the commit, not one hop per chunk.
    assert executor.submitted <= 6


def test_local_get_blob_reads_in_blocks(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    data = payload(3 * READ_BLOCK + 1)

    async def body() -> list[int]:
        blob_id = new_blob_id()
        await backend.put_blob(blob_id, stream(data))
        return [len(c) async for c in backend.get_blob(blob_id)]

    assert aio.run(body()) == [READ_BLOCK, READ_BLOCK, READ_BLOCK, 1]


def test_local_failed_put_leaves_no_temp_file(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    with pytest.raises(Boom):
        aio.run(backend.put_blob(new_blob_id(), failing_stream(payload(3 * MiB), 2 * MiB + 5)))
    assert _tmp_files(backend) == []


def test_local_cancelled_put_leaves_no_temp_file(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    blob_id = new_blob_id()

    async def stalled() -> AsyncIterator[bytes]:
        yield payload(2 * MiB)  # written to the temp file
        await asyncio.Event().wait()  # the client stops sending
        yield b""

    async def body() -> None:
        task = asyncio.create_task(backend.put_blob(blob_id, stalled()))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if _tmp_files(backend):
                break
        assert _tmp_files(backend), "the first buffer reached the temp file"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(100):  # cleanup waits for a write still running in its thread
            if not _tmp_files(backend):
                break
            await asyncio.sleep(0.01)

    aio.run(body())
    assert _tmp_files(backend) == []
    assert backend.local_path(blob_id) is None


def test_local_clean_stale_temp(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    tmp = Path(backend.root) / "tmp"
    tmp.mkdir(parents=True)
    now = time.time()
    for name, age in [("old.1.tmp", 7200), ("older.2.tmp", 86400), ("fresh.3.tmp", 10)]:
        (tmp / name).write_bytes(b"partial")
        os.utime(tmp / name, (now - age, now - age))
    assert aio.run(backend.clean_stale_temp(max_age=3600, now=now)) == 2
    assert _tmp_files(backend) == ["fresh.3.tmp"]
    assert aio.run(backend.clean_stale_temp(max_age=3600)) == 0


def test_local_list_blobs_skips_tmp_and_strays(tmp_path: Path, aio: asyncio.Runner) -> None:
    backend = _local(tmp_path)
    blob_id = "0123456789abcdef"

    async def body() -> dict[str, int]:
        await backend.put_blob(blob_id, stream(b"12345"))
        root = Path(backend.root)
        (root / "tmp" / f"{blob_id}.dead.tmp").write_bytes(b"partial")
        (root / "README").write_text("not a blob")
        (root / "01" / "23" / "not-a-blob.txt").write_text("stray")
        (root / "01" / "23" / "ffffffffffff").write_text("wrong fan-out dir")
        return await listed(backend)

    assert aio.run(body()) == {blob_id: 5}


def test_local_health_unwritable_root(tmp_path: Path, aio: asyncio.Runner) -> None:
    (tmp_path / "file").write_text("a file where the root directory should be")
    with pytest.raises(BackendUnavailable):
        aio.run(LocalBackend(tmp_path / "file").health())


def test_local_put_blob_holds_one_batch_when_crowded(
    tmp_path: Path, aio: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With many uploads in progress (backends.buffering), an upload reads its next chunk
    only once the last one is on disk: it holds one batch, the rest waits in the socket."""
    backend = _local(tmp_path)
    chunk = payload(64 * 1024)
    lags: list[int] = []

    async def watched() -> AsyncIterator[bytes]:
        for sent in range(0, 32 * len(chunk), len(chunk)):
            written = sum(f.stat().st_size for f in (tmp_path / "blobs" / "tmp").glob("*"))
            lags.append(sent - written)
            yield chunk

    async def body() -> None:
        await backend.put_blob(new_blob_id(), watched())

    monkeypatch.setattr(UPLOADS, "active", 1000)
    aio.run(body())
    assert lags == [0] * 32
