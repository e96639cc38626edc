"""Replication in the metadata store (migration 0017) on every METASTORE_FACTORIES entry:
replication rows commit with their change and mark the version PENDING, kinds stay apart,
replicas are written once and the newer one is latest, targets and their buckets, resync."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from events.records import REPLICATION, EventIntent, ReplicationRoute
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Segment
from gateway.meta.outbox import outbox_of
from gateway.meta.replication import ReplicationTarget
from gateway.s3.replication import REPLICA, STATUS_HEADER

NOW = 1_700_000_000.0
ROUTES = (ReplicationRoute("r1", "dest", delete_markers=True),)


def intent(event: str) -> EventIntent:
    return EventIntent((), event, NOW, replication=ROUTES)


async def setup(store: MetaStore) -> None:
    await store.create_user("alice", now=NOW)
    await store.create_bucket(Bucket("b", "alice", NOW))
    await store.put_bucket_versioning("b", "Enabled")


async def put(store: MetaStore, key: str, blob: str, version_id: str, at: float = NOW,
              headers: dict[str, str] | None = None) -> ObjectVersion:  # fmt: skip
    await store.add_pending_blob(blob, now=at)
    segments = (Segment(blob, 3),)
    version = ObjectVersion("b", key, version_id, at, size=3, etag="e", segments=segments,
                            headers=headers or {})  # fmt: skip
    return await store.put_object(version, events=intent("s3:ObjectCreated:Put"))


def test_replication_rows_commit_with_the_change(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        outbox = outbox_of(metastore)
        await setup(metastore)
        await put(metastore, "k", "blob1", "v1")
        got = await metastore.get_object("b", "k")
        assert got is not None and got.headers[STATUS_HEADER] == "PENDING"
        await metastore.update_version("b", "k", None, lambda v: replace(v, tags={"t": "1"}),
                                       events=intent("s3:ObjectTagging:Put"))  # fmt: skip
        marker = await metastore.delete_object(
            "b", "k", now=NOW + 1, events=intent("s3:ObjectRemoved")
        )
        await metastore.delete_object(
            "b", "k", "v1", now=NOW + 2, events=intent("s3:ObjectRemoved")
        )
        rows = await outbox.list_events(kind=REPLICATION)
        assert [(e.key, e.event_name, e.version_id, e.target, e.config_id) for e in rows] == [
            ("k", "put", "v1", "dest", "r1"),
            ("k", "metadata", "v1", "dest", "r1"),
            ("k", "delete-marker", marker.version_id, "dest", "r1"),
        ]  # deleting a version by id is not replicated
        assert await outbox.list_events() == []  # the event dispatcher sees none of them
        assert [e.key for e in await outbox.due_events(NOW, kind=REPLICATION)] == ["k"]
        assert await outbox.outbox_depth(kind=REPLICATION) == (3, 0)
        assert await outbox.oldest_pending_replication() == NOW

    aio.run(body())


def test_replicas_once_and_newer_wins(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await setup(metastore)
        replica = {STATUS_HEADER: REPLICA}
        await put(metastore, "k", "b2", "0002", at=NOW + 2, headers=replica)
        again = await put(metastore, "k", "b2bis", "0002", at=NOW + 2, headers=replica)
        assert again.segments[0].blob_id == "b2"  # the first copy stays
        await put(metastore, "k", "b1", "0001", at=NOW + 1, headers=replica)  # older: noncurrent
        latest = await metastore.get_object("b", "k")
        assert latest is not None and latest.version_id == "0002"
        await put(metastore, "k", "b3", "0003", at=NOW + 3, headers=replica)
        latest = await metastore.get_object("b", "k")
        assert latest is not None and latest.version_id == "0003"
        page = await metastore.list_object_versions("b")
        assert [v.version_id for v in page.versions] == ["0003", "0002", "0001"]
        # The late older copy sits in its time's place: deleting the latest promotes 0002.
        await metastore.delete_object("b", "k", "0003", now=NOW + 4)
        latest = await metastore.get_object("b", "k")
        assert latest is not None and latest.version_id == "0002"
        # A replica queues no replication of its own (no loop): only what its intent says.
        assert await outbox_of(metastore).outbox_depth(kind=REPLICATION) == (0, 0)
        # A change made on a replica is queued (replica modification sync: the worker
        # decides), and the replica stays REPLICA rather than turning PENDING.
        await metastore.update_version("b", "k", None, lambda v: replace(v, tags={"t": "1"}),
                                       events=intent("s3:ObjectTagging:Put"))  # fmt: skip
        assert await outbox_of(metastore).outbox_depth(kind=REPLICATION) == (1, 0)
        latest = await metastore.get_object("b", "k")
        assert latest is not None and latest.headers[STATUS_HEADER] == REPLICA

    aio.run(body())


def test_targets_and_resync(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        outbox = outbox_of(metastore)
        await setup(metastore)
        target = ReplicationTarget("site", "http://h:1", "AK", "sealed", kloudvault=True,
                                   buckets=("d1", "d2"))  # fmt: skip
        await outbox.put_replication_target(target, NOW)
        assert await outbox.list_replication_targets() == [target]
        with pytest.raises(ValueError):
            await outbox.put_replication_target(
                ReplicationTarget("other", "http://h:2", "A", "S", buckets=("d2",)), NOW
            )
        moved = replace(target, endpoint="http://h:3", buckets=("d1",))
        await outbox.put_replication_target(moved, NOW)
        assert await outbox.list_replication_targets() == [moved]
        await put(metastore, "a", "blob-a", "va")
        await put(metastore, "b", "blob-b", "vb")
        failed = {STATUS_HEADER: "FAILED"}  # as the worker marks a version it gave up on
        await metastore.update_version("b", "b", None, lambda v: replace(v, headers=failed))
        await outbox.purge_events(None, kind=REPLICATION)
        routes = [("r1", "d1")]
        queued = await outbox.resync_replication("b", routes, now=NOW, failed_only=True)
        assert queued == (1, None)
        page = await outbox.resync_replication("b", routes, now=NOW, failed_only=False, limit=1)
        assert page == (1, "a")  # one key, more to come
        page = await outbox.resync_replication(
            "b", routes, now=NOW, failed_only=False, after="a", limit=1
        )
        assert page == (1, "b")
        page = await outbox.resync_replication(
            "b", routes, now=NOW, failed_only=False, after="b", limit=1
        )
        assert page == (0, None)
        assert await outbox.delete_replication_target("site")
        assert not await outbox.delete_replication_target("site")
        assert await outbox.list_replication_targets() == []

    aio.run(body())
