"""An object's latest version as two processes sharing one database see it: a write made
through one store is what the other's next read returns, whatever it read (and, on
SQLite, cached: gateway/meta/version_cache.py) before. On every database (two stores on
one SQLite file or one PostgreSQL schema), plus SQLite-only cases: another real process,
a writer that died between its marks."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Segment
from gateway.meta.bucket_cache import Miss
from gateway.meta.sqlite import SqliteMetaStore
from tests.contract.test_metastore_bucket_cache_contract import Pair, pair, sqlite_pair
from tests.support.read_races import reads_never_go_back

__all__ = ["pair"]  # the fixture, parametrized over the databases

NOW = 1_700_000_000.0


def small(etag: str, data: bytes, *, key: str = "k") -> ObjectVersion:
    """A version whose bytes are held inline, as a small PUT stores them."""
    return ObjectVersion(
        "bkt",
        key,
        "null",
        NOW,
        size=len(data),
        etag=etag,
        owner="alice",
        segments=(Segment("", len(data), inline=True),),
        inline_data=data,
    )


async def read(store: MetaStore, key: str = "k") -> tuple[str, bytes | None] | None:
    found = await store.get_object("bkt", key)
    return None if found is None else (found.etag, found.inline_data)


def test_object_writes_are_seen_by_the_other_store(
    pair: Pair, tmp_path: Path, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with pair(tmp_path) as (reader, writer):
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            assert await read(reader) is None
            assert await read(reader) is None  # a missing key, cached on SQLite
            await writer.put_object(small("e1", b"one"))
            assert await read(reader) == ("e1", b"one")
            assert await read(reader) == ("e1", b"one")
            await writer.put_object(small("e2", b"two"))
            assert await read(reader) == ("e2", b"two")
            await writer.put_object_acl("bkt", "k", None, '{"grants":[]}')
            found = await reader.get_object("bkt", "k")
            assert found is not None and found.acl == '{"grants":[]}'
            await writer.delete_object("bkt", "k", now=NOW + 1)
            assert await read(reader) is None
            # The writer's own reads, after its own writes.
            await writer.put_object(small("e3", b"three"))
            assert await read(writer) == ("e3", b"three")
            await writer.delete_object("bkt", "k", now=NOW + 2)
            assert await read(writer) is None

    aio.run(body())


def test_reads_racing_writes_never_go_back(pair: Pair, tmp_path: Path, aio: asyncio.Runner) -> None:
    """Once an overwrite has returned, a read that starts after it, through either store,
    with no other write begun meanwhile, returns it."""

    async def body() -> None:
        async with pair(tmp_path) as (reader, writer):
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            await writer.put_object(small("e0", b"0"))

            async def etag(store: MetaStore) -> str:
                found = await read(store)
                assert found is not None
                return found[0]

            async def overwrite(i: int) -> str:
                await writer.put_object(small(f"e{i}", str(i).encode()))
                return f"e{i}"

            stores = (reader, writer)
            assert await reads_never_go_back(stores, etag, overwrite, writes=30, first="e0")

    aio.run(body())


# -- SQLite only: the write sequence (gateway/meta/version_cache.py) -------------------------
_OTHER_PROCESS = """
import asyncio, sys
from gateway.meta.base import ObjectVersion, Segment
from gateway.meta.sqlite import SqliteMetaStore

async def main():
    store = SqliteMetaStore(sys.argv[1])
    await store.open()
    try:
        await store.put_object(ObjectVersion(
            "bkt", "k", "null", 1.0, size=5, etag="other", owner="alice",
            segments=(Segment("", 5, inline=True),), inline_data=b"other",
        ))
    finally:
        await store.close()

asyncio.run(main())
"""


def test_sqlite_write_by_another_process(tmp_path: Path, aio: asyncio.Runner) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = SqliteMetaStore(path)

    async def before() -> None:
        await store.open()
        await store.create_bucket(Bucket("bkt", "alice", NOW))
        await store.put_object(small("mine", b"mine"))
        assert await read(store) == ("mine", b"mine")  # cached

    async def after() -> None:
        try:
            assert await read(store) == ("other", b"other")
        finally:
            await store.close()

    aio.run(before())
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, path], check=True, timeout=60)
    aio.run(after())


def test_sqlite_a_writer_that_died_between_its_marks(tmp_path: Path, aio: asyncio.Runner) -> None:
    """A process killed inside its write transaction leaves the sequence odd: the others
    read the store, caching nothing, until the next write of any process."""

    async def body() -> None:
        async with sqlite_pair(tmp_path) as (reader, writer):
            assert isinstance(reader, SqliteMetaStore) and isinstance(writer, SqliteMetaStore)
            await writer.create_bucket(Bucket("bkt", "alice", NOW))
            await writer.put_object(small("e1", b"one"))
            assert await read(reader) == ("e1", b"one")
            writer.generation.begin_write()  # ... and the process dies: no end_write
            assert reader.generation.writes() % 2 == 1
            assert await read(reader) == ("e1", b"one")  # from the store, not cached
            assert reader.versions.lookup(("bkt", "k")) == Miss(None)
            await writer.put_object(small("e2", b"two"))  # the next writer heals it
            assert reader.generation.writes() % 2 == 0
            assert await read(reader) == ("e2", b"two")
            assert await read(reader) == ("e2", b"two")

    aio.run(body())
