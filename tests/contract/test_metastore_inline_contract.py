"""Small objects stored inline in their version rows (migration 0018, gateway/writepath.py)
against every METASTORE_FACTORIES entry: get_object returns the bytes, listings do not
carry them, versions keep their own, removal leaves no blob behind, usage counts them;
and on SQLite, concurrent writes share commits (gateway/meta/group_commit.py)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import pytest

from gateway.errors import S3Error
from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Precondition, Segment
from gateway.meta.sqlite import SqliteDatabase, SqliteMetaStore

NOW = 1_700_000_000.0


def inline_version(key: str, data: bytes, *, version_id: str | None = None) -> ObjectVersion:
    return ObjectVersion(
        bucket="bkt",
        key=key,
        version_id=version_id or secrets.token_hex(16),
        last_modified=NOW,
        size=len(data),
        etag=secrets.token_hex(16),
        owner="alice",
        segments=(Segment("", len(data), inline=True),),
        inline_data=data,
    )


async def usage_of(store: MetaStore) -> tuple[int, int]:
    found = [(u.objects, u.bytes) for u in await store.bucket_usage() if u.bucket == "bkt"]
    return found[0] if found else (0, 0)


async def no_blobs_anywhere(store: MetaStore) -> bool:
    collectable = await store.collectable_blobs(garbage_before=NOW + 1e9, pending_before=NOW + 1e9)
    return collectable == [] and await store.referenced_blobs() == []


def test_inline_object_put_get_list_delete(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await metastore.create_bucket(Bucket("bkt", "alice", NOW))
        data = os.urandom(4096)
        saved = await metastore.put_object(inline_version("k", data))
        got = await metastore.get_object("bkt", "k")
        assert got is not None and got.inline_data == data
        assert got.segments == (Segment("", 4096, inline=True),)
        assert (await metastore.get_object("bkt", "k", saved.version_id)) == got
        page = await metastore.list_objects("bkt")
        # A listing row (ListedObject) has no field for the bytes at all.
        assert [(o.key, o.size) for o in page.objects] == [("k", 4096)]
        assert await usage_of(metastore) == (1, 4096)
        # An overwrite replaces the bytes with the row; a conditional one sees its ETag.
        again = os.urandom(100)
        await metastore.put_object(inline_version("k", again), Precondition(if_match=saved.etag))
        got = await metastore.get_object("bkt", "k")
        assert got is not None and got.inline_data == again
        with pytest.raises(S3Error):
            await metastore.put_object(inline_version("k", data), Precondition(if_match="nope"))
        await metastore.delete_object("bkt", "k", now=NOW)
        assert await metastore.get_object("bkt", "k") is None
        assert await no_blobs_anywhere(metastore)
        assert await usage_of(metastore) == (0, 0)

    aio.run(body())


def test_inline_versions_keep_their_own_bytes(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await metastore.create_bucket(Bucket("bkt", "alice", NOW, versioning="Enabled"))
        first, second = b"first" * 100, b"second" * 100
        v1 = await metastore.put_object(inline_version("k", first))
        v2 = await metastore.put_object(inline_version("k", second))
        older = await metastore.get_object("bkt", "k", v1.version_id)
        latest = await metastore.get_object("bkt", "k")
        assert older is not None and older.inline_data == first
        assert latest is not None and latest.inline_data == second
        assert latest.version_id == v2.version_id
        await metastore.delete_version("bkt", "k", v2.version_id, now=NOW)
        latest = await metastore.get_object("bkt", "k")
        assert latest is not None and latest.inline_data == first
        await metastore.delete_version("bkt", "k", v1.version_id, now=NOW)
        assert await no_blobs_anywhere(metastore)

    aio.run(body())


def test_sqlite_concurrent_writes_share_commits(tmp_path: Path, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
        await store.open()
        try:
            await store.create_bucket(Bucket("bkt", "alice", NOW))
            assert isinstance(store.db, SqliteDatabase)
            committer = store.db._committer
            assert committer is not None
            before = committer.batches
            datas = [os.urandom(1000 + i) for i in range(50)]
            good = [store.put_object(inline_version(f"k{i}", d)) for i, d in enumerate(datas)]
            # One body failing in the middle of a batch fails alone.
            bad = store.put_object(inline_version("k0", b"x"), Precondition(if_match="nope"))
            results = await asyncio.gather(*good[:25], bad, *good[25:], return_exceptions=True)
            assert isinstance(results[25], S3Error)
            assert not any(isinstance(r, BaseException) for i, r in enumerate(results) if i != 25)
            assert committer.batches - before < 51  # some commits were shared
            for i, d in enumerate(datas):
                got = await store.get_object("bkt", f"k{i}")
                assert got is not None and got.inline_data == d
        finally:
            await store.close()

    aio.run(body())
