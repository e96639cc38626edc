"""Quotas (gateway/meta/quotas.py) on every metadata store: set, show, clear, and the check
inside the commit transaction, which racing writers cannot squeeze past together."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.quota import Quota, QuotaUse, Usage
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Part, Segment, Upload
from gateway.s3.versions import new_version_id
from tests.contract.test_metastore_usage_contract import NOW, new_id, put, usage_of


async def try_put(store: MetaStore, bucket: str, key: str, size: int) -> bool:
    try:
        await put(store, bucket, key, size, NOW)
    except S3Error as error:
        assert error.code is S3ErrorCode.QUOTA_EXCEEDED
        return False
    return True


def test_racing_writers_stop_exactly_at_the_quota(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        store = metastore
        await store.create_user("alice", now=NOW)
        await store.create_bucket(Bucket("race", "alice", NOW))
        await store.create_bucket(Bucket("race2", "alice", NOW))
        await store.set_quota("bucket", "race", 1000, None)
        # 24 writers of distinct keys (so distinct usage rows and key locks) at once: on
        # PostgreSQL they run in parallel transactions; exactly 10 fit.
        done = await asyncio.gather(*(try_put(store, "race", f"k{i}", 100) for i in range(24)))
        assert sum(done) == 10
        assert (await usage_of(store))["race"] == (10, 1000)
        # The account's quota sums its buckets, under the same lock discipline.
        await store.set_quota("account", "alice", None, 13)
        keys = [("race2", f"a{i}") for i in range(8)]
        done = await asyncio.gather(*(try_put(store, b, k, 0) for b, k in keys))
        assert sum(done) == 3
        # A refused put publishes nothing (its blob stays pending, for the handler to delete).
        listed = await store.list_objects("race2")
        assert len(listed.objects) == 3

    aio.run(body())


def test_set_show_clear(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_user("bob", now=NOW)
        await store.create_bucket(Bucket("qb1", "bob", NOW))
        await store.create_bucket(Bucket("qb2", "bob", NOW))
        await put(store, "qb1", "x", 10, NOW)
        await put(store, "qb2", "y", 5, NOW)
        await store.set_quota("bucket", "qb1", 100, 5)
        await store.set_quota("account", "bob", 1 << 40, None)
        assert await store.list_quotas() == [
            QuotaUse(Quota("bucket", "qb1", 100, 5), Usage(1, 10)),
            QuotaUse(Quota("account", "bob", 1 << 40, None), Usage(2, 15)),
        ]
        assert await store.quota_uses("qb2") == [
            QuotaUse(Quota("account", "bob", 1 << 40, None), Usage(2, 15))
        ]
        await store.set_quota("bucket", "qb1", None, 7)  # replaced whole
        assert (await store.quota_uses("qb1"))[0].quota == Quota("bucket", "qb1", None, 7)
        with pytest.raises(S3Error):
            await store.set_quota("bucket", "nope", 1, 1)
        with pytest.raises(KeyError):
            await store.set_quota("account", "nobody", 1, 1)
        assert await store.clear_quota("account", "bob")
        assert not await store.clear_quota("account", "bob")
        await store.delete_object("qb1", "x", now=NOW)
        await store.delete_bucket("qb1")  # its quota goes with it
        assert await store.list_quotas() == []

    aio.run(body())


def test_complete_upload_over_quota_rolls_back(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_user("carol", now=NOW)
        await store.create_bucket(Bucket("mpq", "carol", NOW))
        upload = Upload("mpq", "k", new_id(), NOW, owner="carol")
        await store.create_upload(upload)
        blob_id = new_id()
        await store.add_pending_blob(blob_id, now=NOW)
        part = Part(1, blob_id, 600, new_id(), NOW, {})
        await store.put_part("mpq", "k", upload.upload_id, part)
        await store.set_quota("bucket", "mpq", 500, None)
        used = await store.quota_uses("mpq", upload_id=upload.upload_id)
        assert used[0].used == Usage(0, 600)
        assert (await store.quota_uses("mpq", upload_id=upload.upload_id, part_number=1))[
            0
        ].used == Usage(0, 0)
        # A second candidate of part 1 (kept until the Complete): both hold bytes, but a
        # new upload of part 1 may replace the latest one (the same bytes again).
        other = new_id()
        await store.add_pending_blob(other, now=NOW)
        await store.put_part("mpq", "k", upload.upload_id, Part(1, other, 50, new_id(), NOW + 1))
        assert (await store.quota_uses("mpq", upload_id=upload.upload_id))[0].used == Usage(0, 650)
        assert (await store.quota_uses("mpq", upload_id=upload.upload_id, part_number=1))[
            0
        ].used == Usage(0, 600)
        version = ObjectVersion(
            "mpq",
            "k",
            new_version_id(NOW),
            last_modified=NOW,
            size=600,
            etag=f"{new_id()}-1",
            owner="carol",
            segments=(Segment(blob_id, 600, 1, part.etag),),
        )
        with pytest.raises(S3Error) as refused:
            await store.complete_upload(upload.upload_id, version, parts_digest="d")
        assert refused.value.code is S3ErrorCode.QUOTA_EXCEEDED
        assert await store.get_object("mpq", "k") is None
        assert await store.get_upload("mpq", "k", upload.upload_id) is not None
        assert (await usage_of(store)).get("mpq", (0, 0)) == (0, 0)
        await store.set_quota("bucket", "mpq", 600, None)
        await store.complete_upload(upload.upload_id, version, parts_digest="d")
        assert (await usage_of(store))["mpq"] == (1, 600)

    aio.run(body())
