"""What buckets say (records, configuration documents, quotas) as two processes sharing one
database see it: a change made through one store is what the other's next read returns,
whatever it read (and, on SQLite, cached: gateway/meta/bucket_cache.py) before. On every
database (two stores on one SQLite file or one PostgreSQL schema), plus SQLite-only cases:
another real process, a cancelled write."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from gateway.meta.base import Bucket, MetaStore
from gateway.meta.postgres import PostgresMetaStore
from gateway.meta.sqlite import SqliteMetaStore
from tests.support.postgres import fresh_schema
from tests.support.read_races import reads_never_go_back

NOW = 1_700_000_000.0
Pair = Callable[[Path], AbstractAsyncContextManager[tuple[MetaStore, MetaStore]]]


@asynccontextmanager
async def _opened(a: MetaStore, b: MetaStore) -> AsyncIterator[tuple[MetaStore, MetaStore]]:
    await a.open()
    try:
        await b.open()
        try:
            yield a, b
        finally:
            await b.close()
    finally:
        await a.close()


@asynccontextmanager
async def sqlite_pair(tmp_path: Path) -> AsyncIterator[tuple[MetaStore, MetaStore]]:
    path = str(tmp_path / "meta.sqlite3")
    async with _opened(SqliteMetaStore(path), SqliteMetaStore(path)) as pair:
        yield pair


@asynccontextmanager
async def postgres_pair(tmp_path: Path) -> AsyncIterator[tuple[MetaStore, MetaStore]]:
    async with fresh_schema() as dsn:
        a, b = PostgresMetaStore(dsn, pool_min=1), PostgresMetaStore(dsn, pool_min=1)
        async with _opened(a, b) as pair:
            yield pair


PAIRS: dict[str, Pair] = {"sqlite": sqlite_pair, "postgres": postgres_pair}


@pytest.fixture(params=list(PAIRS))
def pair(request: pytest.FixtureRequest) -> Pair:
    return PAIRS[request.param]


def test_bucket_changes_are_seen_by_the_other_store(
    pair: Pair, tmp_path: Path, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (reader, writer):
            assert await reader.get_bucket("bkt") is None
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            assert await reader.get_bucket("bkt") == Bucket("bkt", "alice", NOW)
            assert await reader.get_bucket("bkt") == Bucket("bkt", "alice", NOW)
            await writer.put_bucket_versioning("bkt", "Enabled")
            assert (await reader.get_bucket("bkt")) == Bucket(
                "bkt", "alice", NOW, versioning="Enabled"
            )
            await writer.enable_object_lock("bkt")
            found = await reader.get_bucket("bkt")
            assert found is not None and found.object_lock
            other = Bucket("other", "alice", NOW)
            await writer.create_bucket(other)
            await writer.delete_bucket("other")
            assert await reader.get_bucket("other") is None
            await writer.create_bucket(Bucket("other", "bob", NOW + 1))  # recreated elsewhere
            assert await reader.get_bucket("other") == Bucket("other", "bob", NOW + 1)

    aio.run(body())


def test_configs_and_quotas_are_seen_by_the_other_store(
    pair: Pair, tmp_path: Path, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (reader, writer):
            await writer.create_user("alice", now=NOW)
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            assert await reader.get_bucket_config("bkt", "compression") is None
            await writer.put_bucket_config("bkt", "compression", "on")
            assert await reader.get_bucket_config("bkt", "compression") == "on"
            await writer.put_bucket_config("bkt", "compression", None)
            assert await reader.get_bucket_config("bkt", "compression") is None
            await writer.put_bucket_config("bkt", "encryption", '{"a": 1}')
            await writer.delete_bucket("bkt")  # its documents go with it
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            assert await reader.get_bucket_config("bkt", "encryption") is None

            assert await reader.quota_uses("bkt") == []
            await writer.set_quota("bucket", "bkt", 100, None)
            assert [u.quota.max_bytes for u in await reader.quota_uses("bkt")] == [100]
            await writer.clear_quota("bucket", "bkt")
            assert await reader.quota_uses("bkt") == []
            await writer.set_quota("account", "alice", None, 5)
            assert [u.quota.max_objects for u in await reader.quota_uses("bkt")] == [5]

    aio.run(body())


def test_own_changes_are_seen_at_once(pair: Pair, tmp_path: Path, aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (store, _):
            await store.create_bucket(Bucket("bkt", "alice", NOW))
            assert await store.get_bucket("bkt") == Bucket("bkt", "alice", NOW)
            await store.put_bucket_versioning("bkt", "Suspended")
            found = await store.get_bucket("bkt")
            assert found is not None and found.versioning == "Suspended"
            await store.delete_bucket("bkt")
            assert await store.get_bucket("bkt") is None

    aio.run(body())


def test_reads_racing_writes_never_go_back(pair: Pair, tmp_path: Path, aio: asyncio.Runner) -> None:
    """Once a versioning change has returned, a read that starts after it, through either
    store, with no other change begun meanwhile, returns it."""

    async def body() -> None:
        async with pair(tmp_path) as (reader, writer):
            await writer.create_bucket(Bucket("bkt", "alice", NOW))

            async def versioning(store: MetaStore) -> str:
                found = await store.get_bucket("bkt")
                assert found is not None
                return found.versioning or ""

            async def change(i: int) -> str:
                new = "Enabled" if i % 2 else "Suspended"
                await writer.put_bucket_versioning("bkt", new)
                return new

            stores = (reader, writer)
            assert await reads_never_go_back(stores, versioning, change, writes=20, first="")

    aio.run(body())


# -- SQLite only: the generation file (gateway/meta/bucket_cache.py) --------------------------
_OTHER_PROCESS = """
import asyncio, sys
from gateway.meta.sqlite import SqliteMetaStore

async def main():
    store = SqliteMetaStore(sys.argv[1])
    await store.open()
    try:
        await store.put_bucket_versioning("bkt", "Enabled")
    finally:
        await store.close()

asyncio.run(main())
"""


def test_sqlite_change_by_another_process(tmp_path: Path, aio: asyncio.Runner) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = SqliteMetaStore(path)

    async def before() -> None:
        await store.open()
        await store.create_bucket(Bucket("bkt", "alice", NOW))
        assert await store.get_bucket("bkt") == Bucket("bkt", "alice", NOW)  # cached

    async def after() -> None:
        try:
            found = await store.get_bucket("bkt")
            assert found is not None and found.versioning == "Enabled"
        finally:
            await store.close()

    aio.run(before())
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, path], check=True, timeout=60)
    aio.run(after())


def test_sqlite_cancelled_write_releases_once_done(tmp_path: Path, aio: asyncio.Runner) -> None:
    """A bucket write whose request is cancelled still finishes, and only then lets the
    other processes cache again."""

    async def body() -> None:
        async with sqlite_pair(tmp_path) as (reader, writer):
            assert isinstance(writer, SqliteMetaStore)
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            assert await reader.get_bucket("bkt") is not None
            task = asyncio.create_task(writer.put_bucket_versioning("bkt", "Enabled"))
            await asyncio.sleep(0)  # the write is on its way
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(200):  # the shielded write finishes by itself
                if writer.generation.current() is not None:
                    break
                await asyncio.sleep(0.01)
            assert writer.generation.current() is not None
            found = await reader.get_bucket("bkt")
            assert found is not None and found.versioning == "Enabled"

    aio.run(body())
