"""Fixtures running every contract test against every backend and every metadata store.

No pytest-asyncio: each test gets its own event loop (`aio`, an asyncio.Runner), the
`backend` and `metastore` fixtures are set up and torn down inside it, and a test runs its
async body with `aio.run(body())`.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from backends.base import Backend
from gateway.meta.base import MetaStore
from gateway.meta.cached import CachedMetaStore
from gateway.meta.postgres import PostgresMetaStore
from gateway.meta.redis_cache import RedisCoherence
from gateway.meta.sqlite import SqliteMetaStore
from tests.contract.backend_factories import BACKEND_FACTORIES, FactoryContext
from tests.support.postgres import fresh_schema
from tests.support.redis import delete_namespace, shared_redis_url

MetaStoreFactory = Callable[[FactoryContext], AbstractAsyncContextManager[MetaStore]]


@asynccontextmanager
async def _opened(store: MetaStore) -> AsyncIterator[MetaStore]:
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def sqlite_metastore(ctx: FactoryContext) -> AbstractAsyncContextManager[MetaStore]:
    return _opened(SqliteMetaStore(str(ctx.tmp_path / "meta.sqlite3")))


@asynccontextmanager
async def postgres_metastore_in_schema() -> AsyncIterator[MetaStore]:
    """A PostgresMetaStore in a schema of its own, dropped afterwards."""
    async with fresh_schema() as dsn, _opened(PostgresMetaStore(dsn, pool_min=1)) as store:
        yield store


def postgres_metastore(ctx: FactoryContext) -> AbstractAsyncContextManager[MetaStore]:
    return postgres_metastore_in_schema()


@asynccontextmanager
async def _cached_postgres(redis_url: str) -> AsyncIterator[MetaStore]:
    """PostgreSQL behind the Redis cache (gateway/meta/cached.py), a namespace per test."""
    namespace = f"kvt-{secrets.token_hex(6)}"
    try:
        async with fresh_schema() as dsn:
            inner = PostgresMetaStore(dsn, pool_min=1)
            cache = RedisCoherence(redis_url, namespace=namespace)
            async with _opened(CachedMetaStore(inner, cache)) as store:
                yield store
    finally:
        delete_namespace(redis_url, namespace)


def cached_postgres_metastore(ctx: FactoryContext) -> AbstractAsyncContextManager[MetaStore]:
    return _cached_postgres(shared_redis_url())


# Same shape as BACKEND_FACTORIES: a store is one more entry.
METASTORE_FACTORIES: dict[str, MetaStoreFactory] = {
    "sqlite": sqlite_metastore,
    "postgres": postgres_metastore,
    "postgres+redis": cached_postgres_metastore,
}


class WatchedRunner(asyncio.Runner):  # type: ignore[misc]  # final in typeshed only
    """An asyncio.Runner whose run() prints every task's stack when a body outlives
    STALL_AFTER seconds: a hang then shows where each coroutine waits, which pytest-timeout's
    thread dump (the loop polling its selector) does not."""

    STALL_AFTER = 150.0

    def run(self, coro: Any, *, context: Any = None) -> Any:
        return super().run(self._watched(coro), context=context)

    async def _watched(self, coro: Any) -> Any:
        handle = asyncio.get_running_loop().call_later(self.STALL_AFTER, _dump_tasks)
        try:
            return await coro
        finally:
            handle.cancel()


def _dump_tasks() -> None:
    print(
        f"--- asyncio tasks still waiting after {WatchedRunner.STALL_AFTER:.0f} s", file=sys.stderr
    )
    for task in asyncio.all_tasks():
        print(f"task {task.get_name()}:", file=sys.stderr)
        awaited: Any = task.get_coro()
        while awaited is not None:  # the await chain, outermost first
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                print(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}", file=sys.stderr)
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)


@pytest.fixture
def aio() -> Iterator[asyncio.Runner]:
    with WatchedRunner() as runner:
        yield runner


@pytest.fixture(params=list(BACKEND_FACTORIES))
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, aio: asyncio.Runner
) -> Iterator[Backend]:
    factory = BACKEND_FACTORIES[request.param]
    cm = factory(FactoryContext(tmp_path / "backend", request))
    backend = aio.run(cm.__aenter__())
    try:
        yield backend
    finally:
        aio.run(cm.__aexit__(None, None, None))


@pytest.fixture(params=list(METASTORE_FACTORIES))
def metastore(
    request: pytest.FixtureRequest, tmp_path: Path, aio: asyncio.Runner
) -> Iterator[MetaStore]:
    factory = METASTORE_FACTORIES[request.param]
    cm = factory(FactoryContext(tmp_path / "meta", request))
    store = aio.run(cm.__aenter__())
    try:
        yield store
    finally:
        aio.run(cm.__aexit__(None, None, None))
