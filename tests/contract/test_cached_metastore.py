"""The Redis cache (gateway/meta/cached.py, redis_cache.py): two "replicas" (two
CachedMetaStore on one PostgreSQL schema and one Redis) must never read what the other
replaced, whatever Redis does. The whole MetaStore contract also runs through the cache
(METASTORE_FACTORIES["postgres+redis"]); these tests are about coherence and failures.

Redis here is a private redis-server per test (RedisServer), so tests can kill, flush and
restart it. Leases are short (1 s) to keep the failure tests quick.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import redis

from gateway.meta.base import AccessKey, Bucket, ObjectVersion
from gateway.meta.cached import CachedMetaStore, object_entry
from gateway.meta.postgres import PostgresMetaStore
from gateway.meta.redis_cache import Miss, RedisCoherence, split_redis_url
from tests.support.postgres import fresh_schema
from tests.support.redis import RedisServer

NOW = 1_700_000_000.0
LEASE = 1.0
TIMEOUT = 0.3


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def cached_store(
    dsn: str, url: str, *, lease: float = LEASE, dead_after: float = 60.0
) -> CachedMetaStore:
    cache = RedisCoherence(url, timeout=TIMEOUT, lease=lease, dead_after=dead_after)
    return CachedMetaStore(PostgresMetaStore(dsn, pool_min=1), cache)


@asynccontextmanager
async def replicas(
    url: str, n: int = 2, *, lease: float = LEASE
) -> AsyncIterator[list[CachedMetaStore]]:
    async with fresh_schema() as dsn:
        stores = [cached_store(dsn, url, lease=lease, dead_after=30.0) for _ in range(n)]
        for s in stores:
            await s.open()
        try:
            await stores[0].create_bucket(Bucket("bkt", "alice", NOW))
            yield stores
        finally:
            for s in stores:
                await s.close()


async def put(store: CachedMetaStore, key: str, etag: str) -> ObjectVersion:
    return await store.put_object(ObjectVersion("bkt", key, "v", NOW, etag=etag))


async def etag(store: CachedMetaStore, key: str) -> str | None:
    v = await store.get_object("bkt", key)
    return None if v is None else v.etag


def healthy(*stores: CachedMetaStore) -> bool:
    return all(s.cache.healthy for s in stores)


def cut_off(store: CachedMetaStore) -> None:
    """From now on `store` talks to a Redis port nobody listens on (the others do not)."""
    cache = store.cache
    cache._client = redis.asyncio.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
    for name in list(cache._scripts):
        cache._scripts[name] = cache._client.register_script(cache._scripts[name].script)


def test_split_redis_url() -> None:
    assert split_redis_url("redis://h:6379/2?prefix=prod&db=2") == ("redis://h:6379/2?db=2", "prod")
    assert split_redis_url("redis://h") == ("redis://h", "kv")


def test_reads_are_cached_and_writes_reach_every_replica(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await put(a, "k", "v1")
            assert await etag(b, "k") == "v1"  # b fills the entry
            # Behind the cache's back (not through a wrapper): b still answers from Redis.
            await b.inner.put_object(ObjectVersion("bkt", "k", "v", NOW, etag="sneaky"))
            assert await etag(b, "k") == "v1"
            # Through a: every replica sees the write as soon as it is acknowledged.
            await put(a, "k", "v2")
            assert await etag(b, "k") == "v2"
            await a.delete_object("bkt", "k", now=NOW)
            assert await b.get_object("bkt", "k") is None
            assert await etag(a, "k") is None
            # Negative entries are cached and invalidated the same way.
            await put(b, "k", "v3")
            assert await etag(a, "k") == "v3"
            # Buckets and access keys.
            assert (await b.get_bucket("bkt")) is not None
            await a.create_bucket(Bucket("other", "bob", NOW))
            assert (await b.get_bucket("other")) == Bucket("other", "bob", NOW)
            await a.delete_bucket("other")
            assert await b.get_bucket("other") is None
            await a.create_user("u", now=NOW)
            assert await b.get_access_key("AK1") is None
            key = await a.create_access_key("u", "AK1", "s", now=NOW)
            assert await b.get_access_key("AK1") == key
            await a.delete_access_key("AK1")
            assert await b.get_access_key("AK1") is None
            await a.create_access_key("u", "AK2", "s", now=NOW)
            assert await b.get_access_key("AK2") is not None
            await a.delete_user("u")  # cannot name the user's keys: voids every entry
            assert await b.get_access_key("AK2") is None

    aio.run(body())


def test_slow_reader_cannot_refill_a_replaced_value(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    """The compare-and-set fill: a read of the store that predates a write stores nothing."""

    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await put(a, "k", "v1")
            entry = object_entry("bkt", "k")
            miss = await b.cache.read(entry)
            assert isinstance(miss, Miss)
            old = await b.inner.get_object("bkt", "k")  # b reads v1 ... and stalls
            await put(a, "k", "v2")  # a writes and acknowledges meanwhile
            assert old is not None
            await b.cache.fill(miss, '{"stale": true}')  # b wakes up: refused
            raw = redis.Redis.from_url(redis_server.url)
            assert raw.get(b.cache.prefix + "v:" + entry) is None
            assert await etag(b, "k") == "v2"
            assert await etag(a, "k") == "v2"

    aio.run(body())


def test_concurrent_writers_and_readers_never_go_back(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    """Once a write is acknowledged, no replica reads an older value of that key."""

    async def body() -> None:
        async with replicas(redis_server.url, 3) as stores:
            acked = 0

            async def writer() -> None:
                nonlocal acked
                for i in range(1, 60):
                    await put(stores[i % 3], "hot", str(i))
                    acked = i

            async def reader(store: CachedMetaStore) -> None:
                while acked < 59:
                    floor = acked
                    got = await etag(store, "hot")
                    assert got is not None and int(got) >= floor, (got, floor)
                    await asyncio.sleep(0)

            await put(stores[0], "hot", "0")
            await asyncio.gather(writer(), *(reader(s) for s in stores for _ in range(2)))

    aio.run(body())


def test_redis_down_falls_back_and_comes_back_coherent(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await put(a, "k", "v1")
            assert await etag(b, "k") == "v1"
            redis_server.kill()
            # Reads fall through to the store; the first error costs at most the timeout.
            started = time.monotonic()
            assert await etag(b, "k") == "v1"
            assert time.monotonic() - started < TIMEOUT + 0.5
            assert not b.cache.healthy
            # Writes still succeed (held until their lease lapsed, at most once).
            await put(a, "k", "v2")
            assert await etag(b, "k") == "v2"
            started = time.monotonic()
            for i in range(5):
                await put(a, "k", f"down{i}")
            assert time.monotonic() - started < 2.0  # no Redis wait per request once down
            redis_server.start()
            deadline = time.monotonic() + 10
            while not healthy(a, b) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert healthy(a, b)
            assert await etag(b, "k") == "down4"
            await put(a, "k", "v3")
            assert await etag(b, "k") == "v3"

    aio.run(body())


def test_flushed_redis_is_only_misses(redis_server: RedisServer, aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await put(a, "k", "v1")
            assert await etag(b, "k") == "v1"
            redis.Redis.from_url(redis_server.url).flushall()
            assert await etag(b, "k") == "v1"
            await put(a, "k", "v2")
            assert await etag(b, "k") == "v2"
            await asyncio.sleep(LEASE)  # the heartbeat rejoins
            assert healthy(a, b)
            assert await etag(b, "k") == "v2"

    aio.run(body())


def test_restart_restoring_an_old_snapshot_is_caught(aio: asyncio.Runner) -> None:
    """A Redis that comes back with old data (persistence on, against the advice) has a
    new run_id: every replica notices on its first new connection and stops trusting it."""

    class PersistentRedis(RedisServer):
        def command(self) -> list[str]:
            cmd = list(super().command())
            cmd[cmd.index("--save") + 1] = "3600 1"
            return cmd

    with PersistentRedis() as server:

        async def body() -> None:
            # Long leases: the leases in the snapshot still look alive after the restart.
            async with replicas(server.url, lease=30.0) as (a, b):
                await put(a, "k", "v1")
                assert await etag(b, "k") == "v1"  # cached in Redis
                redis.Redis.from_url(server.url).save()  # snapshot holds v1 as valid
                await put(a, "k", "v2")
                server.kill()
                server.start()  # loads the snapshot: v1, its epoch, live-looking leases
                # b sees no error at all: its pooled connection was closed meanwhile, so
                # its next call opens a new one (a finds its old one dead: an error).
                assert b.cache._client is not None
                await b.cache._client.connection_pool.disconnect()
                for store in (b, a):
                    assert await etag(store, "k") == "v2"
                    assert not store.cache.healthy  # until the heartbeat rejoins

        aio.run(body())


def test_writer_cut_off_from_redis_is_not_read_stale(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    """a loses Redis (others keep it): a's write waits for a's lease to lapse, and b, which
    had the old value cached, bypasses the cache from then on."""

    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await put(a, "k", "v1")
            assert await etag(b, "k") == "v1"
            cut_off(a)
            started = time.monotonic()
            await put(a, "k", "v2")
            held = time.monotonic() - started
            assert held >= 0.5, held  # held until a's lease lapsed
            assert await etag(b, "k") == "v2"
            assert await b.cache.read(object_entry("bkt", "k")) is None  # bypassing

    aio.run(body())


def test_dead_replica_is_dropped_after_dead_after(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with fresh_schema() as dsn:
            url = redis_server.url
            a, b = (cached_store(dsn, url, dead_after=1.0) for _ in range(2))
            await a.open()
            await b.open()
            try:
                await a.create_bucket(Bucket("bkt", "alice", NOW))
                await put(a, "k", "v1")
                assert await etag(b, "k") == "v1"
                assert isinstance(await b.cache.read(object_entry("bkt", "k")), str)
                # a dies without leaving: its heartbeat stops, its lease expires.
                assert a.cache._task is not None
                a.cache._task.cancel()
                await asyncio.sleep(LEASE + 0.2)
                assert await b.cache.read(object_entry("bkt", "k")) is None  # bypass
                await asyncio.sleep(1.0 + LEASE)  # dead_after: b's heartbeat drops a
                assert await etag(b, "k") == "v1"
                assert isinstance(await b.cache.read(object_entry("bkt", "k")), str)
            finally:
                await b.close()
                a.cache.healthy = False
                await a.close()

    aio.run(body())


def test_credentials_cached_with_secret_round_trip(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await a.create_user("u", is_root=True, now=NOW)
            secret = secrets.token_urlsafe(30)
            await a.create_access_key("u", "AKX", secret, now=NOW)
            for _ in range(2):  # the miss, then the hit
                assert await b.get_access_key("AKX") == AccessKey("AKX", secret, "u", NOW, True)

    aio.run(body())


def test_replica_that_never_joins_is_not_read_stale(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    """c cannot reach Redis from the start (never a member): the roster in the database
    makes a and b stop trusting the cache before c serves its first write."""

    async def body() -> None:
        async with replicas(redis_server.url) as (a, b):
            await put(a, "k", "v1")
            assert await etag(b, "k") == "v1"
            assert isinstance(await b.cache.read(object_entry("bkt", "k")), str)  # cached
            dsn = a.inner.config.dsn  # type: ignore[attr-defined]  # the same database
            c = cached_store(dsn, "redis://127.0.0.1:1/0")
            started = time.monotonic()
            await c.open()  # waits out the others' trust window
            try:
                assert time.monotonic() - started >= c.cache.trust_window
                await put(c, "k", "v2")
                for store in (a, b):
                    assert await etag(store, "k") == "v2"
            finally:
                await c.close()
            await asyncio.sleep(LEASE)  # c left the roster: the cache is trusted again
            assert await etag(b, "k") == "v2"
            assert isinstance(await b.cache.read(object_entry("bkt", "k")), str)

    aio.run(body())


def test_replica_cut_off_longer_than_dead_after_is_not_read_stale(
    redis_server: RedisServer, aio: asyncio.Runner
) -> None:
    """Redis drops a member after dead_after; the roster still knows it is alive."""

    async def body() -> None:
        async with fresh_schema() as dsn:
            url = redis_server.url
            a, b = (cached_store(dsn, url, dead_after=1.5) for _ in range(2))
            await a.open()
            await b.open()
            try:
                await a.create_bucket(Bucket("bkt", "alice", NOW))
                await put(a, "k", "v1")
                assert await etag(b, "k") == "v1"
                cut_off(a)
                await asyncio.sleep(1.5 + 2 * LEASE)  # a is dropped from Redis's members
                await put(a, "k", "v2")
                assert await etag(b, "k") == "v2"
            finally:
                await b.close()
                await a.close()

    aio.run(body())
