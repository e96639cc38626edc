"""The MetaStore contract (gateway/meta/base.py), run against every METASTORE_FACTORIES entry.

Listing is checked against a brute-force reference (`reference_list`) over a tree of awkward
keys; the SQLite-only tests at the end cover migrations, the query plan and several
processes sharing one database file.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    NULL_VERSION,
    Bucket,
    DeleteOutcome,
    ListedObject,
    ListPage,
    MetaStore,
    ObjectVersion,
    Precondition,
    Segment,
)
from gateway.meta.listing import LIST_SQL, Listing, Seek, listing_steps, successor
from gateway.meta.migrations import load_migrations, split_statements
from gateway.meta.ranges import feed
from gateway.meta.sql import Tx
from gateway.meta.sqlite import SqliteMetaStore
from gateway.meta.sqlite_listing import SKIP_SCAN_BOUNDED_SQL

NOW = 1_700_000_000.0
FAR_FUTURE = 1e12


def new_id() -> str:
    return secrets.token_hex(16)


async def make_bucket(
    store: MetaStore, name: str = "bkt", *, versioning: str | None = None, owner: str = "alice"
) -> Bucket:
    bucket = Bucket(name, owner, NOW, versioning=versioning)
    await store.create_bucket(bucket)
    return bucket


async def put(
    store: MetaStore,
    key: str,
    *,
    bucket: str = "bkt",
    blobs: int = 1,
    etag: str | None = None,
    version_id: str | None = None,
    now: float = NOW,
    precondition: Precondition | None = None,
) -> ObjectVersion:
    """Register `blobs` pending blobs and put a version made of them."""
    segments = []
    for _ in range(blobs):
        blob_id = new_id()
        await store.add_pending_blob(blob_id, now=now)
        segments.append(Segment(blob_id, 10))
    version = ObjectVersion(
        bucket=bucket,
        key=key,
        version_id=version_id or new_id(),
        last_modified=now,
        size=10 * blobs,
        etag=etag or new_id(),
        owner="alice",
        segments=tuple(segments),
    )
    return await store.put_object(version, precondition)


def blob_ids(version: ObjectVersion) -> list[str]:
    return [s.blob_id for s in version.segments]


async def garbage(store: MetaStore) -> set[str]:
    """Garbage blobs of any age (pending ones are left alone)."""
    return set(await store.collectable_blobs(garbage_before=FAR_FUTURE, pending_before=0))


def s3_code(exc: pytest.ExceptionInfo[S3Error]) -> S3ErrorCode:
    return exc.value.code


# -- users and access keys -------------------------------------------------------------------
def test_users(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        bob = await metastore.create_user("bob", now=NOW)
        root = await metastore.create_user("admin", is_root=True, now=NOW + 1)
        assert (bob.name, bob.created, bob.is_root) == ("bob", NOW, False)
        assert await metastore.get_user("admin") == root
        assert await metastore.get_user("nobody") is None
        assert [u.name for u in await metastore.list_users()] == ["admin", "bob"]
        with pytest.raises(KeyError):
            await metastore.create_user("bob", now=NOW)
        await metastore.create_access_key("bob", "AKBOB1", "secret1", now=NOW)
        assert await metastore.delete_user("bob") is True
        assert await metastore.delete_user("bob") is False
        assert await metastore.get_access_key("AKBOB1") is None  # keys go with their user
        assert [u.name for u in await metastore.list_users()] == ["admin"]

    aio.run(body())


def test_access_keys(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        with pytest.raises(KeyError):
            await metastore.create_access_key("ghost", "AK0", "s", now=NOW)
        await metastore.create_user("carol", now=NOW)
        await metastore.create_user("root", is_root=True, now=NOW)
        k1 = await metastore.create_access_key("carol", "AK1", "s1", now=NOW)
        k2 = await metastore.create_access_key("carol", "AK2", "s2", now=NOW + 1)
        kr = await metastore.create_access_key("root", "AKROOT", "sr", now=NOW)
        assert (k1.access_key, k1.secret_key, k1.user, k1.is_root) == ("AK1", "s1", "carol", False)
        assert kr.is_root is True
        assert await metastore.get_access_key("AK1") == k1
        assert await metastore.get_access_key("AKROOT") == kr
        assert await metastore.list_access_keys("carol") == [k1, k2]
        with pytest.raises(KeyError):  # access keys are unique across users
            await metastore.create_access_key("root", "AK1", "other", now=NOW)
        assert await metastore.delete_access_key("AK1") is True
        assert await metastore.delete_access_key("AK1") is False
        assert await metastore.get_access_key("AK1") is None
        assert await metastore.list_access_keys("carol") == [k2]
        # An account's own key is deactivated and activated again, by its account only.
        assert await metastore.set_access_key_active("carol", "AK2", False) is True
        assert await metastore.get_access_key("AK2") == replace(k2, active=False)
        assert await metastore.set_access_key_active("root", "AK2", True) is False
        assert await metastore.set_access_key_active("carol", "AK2", True) is True
        assert await metastore.get_access_key("AK2") == k2
        assert await metastore.set_access_key_active("carol", "NOPE", False) is False

    aio.run(body())


# -- buckets ---------------------------------------------------------------------------------
def test_buckets(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        b = Bucket(
            "photos", "alice", NOW, region="eu-west-1", versioning="Enabled", object_lock=True
        )
        await metastore.create_bucket(b)
        assert await metastore.get_bucket("photos") == b
        assert await metastore.get_bucket("nope") is None
        for name, owner in [("zeta", "bob"), ("alpha", "alice"), ("mid", "bob")]:
            await metastore.create_bucket(Bucket(name, owner, NOW))
        assert [x.name for x in await metastore.list_buckets()] == [
            "alpha",
            "mid",
            "photos",
            "zeta",
        ]
        assert [x.name for x in await metastore.list_buckets("bob")] == ["mid", "zeta"]
        assert await metastore.list_buckets("nobody") == []

        with pytest.raises(S3Error) as exc:
            await metastore.create_bucket(Bucket("photos", "alice", NOW + 5))
        assert s3_code(exc) is S3ErrorCode.BUCKET_ALREADY_OWNED_BY_YOU
        with pytest.raises(S3Error) as exc:
            await metastore.create_bucket(Bucket("photos", "bob", NOW + 5))
        assert s3_code(exc) is S3ErrorCode.BUCKET_ALREADY_EXISTS
        assert await metastore.get_bucket("photos") == b  # unchanged

    aio.run(body())


def test_delete_bucket(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        with pytest.raises(S3Error) as exc:
            await metastore.delete_bucket("nope")
        assert s3_code(exc) is S3ErrorCode.NO_SUCH_BUCKET
        await make_bucket(metastore, "vb", versioning="Enabled")
        await put(metastore, "k", bucket="vb")
        await metastore.delete_object("vb", "k", now=NOW)
        # Only a delete marker and a noncurrent version are left: still not empty.
        with pytest.raises(S3Error) as exc:
            await metastore.delete_bucket("vb")
        assert s3_code(exc) is S3ErrorCode.BUCKET_NOT_EMPTY
        await make_bucket(metastore, "empty")
        await metastore.delete_bucket("empty")
        assert await metastore.get_bucket("empty") is None
        await make_bucket(metastore, "empty")  # the name is free again

    aio.run(body())


# -- objects ---------------------------------------------------------------------------------
def test_put_object_get_object_roundtrip(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        parts = (
            Segment(new_id(), 5 * 1024 * 1024, 1, "e1", {"CRC32": "AAAAAA=="}),
            Segment(new_id(), 123, 2, "e2", {"CRC32": "BBBBBB=="}),
        )
        for s in parts:
            await metastore.add_pending_blob(s.blob_id, now=NOW)
        version = ObjectVersion(
            bucket="bkt",
            key="dir/ünïcödé key%_.txt",
            version_id="ignored-when-unversioned",
            last_modified=NOW + 0.25,
            size=5 * 1024 * 1024 + 123,
            etag="0123456789abcdef0123456789abcdef-2",
            owner="alice",
            content_type="text/plain; charset=utf-8",
            headers={"cache-control": "no-cache", "content-disposition": "attachment"},
            user_meta={"color": "blue", "empty": ""},
            checksums={"CRC32": "CCCCCC=="},
            checksum_type="COMPOSITE",
            segments=parts,
            tags={"project": "kv", "tier": "gold"},
            storage_class="STANDARD_IA",
            retention_mode="GOVERNANCE",
            retain_until=NOW + 86400,
            legal_hold=True,
        )
        stored = await metastore.put_object(version)
        assert stored == replace(version, version_id=NULL_VERSION, is_latest=True)
        assert stored.parts_count == 2
        assert await metastore.get_object("bkt", version.key) == stored
        assert await metastore.get_object("bkt", version.key, NULL_VERSION) == stored
        assert await metastore.get_object("bkt", version.key, "other") is None
        assert await metastore.get_object("bkt", "missing") is None
        assert await metastore.get_object("nobucket", version.key) is None
        for s in parts:
            assert await metastore.blob_is_referenced(s.blob_id)

    aio.run(body())


def test_put_object_no_such_bucket(metastore: MetaStore, aio: asyncio.Runner) -> None:
    with pytest.raises(S3Error) as exc:
        aio.run(put(metastore, "k", bucket="gone"))
    assert s3_code(exc) is S3ErrorCode.NO_SUCH_BUCKET


def test_put_object_replace_moves_old_blobs_to_garbage(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        first = await put(metastore, "k", blobs=2)
        second = await put(metastore, "k", now=NOW + 1)
        assert await metastore.get_object("bkt", "k") == second
        assert await garbage(metastore) == set(blob_ids(first))
        for blob_id in blob_ids(first):
            assert not await metastore.blob_is_referenced(blob_id)
        assert await metastore.blob_is_referenced(blob_ids(second)[0])
        assert not await metastore.blob_is_referenced(new_id())

    aio.run(body())


def test_put_object_blob_not_pending_is_internal_error(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        pending = new_id()
        await metastore.add_pending_blob(pending, now=NOW)
        version = ObjectVersion(
            "bkt", "k", "v", NOW, segments=(Segment(pending, 1), Segment(new_id(), 1))
        )
        with pytest.raises(S3Error) as exc:
            await metastore.put_object(version)
        assert s3_code(exc) is S3ErrorCode.INTERNAL_ERROR
        assert await metastore.get_object("bkt", "k") is None
        # The whole transaction rolled back: the first blob is still pending.
        ok = replace(version, segments=(Segment(pending, 1),))
        assert (await metastore.put_object(ok)).segments == ok.segments

    aio.run(body())


def test_put_object_after_blob_collected_is_internal_error(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    """An upload that outlives the pending TTL must not publish a blob being collected."""

    async def body() -> None:
        await make_bucket(metastore)
        blob_id = new_id()
        await metastore.add_pending_blob(blob_id, now=NOW)
        assert await metastore.collectable_blobs(garbage_before=0, pending_before=NOW + 1) == [
            blob_id
        ]
        version = ObjectVersion("bkt", "k", "v", NOW, segments=(Segment(blob_id, 1),))
        # Between the collector's query and its forget_blobs: the blob is being deleted.
        with pytest.raises(S3Error) as exc:
            await metastore.put_object(version)
        assert s3_code(exc) is S3ErrorCode.INTERNAL_ERROR
        await metastore.forget_blobs([blob_id])
        with pytest.raises(S3Error) as exc:
            await metastore.put_object(version)
        assert s3_code(exc) is S3ErrorCode.INTERNAL_ERROR
        assert await metastore.get_object("bkt", "k") is None

    aio.run(body())


@pytest.mark.parametrize(
    ("state", "precondition", "error"),
    [
        ("missing", Precondition(if_none_match_any=True), None),
        ("present", Precondition(if_none_match_any=True), S3ErrorCode.PRECONDITION_FAILED),
        ("deleted", Precondition(if_none_match_any=True), None),
        ("missing", Precondition(if_match="etag-1"), S3ErrorCode.NO_SUCH_KEY),
        ("deleted", Precondition(if_match="etag-1"), S3ErrorCode.NO_SUCH_KEY),
        ("present", Precondition(if_match="etag-1"), None),
        ("present", Precondition(if_match='"etag-1"'), None),
        ("present", Precondition(if_match="etag-2"), S3ErrorCode.PRECONDITION_FAILED),
        ("present", Precondition(), None),
    ],
)
def test_put_object_precondition(
    metastore: MetaStore,
    aio: asyncio.Runner,
    state: str,
    precondition: Precondition,
    error: S3ErrorCode | None,
) -> None:
    async def body() -> None:
        # Versioned, so that "deleted" means a delete marker is the latest version.
        await make_bucket(metastore, versioning="Enabled")
        if state != "missing":
            await put(metastore, "k", etag="etag-1")
        if state == "deleted":
            await metastore.delete_object("bkt", "k", now=NOW)
        before = await metastore.get_object("bkt", "k")
        if error is None:
            stored = await put(metastore, "k", etag="new", precondition=precondition)
            assert await metastore.get_object("bkt", "k") == stored
            return
        with pytest.raises(S3Error) as exc:
            await put(metastore, "k", etag="new", precondition=precondition)
        assert s3_code(exc) is error
        assert await metastore.get_object("bkt", "k") == before

    aio.run(body())


def test_delete_object_unversioned(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        v = await put(metastore, "k")
        assert await metastore.delete_object("bkt", "k", now=NOW + 1) == DeleteOutcome(
            NULL_VERSION, False
        )
        assert await metastore.get_object("bkt", "k") is None
        assert await garbage(metastore) == set(blob_ids(v))
        assert await metastore.delete_object("bkt", "k", now=NOW + 2) == DeleteOutcome(None, False)
        assert await metastore.delete_object("bkt", "k", "nope", now=NOW) == DeleteOutcome(
            None, False
        )
        with pytest.raises(S3Error) as exc:
            await metastore.delete_object("gone", "k", now=NOW)
        assert s3_code(exc) is S3ErrorCode.NO_SUCH_BUCKET

    aio.run(body())


# -- versioning ------------------------------------------------------------------------------
def test_versioning_enabled(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        v1 = await put(metastore, "k", version_id="v1")
        v2 = await put(metastore, "k", version_id="v2", now=NOW + 1)
        assert (v1.version_id, v2.version_id) == ("v1", "v2")
        assert await metastore.get_object("bkt", "k") == v2
        assert await metastore.get_object("bkt", "k", "v1") == replace(v1, is_latest=False)
        assert await garbage(metastore) == set()  # nothing replaced

        out = await metastore.delete_object("bkt", "k", now=NOW + 2)
        assert out.delete_marker and out.version_id not in (None, NULL_VERSION)
        assert out.version_id is not None
        marker = await metastore.get_object("bkt", "k")
        assert marker is not None
        assert (marker.version_id, marker.is_delete_marker, marker.is_latest) == (
            out.version_id,
            True,
            True,
        )
        assert marker.last_modified == NOW + 2
        assert (await metastore.list_objects("bkt")).objects == []

        # A second delete stacks a second marker.
        out2 = await metastore.delete_object("bkt", "k", now=NOW + 3)
        assert out2.delete_marker and out2.version_id != out.version_id

        # Removing the markers by id brings v2 back.
        assert await metastore.delete_object("bkt", "k", out2.version_id, now=NOW) == out2
        assert await metastore.delete_object("bkt", "k", out.version_id, now=NOW) == out
        assert await metastore.get_object("bkt", "k") == v2
        assert [o.key for o in (await metastore.list_objects("bkt")).objects] == ["k"]

        # Removing the latest version by id promotes the previous one; its blobs are garbage.
        assert await metastore.delete_object("bkt", "k", "v2", now=NOW + 4) == DeleteOutcome(
            "v2", False
        )
        assert await metastore.get_object("bkt", "k") == v1
        assert await garbage(metastore) == set(blob_ids(v2))
        await metastore.delete_object("bkt", "k", "v1", now=NOW + 5)
        assert await metastore.get_object("bkt", "k") is None
        await metastore.delete_bucket("bkt")

    aio.run(body())


def test_versioning_promotes_by_write_order_not_id(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        for vid in ["zzz", "aaa", "mmm"]:
            await put(metastore, "k", version_id=vid)
        await metastore.delete_object("bkt", "k", "mmm", now=NOW)
        latest = await metastore.get_object("bkt", "k")
        assert latest is not None and latest.version_id == "aaa"
        # Removing a noncurrent version leaves the latest alone.
        await metastore.delete_object("bkt", "k", "zzz", now=NOW)
        assert (await metastore.get_object("bkt", "k")) == latest

    aio.run(body())


def test_versioning_suspended_replaces_null_version(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Suspended")
        a = await put(metastore, "k")
        b = await put(metastore, "k", now=NOW + 1)
        assert a.version_id == b.version_id == NULL_VERSION
        assert await garbage(metastore) == set(blob_ids(a))
        out = await metastore.delete_object("bkt", "k", now=NOW + 2)
        assert out == DeleteOutcome(NULL_VERSION, True)
        marker = await metastore.get_object("bkt", "k")
        assert marker is not None and marker.is_delete_marker
        assert marker.version_id == NULL_VERSION
        assert await garbage(metastore) == set(blob_ids(a) + blob_ids(b))
        # Deleting the null marker by id leaves nothing.
        assert await metastore.delete_object("bkt", "k", NULL_VERSION, now=NOW) == out
        assert await metastore.get_object("bkt", "k") is None

    aio.run(body())


def test_versioning_enabled_then_suspended(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """Suspending keeps the versions written while Enabled; only "null" is replaced."""
    set_versioning = getattr(metastore, "put_bucket_versioning", None)
    if set_versioning is None:
        pytest.skip("this store has no put_bucket_versioning")

    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        v1 = await put(metastore, "k", version_id="v1")
        await set_versioning("bkt", "Suspended")
        n1 = await put(metastore, "k", now=NOW + 1)
        n2 = await put(metastore, "k", now=NOW + 2)
        assert n1.version_id == n2.version_id == NULL_VERSION
        assert await metastore.get_object("bkt", "k", "v1") == replace(v1, is_latest=False)
        assert await garbage(metastore) == set(blob_ids(n1))
        assert (await metastore.delete_object("bkt", "k", now=NOW + 3)).version_id == NULL_VERSION
        assert await garbage(metastore) == set(blob_ids(n1) + blob_ids(n2))
        await set_versioning("bkt", "Enabled")
        v3 = await put(metastore, "k", version_id="v3", now=NOW + 4)
        # The null delete marker stays as a noncurrent version; removing v3 promotes it.
        await metastore.delete_object("bkt", "k", "v3", now=NOW + 5)
        latest = await metastore.get_object("bkt", "k")
        assert latest is not None and latest.is_delete_marker
        assert latest.version_id == NULL_VERSION
        assert v3.version_id == "v3"

    aio.run(body())


def test_suspended_put_leaves_one_latest_version(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """A null-version put demotes the latest version unless it replaces it (put_version
    skips the demoting UPDATE only then): one latest version of the key, always."""
    set_versioning = getattr(metastore, "put_bucket_versioning", None)
    if set_versioning is None:
        pytest.skip("this store has no put_bucket_versioning")

    async def latest_ids() -> list[str]:
        ids = ["v1", "v2", NULL_VERSION]
        found = [await metastore.get_object("bkt", "k", i) for i in ids]
        return [v.version_id for v in found if v is not None and v.is_latest]

    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        await put(metastore, "k", version_id="v1")
        await set_versioning("bkt", "Suspended")
        await put(metastore, "k", now=NOW + 1)  # demotes v1
        assert await latest_ids() == [NULL_VERSION]
        await put(metastore, "k", now=NOW + 2)  # replaces the latest null version
        assert await latest_ids() == [NULL_VERSION]
        await set_versioning("bkt", "Enabled")
        await put(metastore, "k", version_id="v2", now=NOW + 3)
        assert await latest_ids() == ["v2"]
        await set_versioning("bkt", "Suspended")
        n = await put(metastore, "k", now=NOW + 4)  # replaces a noncurrent null; demotes v2
        assert await latest_ids() == [NULL_VERSION]
        assert await metastore.get_object("bkt", "k") == n

    aio.run(body())


# -- blobs -----------------------------------------------------------------------------------
def test_collectable_blobs_timing(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        stale = new_id()
        await metastore.add_pending_blob(stale, now=100.0)
        old = await put(metastore, "k", now=150.0)
        await put(metastore, "k", now=200.0)  # old's blob is garbage since 200
        (g,) = blob_ids(old)

        assert await metastore.collectable_blobs(garbage_before=200.0, pending_before=100.0) == []
        assert await metastore.collectable_blobs(garbage_before=200.5, pending_before=0) == [g]
        assert await metastore.collectable_blobs(garbage_before=0, pending_before=100.5) == [stale]
        await metastore.forget_blobs([g, stale])
        assert (
            await metastore.collectable_blobs(garbage_before=FAR_FUTURE, pending_before=FAR_FUTURE)
            == []
        )

        dropped = new_id()
        await metastore.add_pending_blob(dropped, now=100.0)
        await metastore.drop_pending_blob(dropped)
        assert (
            await metastore.collectable_blobs(garbage_before=FAR_FUTURE, pending_before=FAR_FUTURE)
            == []
        )

    aio.run(body())


def test_collectable_blobs_limit(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        ids = [new_id() for _ in range(7)]
        for i, blob_id in enumerate(ids):
            await metastore.add_pending_blob(blob_id, now=100.0 + i)
        seen: list[str] = []
        while batch := await metastore.collectable_blobs(
            garbage_before=FAR_FUTURE, pending_before=FAR_FUTURE, limit=3
        ):
            assert len(batch) <= 3
            seen += batch
            await metastore.forget_blobs(batch)
        assert sorted(seen) == sorted(ids)

    aio.run(body())


# -- concurrency -----------------------------------------------------------------------------
@pytest.mark.parametrize("versioning", [None, "Enabled"])
def test_concurrent_put_object_one_key(
    metastore: MetaStore, aio: asyncio.Runner, versioning: str | None
) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning=versioning)
        stored = await asyncio.gather(*(put(metastore, "hot", now=NOW + i) for i in range(20)))
        latest = await metastore.get_object("bkt", "hot")
        assert latest is not None and latest in stored
        if versioning is None:
            replaced = {b for v in stored if v != latest for b in blob_ids(v)}
            assert await garbage(metastore) == replaced
        else:
            flags = [await metastore.get_object("bkt", "hot", v.version_id) for v in stored]
            assert sum(1 for v in flags if v is not None and v.is_latest) == 1
            assert await garbage(metastore) == set()

    aio.run(body())


# -- listing ---------------------------------------------------------------------------------
TREE = [
    "a",
    "a/b",
    "a/b/c",
    "a/b/d/e",
    "a/c",
    "a%b",
    "a_b",
    "a%",
    "a b",
    "a\u00e9",
    "a\uffff",
    "a\U0001f600",
    "a\U0010ffff",
    "a\U0010ffff/x",
    "b",
    "foo",
    "foo/",
    "foo//",
    "foo/bar",
    "foo/bar/baz",
    "foo%2Fbar",
    "foo bar",
    "photos/2024/jan/1.jpg",
    "photos/2024/jan/2.jpg",
    "photos/2024/feb/1.jpg",
    "photos/2025/x.jpg",
    "photos/index.html",
    "%",
    "%%/x",
    "_",
    "_/_",
    " ",
    " lead",
    "trail ",
    "\u65e5\u672c/\u8a9e",
    "\u65e5\u672c\u8a9e",
    "z/",
]


def reference_list(
    keys: Iterable[str], *, prefix: str, delimiter: str, start_after: str, max_keys: int
) -> ListPage:
    """ListObjects by brute force over UTF-8-byte-sorted keys: items > start_after."""
    if max_keys <= 0:
        return _page([], [], False, None)
    out_keys: list[str] = []
    prefixes: list[str] = []
    items = 0
    last = None
    for key in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not key.startswith(prefix) or key <= start_after:
            continue
        i = key.find(delimiter, len(prefix)) if delimiter else -1
        item = key if i < 0 else key[: i + len(delimiter)]
        if i >= 0 and (item <= start_after or (prefixes and prefixes[-1] == item)):
            continue
        if items == max_keys:
            return _page(out_keys, prefixes, True, last)
        if i < 0:
            out_keys.append(key)
        else:
            prefixes.append(item)
        items += 1
        last = item
    return _page(out_keys, prefixes, False, last)


def _page(keys: list[str], prefixes: list[str], truncated: bool, last: str | None) -> ListPage:
    objects = [ListedObject(k, "null", NOW, 0, "", "", "STANDARD") for k in keys]
    return ListPage(objects, prefixes, truncated, last)


def summary(page: ListPage) -> tuple[list[str], list[str], bool, str | None]:
    return (
        [o.key for o in page.objects],
        list(page.common_prefixes),
        page.is_truncated,
        page.next_marker,
    )


async def fill(store: MetaStore, keys: Iterable[str], *, bucket: str = "bkt") -> None:
    """Put one version of each key, 16 puts at a time (as concurrent requests would): a
    5,000-key fill one round trip after another is most of a listing test's time."""
    pending = iter(keys)

    async def putter() -> None:
        for key in pending:
            await store.put_object(ObjectVersion(bucket, key, "v", NOW, etag="e"))

    await asyncio.gather(*(putter() for _ in range(16)))


def test_list_objects_keys_sort_by_utf8_bytes(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> list[str]:
        await make_bucket(metastore)
        await fill(metastore, ["a\U0001f600", "a\uffff", "a\u00e9", "az", "a"])
        return [o.key for o in (await metastore.list_objects("bkt")).objects]

    # UTF-16 order would put U+1F600 (a surrogate pair) before U+FFFF.
    assert aio.run(body()) == ["a", "az", "a\u00e9", "a\uffff", "a\U0001f600"]


PREFIXES = ["", "a", "a/", "a/b", "foo", "foo/", "photos/", "photos/2024/", "%", "_", "a%", "z"]
DELIMITERS = ["", "/", "%", "b", "//"]


def test_list_objects_matches_reference(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """Every prefix x delimiter x page size: each page, and the pages joined, as reference."""

    async def body() -> None:
        await make_bucket(metastore)
        await fill(metastore, TREE)
        for prefix in PREFIXES:
            for delimiter in DELIMITERS:
                full = reference_list(
                    TREE, prefix=prefix, delimiter=delimiter, start_after="", max_keys=10_000
                )
                for max_keys in (1, 2, 3, 1000):
                    marker, items = "", []
                    for _ in range(100):
                        page = await metastore.list_objects(
                            "bkt",
                            prefix=prefix,
                            delimiter=delimiter,
                            start_after=marker,
                            max_keys=max_keys,
                        )
                        expected = reference_list(
                            TREE,
                            prefix=prefix,
                            delimiter=delimiter,
                            start_after=marker,
                            max_keys=max_keys,
                        )
                        where = (prefix, delimiter, max_keys, marker)
                        assert summary(page) == summary(expected), where
                        items += [o.key for o in page.objects] + list(page.common_prefixes)
                        if not page.is_truncated:
                            break
                        assert page.next_marker is not None
                        marker = page.next_marker
                    keys, prefixes, _, _ = summary(full)
                    assert sorted(items) == sorted(keys + prefixes), (prefix, delimiter)

    aio.run(body())


ODD_KEYS = [
    "\u00e9t\u00e9/a",
    "\u00e9t\u00e9/b/c",
    "\u00e9t\u00e9\U0001f600x/y",
    "\u00e9t\u00e9\U0001f600\U0001f600z",
    "\U0001f600/\u00e9/1",
    "\U0001f600/\u00e9\u00e9/2",
    "\uffff\u00e9/",
    "a\u00e9/b\u00e9/c",
    "a\u00e9\u00e9b",
    "a b/c d",
    "a+b/c",
]


def test_list_objects_multibyte_delimiters_match_reference(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    """Prefixes and delimiters of several code points, some of several UTF-8 bytes: where a
    key rolls up is counted in code points, on every store (SQLite's skip scan counts them
    with instr/substr)."""

    async def body() -> None:
        await make_bucket(metastore)
        await fill(metastore, ODD_KEYS)
        for prefix in ["", "\u00e9t\u00e9", "\U0001f600/", "a"]:
            for delimiter in ["/", "\u00e9/", "\U0001f600", "\u00e9", " "]:
                for max_keys in (1, 2, 1000):
                    marker = ""
                    for _ in range(50):
                        page = await metastore.list_objects(
                            "bkt",
                            prefix=prefix,
                            delimiter=delimiter,
                            start_after=marker,
                            max_keys=max_keys,
                        )
                        expected = reference_list(
                            ODD_KEYS,
                            prefix=prefix,
                            delimiter=delimiter,
                            start_after=marker,
                            max_keys=max_keys,
                        )
                        where = (prefix, delimiter, max_keys, marker)
                        assert summary(page) == summary(expected), where
                        if not page.is_truncated:
                            break
                        assert page.next_marker is not None
                        marker = page.next_marker

    aio.run(body())


def test_list_objects_edges(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        await fill(metastore, TREE)

        async def ls(**kw: object) -> tuple[list[str], list[str], bool, str | None]:
            return summary(await metastore.list_objects("bkt", **kw))  # type: ignore[arg-type]

        assert await ls(max_keys=0) == ([], [], False, None)
        assert await ls(start_after="\U0010ffff") == ([], [], False, None)
        assert await ls(prefix="nothing/") == ([], [], False, None)
        # `foo` and `foo/` are different keys; with a delimiter `foo/` rolls up.
        assert await ls(prefix="foo", delimiter="/") == (
            ["foo", "foo bar", "foo%2Fbar"],
            ["foo/"],
            False,
            "foo/",
        )
        assert await ls(prefix="foo/", delimiter="/") == (
            ["foo/", "foo/bar"],
            ["foo//", "foo/bar/"],
            False,
            "foo/bar/",
        )
        # start_after equal to a common prefix skips every key under it.
        assert await ls(prefix="photos/", delimiter="/", start_after="photos/2024/") == (
            ["photos/index.html"],
            ["photos/2025/"],
            False,
            "photos/index.html",
        )
        # ... and so does a start_after inside one.
        assert await ls(delimiter="/", start_after="photos/2024/jan/1.jpg", max_keys=2) == (
            ["trail "],
            ["z/"],
            True,
            "z/",
        )
        # % and _ are plain characters in a prefix (no LIKE).
        assert (await ls(prefix="a%"))[0] == ["a%", "a%b"]
        assert (await ls(prefix="_"))[0] == ["_", "_/_"]
        # A prefix ending in U+10FFFF (its successor drops that code point).
        assert await ls(prefix="a\U0010ffff", delimiter="/") == (
            ["a\U0010ffff"],
            ["a\U0010ffff/"],
            False,
            "a\U0010ffff/",
        )

    aio.run(body())


def test_list_objects_only_latest_live_versions(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        await put(metastore, "kept", version_id="1")
        await put(metastore, "kept", version_id="2")
        await put(metastore, "gone", version_id="1")
        await metastore.delete_object("bkt", "gone", now=NOW)
        await put(metastore, "dir/gone", version_id="1")
        await metastore.delete_object("bkt", "dir/gone", now=NOW)
        page = await metastore.list_objects("bkt", delimiter="/")
        assert [(o.key, o.version_id) for o in page.objects] == [("kept", "2")]
        assert page.common_prefixes == []  # a prefix holding only delete markers is empty
        with pytest.raises(S3Error) as exc:
            await metastore.list_objects("nope")
        assert s3_code(exc) is S3ErrorCode.NO_SUCH_BUCKET

    aio.run(body())


def test_list_objects_seeks_past_common_prefixes(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """1,000 keys under one common prefix cost one seek, not 1,000 rows (as many would show
    a scan as 5,000 did, at a fifth of PostgreSQL's fill time)."""
    if not hasattr(metastore, "last_listing"):
        pytest.skip("this store does not report listing costs")

    async def body() -> None:
        await make_bucket(metastore)
        await fill(metastore, [f"big/{i:05d}" for i in range(1000)])
        await fill(metastore, [f"big/sub/{i}" for i in range(100)])
        await fill(metastore, ["a", "big", "c/1", "c/2", "d"])
        page = await metastore.list_objects("bkt", delimiter="/")
        assert summary(page) == (["a", "big", "d"], ["big/", "c/"], False, "d")
        stats = metastore.last_listing
        assert stats.rows <= 10 and stats.queries <= 4, stats
        page = await metastore.list_objects("bkt", prefix="big/", delimiter="/", max_keys=3)
        assert summary(page) == (["big/00000", "big/00001", "big/00002"], [], True, "big/00002")
        assert metastore.last_listing.rows <= 4
        page = await metastore.list_objects(
            "bkt", prefix="big/", delimiter="/", start_after="big/00999"
        )
        assert summary(page) == ([], ["big/sub/"], False, "big/sub/")
        assert metastore.last_listing.rows <= 2

    aio.run(body())


def test_successor() -> None:
    assert successor("") is None
    assert successor("a") == "b"
    assert successor("a/") == "a0"
    assert successor("a\ud7ff") == "a\ue000"  # skips the surrogates
    assert successor("ab\U0010ffff") == "ac"
    assert successor("\U0010ffff\U0010ffff") is None
    for s in ["a", "a/", "x\U0010ffff", "\u00e9", "a\ud7ff"]:
        nxt = successor(s)
        assert nxt is not None and nxt.encode() > (s + "\U0010ffff" * 3).encode()


def test_walk_listing_fuzz() -> None:
    """The listing walk, fed as list_objects feeds it, over an in-memory index agrees with
    the reference on random trees."""
    rng = random.Random(7)
    alphabet = ["a", "b", "/", "%", "\u00e9", "\uffff", "\U0001f600", "\U0010ffff"]

    def word(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    for _ in range(1500):
        keys = sorted({word(rng.randint(1, 5)) for _ in range(rng.randint(0, 40))})
        prefix = word(rng.randint(0, 2))
        delimiter = rng.choice(["", "/", "/", "a", "//", "\U0010ffff"])
        start_after = rng.choice(["", word(rng.randint(1, 4)), *keys[:3]])
        max_keys = rng.choice([0, 1, 2, 3, 5, 100])

        def read(seek: Seek, after: str | None, n: int, keys: list[str] = keys) -> Tx[list[str]]:
            if after is not None:
                i = bisect.bisect_right(keys, after)
            else:
                find = bisect.bisect_left if seek.inclusive else bisect.bisect_right
                i = find(keys, seek.lower)
            batch = keys[i : i + n]
            yield from ()  # a body that needs no statement: the walk runs on the in-memory index
            return [k for k in batch if seek.upper is None or k < seek.upper]

        steps = listing_steps(
            lambda k: k,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
        )
        walk = feed(steps, read, first=2 if delimiter else None)
        with pytest.raises(StopIteration) as done:
            next(walk)
        got: Listing[str] = done.value.value
        expected = summary(
            reference_list(
                keys,
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                max_keys=max_keys,
            )
        )
        where = (keys, prefix, delimiter, start_after, max_keys)
        assert (got.rows, got.common_prefixes, got.is_truncated, got.next_marker) == expected, where


# -- SQLite only -----------------------------------------------------------------------------
def test_sqlite_listing_query_uses_latest_index(tmp_path: Path, aio: asyncio.Runner) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = SqliteMetaStore(path)
    aio.run(store.open())
    aio.run(store.close())
    with sqlite3.connect(path) as conn:
        sql = LIST_SQL + " AND key >= ? AND key < ? AND NOT is_delete_marker ORDER BY key LIMIT ?"
        plan = " ".join(
            r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("b", "a", "b", 9))
        )
        # Covering: the page is read from the index alone, no table lookups.
        assert "USING COVERING INDEX versions_listed (bucket=? AND key>? AND key<?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: rows come in index order
        conn.execute("ANALYZE")  # and with statistics, the same plan
        again = " ".join(
            r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("b", "a", "b", 9))
        )
        assert again == plan
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_sqlite_skip_scan_is_one_statement_on_the_covering_index(
    tmp_path: Path, aio: asyncio.Runner
) -> None:
    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))

    async def body() -> None:
        await store.open()
        try:
            await make_bucket(store)
            await fill(store, [f"d{i:02d}/f{j}" for i in range(50) for j in range(3)])
            page = await store.list_objects("bkt", delimiter="/")
            assert page.common_prefixes == [f"d{i:02d}/" for i in range(50)]
            # 50 seeks: a range read of 2 rows finds the first common prefix, then one
            # statement probes the rest.
            assert store.last_listing.queries == 2
            # A folder of files is read as a range, in doubling batches.
            await fill(store, [f"e/f{i:03d}" for i in range(500)])
            page = await store.list_objects("bkt", prefix="e/", delimiter="/")
            assert len(page.objects) == 500
            assert store.last_listing.queries <= 9 and store.last_listing.rows <= 510
        finally:
            await store.close()

    aio.run(body())
    with sqlite3.connect(str(tmp_path / "meta.sqlite3")) as conn:
        args = ("b", "a", 0, 1, "0", "/", 9, "z")
        plan = " ".join(
            r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + SKIP_SCAN_BOUNDED_SQL, args)
        )
        assert "USING COVERING INDEX versions_listed (bucket=? AND key>? AND key<?)" in plan, plan
        assert "SCAN versions" not in plan, plan


def test_sqlite_stores_sharing_one_file(tmp_path: Path, aio: asyncio.Runner) -> None:
    """Several processes (`serve --workers N`) share the file; here, several stores."""
    path = str(tmp_path / "shared.sqlite3")

    async def body() -> None:
        stores = [SqliteMetaStore(path) for _ in range(3)]
        await asyncio.gather(*(s.open() for s in stores))  # migrations applied once
        try:
            await make_bucket(stores[0])
            stored = await asyncio.gather(
                *(put(stores[i % 3], "hot", now=NOW + i) for i in range(30))
            )
            latest = [await s.get_object("bkt", "hot") for s in stores]
            assert latest[0] in stored and latest[0] == latest[1] == latest[2]
            replaced = {b for v in stored if v != latest[0] for b in blob_ids(v)}
            assert await garbage(stores[1]) == replaced
        finally:
            await asyncio.gather(*(s.close() for s in stores))

    aio.run(body())
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in load_migrations("sqlite")]


def test_sqlite_stores_opening_a_new_file_at_once(tmp_path: Path, aio: asyncio.Runner) -> None:
    """Workers starting together race to switch a new file to WAL; none of them fails."""

    async def body() -> None:
        for i in range(25):
            stores = [SqliteMetaStore(str(tmp_path / f"new{i}.sqlite3")) for _ in range(3)]
            await asyncio.gather(*(s.open() for s in stores))
            await asyncio.gather(*(s.close() for s in stores))

    aio.run(body())


def test_sqlite_lock_held_too_long_is_slow_down(tmp_path: Path, aio: asyncio.Runner) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = SqliteMetaStore(path, busy_timeout=0.2)

    async def body() -> None:
        await store.open()
        try:
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            with pytest.raises(S3Error) as exc:
                await store.create_user("u", now=NOW)
            assert s3_code(exc) is S3ErrorCode.SLOW_DOWN
            assert await store.get_user("u") is None  # WAL: readers do not wait
            other.execute("ROLLBACK")
            other.close()
            await store.create_user("u", now=NOW)
        finally:
            await store.close()

    aio.run(body())


def test_sqlite_close_after_queued_calls(tmp_path: Path, aio: asyncio.Runner) -> None:
    store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))

    async def body() -> None:
        await store.open()
        users = [store.create_user(f"u{i}", now=NOW) for i in range(20)]
        done = await asyncio.gather(*users, store.close())
        assert len(done) == 21
        with pytest.raises(RuntimeError, match="not open"):
            await store.get_user("u1")
        await store.close()  # idempotent

    aio.run(body())


def test_sqlite_refuses_newer_schema(tmp_path: Path, aio: asyncio.Runner) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = SqliteMetaStore(path)
    aio.run(store.open())
    aio.run(store.close())
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    with pytest.raises(RuntimeError, match="newer"):
        aio.run(SqliteMetaStore(path).open())


def test_split_statements() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (a TEXT DEFAULT 'x;y', "b;c" INTEGER);  -- trailing; comment
    INSERT INTO t VALUES ('it''s; fine', 1);

    ;
    """
    assert split_statements(sql) == [
        """CREATE TABLE t (a TEXT DEFAULT 'x;y', "b;c" INTEGER)""",
        "INSERT INTO t VALUES ('it''s; fine', 1)",
    ]
