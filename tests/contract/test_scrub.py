"""gateway/jobs/scrub.py against every backend, over SQLite (the MetaStore methods it uses,
referenced_blobs and known_blobs, have their contract in test_metastore_blob_inventory.py)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backends.base import Backend
from gateway.jobs.scrub import scrub
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Part, Segment, Upload
from gateway.meta.sqlite import SqliteMetaStore

NOW = time.time()
HOUR = 3600.0


@pytest.fixture
def metastore(tmp_path: Path, aio: asyncio.Runner) -> Iterator[MetaStore]:
    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    aio.run(store.open())
    try:
        yield store
    finally:
        aio.run(store.close())


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write(meta: MetaStore | None, backend: Backend) -> str:
    """A blob in the backend, recorded as pending first (the write path) unless meta is None
    (an orphan: nothing in the metadata knows it)."""
    blob_id = secrets.token_hex(16)
    if meta is not None:
        await meta.add_pending_blob(blob_id, now=NOW)
    await backend.put_blob(blob_id, one_chunk(b"bytes of " + blob_id.encode()))
    return blob_id


async def put_version(meta: MetaStore, backend: Backend, key: str, blobs: int = 1) -> list[str]:
    ids = [await write(meta, backend) for _ in range(blobs)]
    await meta.put_object(
        ObjectVersion(
            "bkt",
            key,
            secrets.token_hex(8),
            NOW,
            size=41 * blobs,
            segments=tuple(Segment(b, 41) for b in ids),
        )
    )
    return ids


async def put_upload_part(meta: MetaStore, backend: Backend) -> str:
    upload = Upload("bkt", "mp", secrets.token_hex(8), NOW)
    await meta.create_upload(upload)
    blob_id = await write(meta, backend)
    await meta.put_part("bkt", "mp", upload.upload_id, Part(1, blob_id, 41, "etag", NOW))
    return blob_id


async def populated(meta: MetaStore, backend: Backend) -> dict[str, list[str]]:
    """Every kind of blob the metadata accounts for, each present in the backend."""
    await meta.create_bucket(Bucket("bkt", "alice", NOW))
    versions = await put_version(meta, backend, "a", blobs=3)
    versions += await put_version(meta, backend, "b")
    replaced = await put_version(meta, backend, "c")
    versions += await put_version(meta, backend, "c")  # `replaced` goes to garbage
    return {
        "versions": versions,
        "parts": [await put_upload_part(meta, backend)],
        "garbage": replaced,
        "pending": [await write(meta, backend)],
    }


async def stored(backend: Backend) -> set[str]:
    return {info.blob_id async for info in backend.list_blobs()}


def test_scrub_consistent_store(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        blobs = await populated(metastore, backend)
        report = await scrub(metastore, backend, clock=time.time, page=2)
        assert report.healthy and report.missing == []
        assert report.referenced == len(blobs["versions"]) + len(blobs["parts"])
        assert report.listed == sum(len(ids) for ids in blobs.values())
        assert (report.orphan_count, report.orphans) == (0, [])

    aio.run(body())


def test_scrub_reports_missing_blobs(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        blobs = await populated(metastore, backend)
        lost = sorted([blobs["versions"][1], blobs["parts"][0]])
        for blob_id in lost:
            await backend.delete_blob(blob_id)
        orphan = await write(None, backend)
        report = await scrub(
            metastore, backend, delete_orphans=True, orphan_grace=0, clock=lambda: NOW + HOUR
        )
        assert not report.healthy
        assert sorted(report.missing) == lost
        assert [o.blob_id for o in report.orphans] == [orphan]
        # Missing blobs make the orphans suspect: nothing is deleted.
        assert report.deletion_refused and report.deleted == 0
        assert orphan in await stored(backend)
        assert any("NOT deleted" in line for line in report.lines())

    aio.run(body())


def test_scrub_deletes_orphans_after_grace(
    metastore: MetaStore, backend: Backend, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        blobs = await populated(metastore, backend)
        orphans = {await write(None, backend) for _ in range(3)}
        report = await scrub(metastore, backend, clock=time.time, page=2)
        assert report.healthy
        assert {o.blob_id for o in report.orphans} == orphans
        assert report.orphan_count == 3 and report.orphan_bytes == 3 * 41
        assert report.deleted == 0  # reported only
        young = await scrub(
            metastore, backend, delete_orphans=True, orphan_grace=HOUR, clock=time.time
        )
        assert (young.orphan_count, young.deleted, young.kept_young) == (3, 0, 3)
        later = await scrub(
            metastore,
            backend,
            delete_orphans=True,
            orphan_grace=HOUR,
            clock=lambda: time.time() + 2 * HOUR,
        )
        assert (later.deleted, later.deleted_bytes) == (3, 3 * 41)
        assert await stored(backend) == {b for ids in blobs.values() for b in ids}
        again = await scrub(metastore, backend, clock=time.time)
        assert again.healthy and again.orphan_count == 0

    aio.run(body())
