"""tus uploads in the MetaStore (gateway/meta/tus.py), on every METASTORE_FACTORIES entry:
the offset moves with the part in one transaction, a stale offset changes nothing, and
the row goes with its multipart upload, and the collector aborts expired uploads."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from backends.memory import MemoryBackend
from gateway.errors import S3Error
from gateway.jobs.collector import Collector
from gateway.meta.base import Bucket, MetaStore, Part, TusUpload, Upload

NOW = 1_700_000_000.0


def part(number: int, size: int) -> Part:
    return Part(number, secrets.token_hex(16), size, "0" * 32, NOW)


async def started(store: MetaStore) -> TusUpload:
    await store.create_user("alice", now=NOW)
    await store.create_bucket(Bucket("b", "alice", NOW))
    await store.create_upload(Upload("b", "k", "u1", NOW, owner="alice"))
    tus = TusUpload(
        token_hash=secrets.token_hex(32), upload_id="u1", bucket="b", key="k", length=100,
        offset=0, part_number=0, part_size=0, metadata={"filename": "f"}, account="alice",
        iam_user=None, access_key="KVALICE", created=NOW, expires=NOW + 60,
    )  # fmt: skip
    await store.create_tus_upload(tus)
    return tus


async def add(store: MetaStore, tus: TusUpload, offset: int, p: Part) -> TusUpload:
    await store.add_pending_blob(p.blob_id, now=NOW)
    return await store.append_tus_part(tus.token_hash, offset, p)


def test_append_moves_the_offset_with_the_part(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        tus = await started(metastore)
        assert await metastore.get_tus_upload(tus.token_hash) == tus
        one = await add(metastore, tus, 0, part(1, 3))
        assert (one.offset, one.part_number, one.part_size) == (3, 1, 3)
        # The short last part rewritten larger: the offset grows by the difference.
        two = await add(metastore, tus, 3, part(1, 10))
        assert (two.offset, two.part_number, two.part_size) == (10, 1, 10)
        three = await add(metastore, tus, 10, part(2, 5))
        assert (three.offset, three.part_number) == (15, 2)
        page = await metastore.list_parts("b", "k", "u1")
        assert [(p.number, p.size) for p in page.parts] == [(1, 10), (2, 5)]
        with pytest.raises(KeyError):  # a stale offset: nothing changes
            await add(metastore, tus, 10, part(3, 5))
        page = await metastore.list_parts("b", "k", "u1")
        assert [p.number for p in page.parts] == [1, 2]
        assert (await metastore.get_tus_upload(tus.token_hash)) == three

    aio.run(body())


def test_the_row_goes_with_its_upload(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        tus = await started(metastore)
        await metastore.abort_upload("b", "k", "u1", now=NOW)
        assert await metastore.get_tus_upload(tus.token_hash) is None
        with pytest.raises(S3Error):
            await add(metastore, tus, 0, part(1, 3))
        with pytest.raises(S3Error):  # no upload to attach a tus row to
            await metastore.create_tus_upload(tus)

    aio.run(body())


def test_the_collector_aborts_expired_uploads(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        tus = await started(metastore)
        await add(metastore, tus, 0, part(1, 3))
        assert await metastore.abort_expired_tus_uploads(NOW + 59) == 0
        collector = Collector(metastore, MemoryBackend(), clock=lambda: NOW + 60)
        await collector.run_once()
        assert await metastore.get_tus_upload(tus.token_hash) is None
        assert not (await metastore.list_uploads("b")).uploads
        assert await metastore.abort_expired_tus_uploads(NOW + 60) == 0

    aio.run(body())
