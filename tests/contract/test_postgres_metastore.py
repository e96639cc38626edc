"""PostgreSQL-only MetaStore tests: what several replicas sharing one database must get right.

The shared contract (test_metastore_contract.py) runs on PostgreSQL through the `metastore`
fixture; here several PostgresMetaStore instances (several pools: one per "replica") work
on one schema at once, and the PostgreSQL-specific pieces (URL parameters, migrations
under concurrency, the seek walk's query plan, the leader lock) are checked directly.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.jobs.leader import SingletonTask
from gateway.meta import sql
from gateway.meta.base import Bucket, ObjectVersion, Precondition, Segment
from gateway.meta.migrations import load_migrations
from gateway.meta.postgres import PostgresMetaStore, parse_postgres_url
from gateway.meta.postgres_listing import SKIP_SCAN_BOUNDED_SQL
from tests.contract.test_metastore_contract import reference_list, summary
from tests.support.postgres import fresh_schema, with_params

NOW = 1_700_000_000.0
REPLICAS = 3


@asynccontextmanager
async def replicas(n: int = REPLICAS, **kwargs: object) -> AsyncIterator[list[PostgresMetaStore]]:
    """`n` stores on one fresh schema, opened concurrently (migrations race)."""
    async with fresh_schema() as dsn:
        stores = [PostgresMetaStore(dsn, pool_min=1, **kwargs) for _ in range(n)]  # type: ignore[arg-type]
        await asyncio.gather(*(s.open() for s in stores))
        try:
            yield stores
        finally:
            await asyncio.gather(*(s.close() for s in stores))


async def put(store: PostgresMetaStore, key: str, etag: str, **kw: object) -> ObjectVersion:
    blob_id = secrets.token_hex(16)
    await store.add_pending_blob(blob_id, now=NOW)
    version = ObjectVersion(
        "bkt", key, secrets.token_hex(8), NOW, size=1, etag=etag, segments=(Segment(blob_id, 1),)
    )
    return await store.put_object(version, **kw)  # type: ignore[arg-type]


async def garbage(store: PostgresMetaStore) -> set[str]:
    return set(await store.collectable_blobs(garbage_before=1e12, pending_before=0))


def test_parse_postgres_url() -> None:
    c = parse_postgres_url(
        "postgresql://u:p@db:6432/kv?pool_min=1&pool_max=4&statement_cache_size=0&sslmode=require"
    )
    assert (c.pool_min, c.pool_max, c.statement_cache_size) == (1, 4, 0)
    assert c.dsn == "postgresql://u:p@db:6432/kv?sslmode=require"
    d = parse_postgres_url("postgresql://db/kv?pool_max=3", pool_min=0, pool_max=5)
    assert (d.pool_min, d.pool_max, d.statement_cache_size, d.dsn) == (
        0,
        5,
        None,
        "postgresql://db/kv",
    )
    for bad in ("postgresql://db/kv?pool_min=x", "postgresql://db/kv?pool_min=5&pool_max=2"):
        with pytest.raises(ValueError):
            parse_postgres_url(bad)


def test_replicas_open_at_once_apply_migrations_once(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with replicas(6) as stores:
            rows = await stores[0].db.read(
                sql.rows, "SELECT version FROM schema_migrations ORDER BY version"
            )
            assert [r["version"] for r in rows] == [m.version for m in load_migrations("postgres")]

    aio.run(body())


def test_refuses_newer_schema(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with fresh_schema() as dsn:
            store = PostgresMetaStore(dsn, pool_min=1)
            await store.open()
            await store.db.write(
                sql.execute, "INSERT INTO schema_migrations VALUES (9999, 'future', 0)"
            )
            await store.close()
            with pytest.raises(RuntimeError, match="newer"):
                await PostgresMetaStore(dsn, pool_min=1).open()

    aio.run(body())


def test_statement_cache_off_for_pgbouncer(aio: asyncio.Runner) -> None:
    """?statement_cache_size=0: no named prepared statements, still a working store."""

    async def body() -> None:
        async with fresh_schema() as dsn:
            store = PostgresMetaStore(with_params(dsn, statement_cache_size="0"), pool_min=1)
            await store.open()
            try:
                assert store.config.statement_cache_size == 0
                await store.create_bucket(Bucket("bkt", "alice", NOW))
                stored = await put(store, "k", "e1")
                assert await store.get_object("bkt", "k") == stored
                page = await store.list_objects("bkt", delimiter="/")
                assert [o.key for o in page.objects] == ["k"]
            finally:
                await store.close()

    aio.run(body())


@pytest.mark.parametrize("versioning", [None, "Enabled"])
def test_concurrent_puts_from_replicas_one_wins(
    aio: asyncio.Runner, versioning: str | None
) -> None:
    """Many PUTs of one key through several pools: one latest, every replaced blob garbage."""

    async def body() -> None:
        async with replicas() as stores:
            await stores[0].create_bucket(Bucket("bkt", "alice", NOW, versioning=versioning))
            stored = await asyncio.gather(
                *(put(stores[i % REPLICAS], "hot", f"e{i}") for i in range(30))
            )
            latest = [await s.get_object("bkt", "hot") for s in stores]
            assert latest[0] in stored and latest[0] == latest[1] == latest[2]
            rows = await stores[1].db.read(
                sql.rows, "SELECT is_latest FROM versions WHERE key = 'hot'"
            )
            assert sum(r["is_latest"] for r in rows) == 1
            if versioning is None:
                assert len(rows) == 1
                replaced = {s.blob_id for v in stored if v != latest[0] for s in v.segments}
                assert await garbage(stores[2]) == replaced
            else:
                assert len(rows) == 30 and await garbage(stores[2]) == set()

    aio.run(body())


def test_conditional_puts_have_no_lost_update(aio: asyncio.Runner) -> None:
    """Read-modify-write with If-Match from several replicas: each success extends the chain."""

    async def body() -> None:
        async with replicas() as stores:
            await stores[0].create_bucket(Bucket("bkt", "alice", NOW))
            await put(stores[0], "counter", "0")
            successes = 0

            async def bump(store: PostgresMetaStore) -> None:
                nonlocal successes
                for _ in range(15):
                    current = await store.get_object("bkt", "counter")
                    assert current is not None
                    try:
                        await put(
                            store,
                            "counter",
                            str(int(current.etag) + 1),
                            precondition=Precondition(if_match=current.etag),
                        )
                    except S3Error as exc:
                        assert exc.code is S3ErrorCode.PRECONDITION_FAILED
                    else:
                        successes += 1

            await asyncio.gather(*(bump(stores[i % REPLICAS]) for i in range(6)))
            final = await stores[1].get_object("bkt", "counter")
            assert final is not None and int(final.etag) == successes > 0

    aio.run(body())


def test_create_bucket_race(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with replicas() as stores:
            for round_ in range(5):
                name = f"race{round_}"
                owners = ["alice", "alice", "bob", "alice", "bob", "bob"]
                results = await asyncio.gather(
                    *(
                        stores[i % REPLICAS].create_bucket(Bucket(name, owner, NOW))
                        for i, owner in enumerate(owners)
                    ),
                    return_exceptions=True,
                )
                winners = [i for i, r in enumerate(results) if r is None]
                assert len(winners) == 1, results
                winner = owners[winners[0]]
                for owner, r in zip(owners, results, strict=True):
                    if r is None:
                        continue
                    assert isinstance(r, S3Error), r
                    expected = (
                        S3ErrorCode.BUCKET_ALREADY_OWNED_BY_YOU
                        if owner == winner
                        else S3ErrorCode.BUCKET_ALREADY_EXISTS
                    )
                    assert r.code is expected

    aio.run(body())


def test_delete_bucket_racing_put_never_leaves_an_orphan(aio: asyncio.Runner) -> None:
    """DeleteBucket vs PutObject on two replicas: BucketNotEmpty or NoSuchBucket, never both OK."""

    async def body() -> None:
        async with replicas(2) as (a, b):
            outcomes: set[str] = set()
            for round_ in range(40):
                await a.create_bucket(Bucket("bkt", "alice", NOW))
                put_result, delete_result = await asyncio.gather(
                    put(a, f"k{round_}", "e"), b.delete_bucket("bkt"), return_exceptions=True
                )
                put_ok = isinstance(put_result, ObjectVersion)
                delete_ok = delete_result is None
                assert put_ok != delete_ok, (put_result, delete_result)
                failed = delete_result if put_ok else put_result
                assert isinstance(failed, S3Error), failed
                expected = S3ErrorCode.BUCKET_NOT_EMPTY if put_ok else S3ErrorCode.NO_SUCH_BUCKET
                assert failed.code is expected
                outcomes.add(("put", "delete")[delete_ok])
                orphans = await a.db.read(
                    sql.value,
                    "SELECT count(*) FROM versions v"
                    " WHERE NOT EXISTS (SELECT 1 FROM buckets b WHERE b.name = v.bucket)",
                )
                assert orphans == 0
                if put_ok:
                    await a.delete_object("bkt", f"k{round_}", now=NOW)
                    await a.delete_bucket("bkt")
            print("outcomes seen:", outcomes)

    aio.run(body())


def test_list_objects_delimiter_without_skip_scan(aio: asyncio.Runner) -> None:
    """A delimiter ending in U+10FFFF has no one-character successor: range queries instead."""
    keys = ["a", "a\U0010ffffb", "a\U0010ffffc\U0010ffffd", "b\U0010ffff", "b\U0010ffffz", "c"]

    async def body() -> None:
        async with replicas(1) as (store,):
            await store.create_bucket(Bucket("bkt", "alice", NOW))
            for key in keys:
                await store.put_object(ObjectVersion("bkt", key, "v", NOW, etag="e"))
            for delimiter in ["\U0010ffff", "c\U0010ffff"]:
                for max_keys in (1, 2, 100):
                    marker = ""
                    while True:
                        page = await store.list_objects(
                            "bkt", delimiter=delimiter, start_after=marker, max_keys=max_keys
                        )
                        expected = reference_list(
                            keys,
                            prefix="",
                            delimiter=delimiter,
                            start_after=marker,
                            max_keys=max_keys,
                        )
                        assert summary(page) == summary(expected), (delimiter, max_keys, marker)
                        if not page.is_truncated:
                            break
                        assert page.next_marker is not None
                        marker = page.next_marker

    aio.run(body())


def test_skip_scan_probe_uses_the_latest_index(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with replicas(1) as (store,):
            await store.create_bucket(Bucket("bkt", "alice", NOW))
            for i in range(50):
                await store.put_object(ObjectVersion("bkt", f"d{i}/f", "v", NOW, etag="e"))
            args = ("bkt", "", 0, 1, "0", "/", 10, "z")
            plan = await store.db.read(sql.rows, "EXPLAIN " + SKIP_SCAN_BOUNDED_SQL, *args)
            text = "\n".join(r[0] for r in plan)
            assert "versions_latest" in text, text
            assert "Seq Scan on versions" not in text, text
            # One probe per step: the first, each step's, the join's (a probe pulled up into
            # both a step's key and its `at` would run twice).
            assert text.count("using versions_latest") == 3, text
            page = await store.list_objects("bkt", delimiter="/")
            assert len(page.common_prefixes) == 50
            # A range read of 2 rows finds the first common prefix; then the probes, in
            # one round trip.
            assert store.last_listing.queries == 2

    aio.run(body())


def test_leader_lock_one_holder_and_takeover(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with replicas(3) as stores:
            locks = [s.leader_lock("collector") for s in stores]
            held = [await lock.acquire() for lock in locks]
            assert held == [True, False, False]
            assert await locks[0].held()
            other_name = await stores[1].leader_lock("lifecycle").acquire()
            assert other_name  # another name is another lock
            # The holder dies (its session ends): the next try elsewhere succeeds.
            conn = locks[0]._conn
            assert conn is not None
            conn.terminate()
            assert not await locks[0].held()
            for _ in range(50):  # the server ends the session a moment after the socket
                if await locks[1].acquire():
                    break
                await asyncio.sleep(0.02)
            assert await locks[1].held()
            assert not await locks[2].acquire()
            for lock in locks:
                await lock.release()
            assert await locks[2].acquire()
            await locks[2].release()

    aio.run(body())


def test_singleton_task_runs_on_one_replica_and_moves(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with replicas(3) as stores:
            runs: list[int] = []

            def task(i: int) -> SingletonTask:
                async def work() -> None:
                    runs.append(i)

                return SingletonTask(
                    "gc", stores[i].leader_lock("gc"), work, interval=0.05, check_every=0.05
                )

            tasks = [task(i) for i in range(3)]
            for t in tasks:
                t.start()
            await asyncio.sleep(0.6)
            assert len(set(runs)) == 1 and len(runs) >= 5, runs
            first = runs[0]
            assert [t.is_leader for t in tasks].count(True) == 1
            await tasks[first].stop()  # releases the lock: another replica takes over
            runs.clear()
            await asyncio.sleep(0.6)
            assert runs and first not in runs and len(set(runs)) == 1, runs
            for t in tasks:
                await t.stop()

    aio.run(body())


def test_unreachable_database_is_service_unavailable(aio: asyncio.Runner) -> None:
    async def body() -> None:
        name = f"kvtest-{secrets.token_hex(4)}"  # only our own sessions get killed
        async with fresh_schema() as dsn:
            store = PostgresMetaStore(dsn, pool_min=3, application_name=name)
            await store.open()
            try:
                await store.create_bucket(Bucket("bkt", "alice", NOW))
                # Kill every pooled session from the server side, as a failover would.
                await store.db.write(
                    sql.execute,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = ? AND pid <> pg_backend_pid()",
                    name,
                )
                results = await asyncio.gather(
                    *(store.get_bucket("bkt") for _ in range(5)), return_exceptions=True
                )
                for r in results:  # a dead pooled connection is 503 once, then reconnected
                    assert isinstance(r, Bucket) or (
                        isinstance(r, S3Error) and r.code is S3ErrorCode.SERVICE_UNAVAILABLE
                    ), r
                assert await store.get_bucket("bkt") is not None
            finally:
                await store.close()

    aio.run(body())


def test_pool_connections_hold_no_session_state(aio: asyncio.Runner) -> None:
    """Nothing a request leaves behind on its connection: PgBouncer transaction mode safe."""

    async def body() -> None:
        name = f"kvtest-{secrets.token_hex(4)}"
        async with fresh_schema() as dsn:
            store = PostgresMetaStore(dsn, pool_min=2, application_name=name)
            await store.open()
            try:
                await store.create_bucket(Bucket("bkt", "alice", NOW))
                await put(store, "k", "e")
                await store.list_objects("bkt", delimiter="/")
                await store.delete_object("bkt", "k", now=NOW)
                rows = await store.db.read(
                    sql.rows,
                    "SELECT l.locktype FROM pg_locks l JOIN pg_stat_activity a"
                    " ON a.pid = l.pid WHERE a.application_name = ?"
                    " AND l.locktype = 'advisory'",
                    name,
                )
                assert rows == []  # per-key locks are transaction locks, gone at commit
            finally:
                await store.close()

    aio.run(body())


def test_unknown_url_parameters_are_server_settings(aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with fresh_schema() as dsn:
            store = PostgresMetaStore(with_params(dsn, work_mem="8MB"), pool_min=1)
            await store.open()
            try:
                got = await store.db.read(sql.value, "SHOW work_mem")
                assert got == "8MB"
            finally:
                await store.close()

    aio.run(body())


def test_pool_url_errors() -> None:
    with pytest.raises(ValueError):
        PostgresMetaStore("postgresql://db/kv?pool_max=0")


def test_unreachable_server_fails_open() -> None:
    store = PostgresMetaStore("postgresql://postgres@127.0.0.1:1/none", pool_min=1)
    with pytest.raises(RuntimeError, match="cannot connect"):
        asyncio.run(store.open())
