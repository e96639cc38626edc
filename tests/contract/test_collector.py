"""gateway/jobs/collector.py against every backend and every metadata store."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.base import Backend, BackendUnavailable, BlobInfo, ByteStream
from gateway.jobs.collector import Collector, collect_once
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Segment

T0 = 1_700_000_000.0
GRACE = 900.0
TTL = 86_400.0


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def upload(meta: MetaStore, backend: Backend, *, now: float) -> str:
    """The write path up to (not including) put_object: pending, then the bytes."""
    blob_id = secrets.token_hex(16)
    await meta.add_pending_blob(blob_id, now=now)
    await backend.put_blob(blob_id, one_chunk(b"payload " + blob_id.encode()))
    return blob_id


async def put_version(meta: MetaStore, backend: Backend, key: str, *, now: float) -> str:
    blob_id = await upload(meta, backend, now=now)
    await meta.put_object(
        ObjectVersion(
            "bkt", key, secrets.token_hex(8), now, size=40, segments=(Segment(blob_id, 40),)
        )
    )
    return blob_id


async def stored(backend: Backend) -> set[str]:
    return {info.blob_id async for info in backend.list_blobs()}


async def collect(meta: MetaStore, backend: Backend, now: float, **kw: int) -> int:
    return await collect_once(meta, backend, now=now, garbage_grace=GRACE, pending_ttl=TTL, **kw)


def test_replaced_blobs_deleted_after_grace(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await metastore.create_bucket(Bucket("bkt", "alice", T0))
        old = await put_version(metastore, backend, "k", now=T0)
        new = await put_version(metastore, backend, "k", now=T0 + 10)  # old -> garbage
        gone = await put_version(metastore, backend, "d", now=T0)
        await metastore.delete_object("bkt", "d", now=T0 + 10)  # gone -> garbage

        # Within the grace period, readers of the old version may still be streaming.
        assert await collect(metastore, backend, T0 + 10 + GRACE - 1) == 0
        assert await stored(backend) == {old, new, gone}
        assert await collect(metastore, backend, T0 + 10 + GRACE + 1) == 2
        assert await stored(backend) == {new}
        assert await collect(metastore, backend, T0 + 10 * GRACE) == 0  # forgotten

    aio.run(body())


def test_stale_pending_blobs_collected(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await upload(metastore, backend, now=T0)  # crashed after writing its blob
        never_written = secrets.token_hex(16)  # crashed before its first byte
        await metastore.add_pending_blob(never_written, now=T0)
        in_progress = await upload(metastore, backend, now=T0 + TTL)
        assert await collect(metastore, backend, T0 + TTL - 1) == 0
        assert await collect(metastore, backend, T0 + TTL + 1) == 2
        assert await stored(backend) == {in_progress}

    aio.run(body())


def test_referenced_blobs_never_deleted(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await metastore.create_bucket(Bucket("bkt", "alice", T0, versioning="Enabled"))
        live = {await put_version(metastore, backend, f"k{i}", now=T0) for i in range(3)}
        noncurrent = await put_version(metastore, backend, "k0", now=T0 + 1)
        await metastore.delete_object("bkt", "k1", now=T0 + 2)  # a delete marker, blobs kept
        live.add(noncurrent)
        for now in (T0 + 10 * TTL, T0 + 1000 * TTL):
            assert await collect(metastore, backend, now) == 0
            assert await stored(backend) == live
        for blob_id in live:
            assert await metastore.blob_is_referenced(blob_id)

    aio.run(body())


def test_many_blobs_in_batches(metastore: MetaStore, backend: Backend, aio: asyncio.Runner) -> None:
    async def body() -> None:
        for _ in range(25):
            await upload(metastore, backend, now=T0)
        assert await collect(metastore, backend, T0 + 2 * TTL, batch=10) == 25
        assert await stored(backend) == set()

    aio.run(body())


class FlakyBackend:
    """Wraps a backend; deleting one blob fails (the store is throttling)."""

    def __init__(self, inner: Backend, failing: str) -> None:
        self.inner = inner
        self.failing = failing
        self.name = inner.name

    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int:
        return await self.inner.put_blob(blob_id, data, size)

    def get_blob(self, blob_id: str, start: int = 0, end: int | None = None) -> ByteStream:
        return self.inner.get_blob(blob_id, start, end)

    async def blob_size(self, blob_id: str) -> int:
        return await self.inner.blob_size(blob_id)

    async def delete_blob(self, blob_id: str) -> None:
        if blob_id == self.failing:
            raise BackendUnavailable("throttled")
        await self.inner.delete_blob(blob_id)

    def list_blobs(self) -> AsyncIterator[BlobInfo]:
        return self.inner.list_blobs()

    async def health(self) -> None:
        await self.inner.health()

    def local_path(self, blob_id: str) -> str | None:
        return self.inner.local_path(blob_id)

    async def close(self) -> None:
        await self.inner.close()


def test_backend_error_keeps_blob_for_next_run(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        a = await upload(metastore, backend, now=T0)
        b = await upload(metastore, backend, now=T0)
        flaky = FlakyBackend(backend, failing=a)
        assert await collect(metastore, flaky, T0 + 2 * TTL) == 1
        assert await stored(backend) == {a}
        # Deleted from the backend but not forgotten (e.g. a crash in between): fine too.
        assert await collect(metastore, backend, T0 + 3 * TTL) == 1
        assert await stored(backend) == set()
        assert await collect(metastore, backend, T0 + 4 * TTL) == 0
        assert b not in await stored(backend)

    aio.run(body())


def test_collector_task_runs_periodically(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    clock = [T0]

    async def body() -> None:
        blob_id = await upload(metastore, backend, now=T0)
        collector = Collector(
            metastore,
            backend,
            interval=0.01,
            garbage_grace=GRACE,
            pending_ttl=TTL,
            clock=lambda: clock[0],
        )
        collector.start()
        try:
            await asyncio.sleep(0.05)
            assert await stored(backend) == {blob_id}  # not stale yet
            clock[0] = T0 + TTL + 1
            for _ in range(200):
                if not await stored(backend):
                    break
                await asyncio.sleep(0.01)
            assert await stored(backend) == set()
        finally:
            await collector.stop()
        await collector.stop()  # idempotent

    aio.run(body())


def test_collector_cleans_stale_temp_files(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    if not hasattr(backend, "clean_stale_temp"):
        pytest.skip(f"the {backend.name} backend keeps no temp files")
    root = getattr(backend, "root", None)
    assert isinstance(root, str)
    tmp = Path(root) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    now = time.time()
    (tmp / "crashed.tmp").write_bytes(b"partial upload")
    os.utime(tmp / "crashed.tmp", (now - 2 * TTL, now - 2 * TTL))
    (tmp / "uploading.tmp").write_bytes(b"in progress")

    aio.run(collect(metastore, backend, now))
    assert sorted(p.name for p in tmp.iterdir()) == ["uploading.tmp"]
