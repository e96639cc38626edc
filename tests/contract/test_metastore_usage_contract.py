"""Per-bucket usage (MetaStore.bucket_usage, gateway/meta/usage.py) against the truth.

On every METASTORE_FACTORIES entry (SQLite, PostgreSQL, PostgreSQL behind Redis): after
puts, overwrites, deletes (versioned and not), a multipart completion and lifecycle
expiries, each bucket's usage equals what ListObjectVersions adds up to.
"""

from __future__ import annotations

import asyncio
import secrets

from gateway.meta.base import NULL_VERSION, Bucket, MetaStore, ObjectVersion, Part, Segment, Upload
from gateway.s3.versions import new_version_id

NOW = 1_700_000_000.0
MIB = 1024 * 1024


def new_id() -> str:
    return secrets.token_hex(16)


async def put(store: MetaStore, bucket: str, key: str, size: int, now: float) -> ObjectVersion:
    blob_id = new_id()
    await store.add_pending_blob(blob_id, now=now)
    return await store.put_object(
        ObjectVersion(
            bucket,
            key,
            new_version_id(now),
            last_modified=now,
            size=size,
            etag=new_id(),
            owner="alice",
            segments=(Segment(blob_id, size),),
        )
    )


async def multipart(store: MetaStore, bucket: str, key: str, sizes: list[int], now: float) -> None:
    upload = Upload(bucket, key, new_id(), now, owner="alice")
    await store.create_upload(upload)
    parts = []
    for number, size in enumerate(sizes, 1):
        blob_id = new_id()
        await store.add_pending_blob(blob_id, now=now)
        part = Part(number, blob_id, size, new_id(), now, {})
        await store.put_part(bucket, key, upload.upload_id, part)
        parts.append(part)
    version = ObjectVersion(
        bucket,
        key,
        new_version_id(now),
        last_modified=now,
        size=sum(sizes),
        etag=f"{new_id()}-{len(parts)}",
        owner="alice",
        segments=tuple(Segment(p.blob_id, p.size, p.number, p.etag) for p in parts),
    )
    await store.complete_upload(upload.upload_id, version, parts_digest="d")


async def listed(store: MetaStore, bucket: str) -> tuple[int, int]:
    """(object versions, bytes) as ListObjectVersions has them, page by page."""
    objects = size = 0
    key_marker, id_marker = "", ""
    while True:
        page = await store.list_object_versions(
            bucket, key_marker=key_marker, version_id_marker=id_marker, max_keys=3
        )
        for v in page.versions:
            if not v.is_delete_marker:
                objects += 1
                size += v.size
        if not page.is_truncated:
            return objects, size
        key_marker, id_marker = page.next_key_marker or "", page.next_version_id_marker or ""


async def usage_of(store: MetaStore) -> dict[str, tuple[int, int]]:
    return {u.bucket: (u.objects, u.bytes) for u in await store.bucket_usage()}


def test_usage_follows_every_version_change(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_bucket(Bucket("plain", "alice", NOW))
        await store.create_bucket(Bucket("ver", "alice", NOW, versioning="Enabled"))
        await store.create_bucket(Bucket("idle", "alice", NOW))
        t = NOW
        # Unversioned: puts, an overwrite, a delete, a multipart completion over a key.
        for i in range(5):
            await put(store, "plain", f"k{i}", 100 + i, t)
        await put(store, "plain", "k0", 7, t + 1)  # replaces 100 bytes
        await store.delete_object("plain", "k1", now=t + 2)
        await store.delete_object("plain", "missing", now=t + 2)
        await multipart(store, "plain", "k2", [5 * MIB, 3], t + 3)  # replaces k2
        # Versioned: versions pile up, a delete marker stores nothing, a version removed.
        first = await put(store, "ver", "a", 1000, t)
        await put(store, "ver", "a", 2000, t + 1)
        await put(store, "ver", "b", 30, t + 1)
        await store.delete_object("ver", "b", now=t + 2)  # marker; b's 30 bytes stay
        await store.delete_version("ver", "a", first.version_id, now=t + 3)
        await multipart(store, "ver", "c", [5 * MIB, 5 * MIB, 1], t + 4)
        # Lifecycle expiries: the current version of a key, in each bucket.
        k3 = await store.get_object("plain", "k3")
        assert k3 is not None and k3.version_id == NULL_VERSION
        assert await store.expire_object(
            "plain", "k3", version_id=k3.version_id, last_modified=k3.last_modified, now=t + 5
        )
        c = await store.get_object("ver", "c")
        assert c is not None
        assert await store.expire_object(
            "ver", "c", version_id=c.version_id, last_modified=c.last_modified, now=t + 5
        )  # versioned: a marker on top, the version still stored

        usage = await usage_of(store)
        for bucket in ("plain", "ver"):
            assert usage[bucket] == await listed(store, bucket), bucket
        assert usage["plain"] == (3, 7 + 104 + 5 * MIB + 3)
        assert usage["ver"] == (3, 2000 + 30 + 10 * MIB + 1)
        assert usage.get("idle", (0, 0)) == (0, 0)
        # Most bytes first, and bounded.
        assert [u.bucket for u in await store.bucket_usage(1)] == ["ver"]

        # Emptied and deleted: the bucket's usage goes with it.
        versions = (await store.list_object_versions("plain")).versions
        for v in versions:
            await store.delete_version("plain", v.key, v.version_id, now=t + 6)
        assert (await usage_of(store)).get("plain", (0, 0)) == (0, 0)
        await store.delete_bucket("plain")
        assert "plain" not in await usage_of(store)

    aio.run(body())


def test_blob_backlog_counts_pending_and_garbage(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_bucket(Bucket("b", "alice", NOW))
        before = await store.blob_backlog(cap=100)
        assert (before.pending, before.garbage) == (0, 0)
        await put(store, "b", "k", 1, NOW)
        await put(store, "b", "k", 2, NOW + 1)  # the first blob is garbage now
        for _ in range(3):
            await store.add_pending_blob(new_id(), now=NOW)
        backlog = await store.blob_backlog(cap=100)
        assert (backlog.pending, backlog.garbage) == (3, 1)
        capped = await store.blob_backlog(cap=2)
        assert (capped.pending, capped.garbage) == (2, 1)

    aio.run(body())
