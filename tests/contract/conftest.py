"""Fixtures running every contract test against every backend and every metadata store.

No pytest-asyncio: each test gets its own event loop (`aio`, an asyncio.Runner), the
`backend` and `metastore` fixtures are set up and torn down inside it, and a test runs its
async body with `aio.run(body())`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

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


@pytest.fixture
def aio() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
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
