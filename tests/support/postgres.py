"""PostgreSQL for tests: the server at KLOUDVAULT_TEST_POSTGRES_DSN, a fresh schema per use.

Every store a test opens lives in its own schema (`CREATE SCHEMA kvt_<random>`), reached
through `?search_path=<schema>` in the store's URL (asyncpg sends unknown URL parameters as
server settings), and dropped afterwards; tests never see each other's tables. An
unreachable server goes through the services policy (tests/conftest.py): skip, or fail
under KLOUDVAULT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from tests.conftest import require_service

POSTGRES_DSN_ENV = "KLOUDVAULT_TEST_POSTGRES_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def admin_dsn() -> str:
    return os.environ.get(POSTGRES_DSN_ENV) or DEFAULT_DSN


def with_params(dsn: str, **params: str) -> str:
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in params]
    return urlunsplit(parts._replace(query=urlencode(query + list(params.items()))))


async def _connect() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(admin_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        require_service("postgresql", f"{admin_dsn()}: {type(exc).__name__}: {exc}")


async def create_schema(label: str = "t") -> str:
    """A new empty schema; returns its name."""
    name = f"kv{label}_{secrets.token_hex(6)}"
    conn = await _connect()
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()
    return name


async def drop_schema(name: str) -> None:
    conn = await _connect()
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


def schema_dsn(schema: str) -> str:
    # synchronous_commit=off: commits stop waiting for the WAL flush (no test crashes
    # PostgreSQL itself); visibility and locking are unchanged, and the suite is ~5x faster.
    return with_params(admin_dsn(), search_path=schema, synchronous_commit="off")


@asynccontextmanager
async def fresh_schema(label: str = "t") -> AsyncIterator[str]:
    """A DSN whose search_path is a new schema, dropped on exit."""
    schema = await create_schema(label)
    try:
        yield schema_dsn(schema)
    finally:
        await drop_schema(schema)


@contextmanager
def fresh_schema_sync(label: str = "t") -> Iterator[str]:
    """fresh_schema for synchronous tests (integration tests start gateway processes)."""
    schema = asyncio.run(create_schema(label))
    try:
        yield schema_dsn(schema)
    finally:
        asyncio.run(drop_schema(schema))


def query_sync(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """One query on a short-lived connection, from synchronous test code."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await conn.close()

    return asyncio.run(run())
