"""gateway/meta/sqlite.py point reads: on the caller's thread, seeing every acknowledged
write, and on the readers' thread (which waits out the lock) when SQLite refuses them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from gateway.meta.sql import Tx, execute, value
from gateway.meta.sqlite import SqliteDatabase


def create() -> Tx[None]:
    yield from execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT)")


def put(k: str, v: str) -> Tx[None]:
    yield from execute(
        "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = ?", k, v, v
    )


def get(k: str) -> Tx[str | None]:
    found = yield from value("SELECT v FROM t WHERE k = ?", k)
    return None if found is None else str(found)


def thread_name(k: str) -> Tx[str]:
    yield from value("SELECT 1")
    return threading.current_thread().name


async def _point_read_runs_on_the_loop_and_sees_acknowledged_writes(tmp_path: Path) -> None:
    db = SqliteDatabase(str(tmp_path / "m.sqlite3"))
    await db.open()
    try:
        await db.write(create)
        for i in range(20):
            await db.write(put, "a", str(i))
            assert await db.point(get, "a") == str(i)
        assert await db.point(thread_name, "a") == threading.current_thread().name
    finally:
        await db.close()


def refused_on(thread: threading.Thread, error: sqlite3.OperationalError) -> Tx[str]:
    """SQLite refusing the read (busy) on `thread`; the thread's name anywhere else."""
    yield from value("SELECT 1")
    if threading.current_thread() is thread:
        raise error
    return threading.current_thread().name


def busy(code: int) -> sqlite3.OperationalError:
    # What sqlite3 raises when a lock is not granted (the point connection never waits):
    # WAL-index recovery, another process holding the file in exclusive locking mode.
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = code
    return error


async def _point_read_refused_runs_on_the_readers_thread(tmp_path: Path) -> None:
    db = SqliteDatabase(str(tmp_path / "m.sqlite3"))
    await db.open()
    try:
        here = threading.current_thread()
        for code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY | 256):
            name = await db.point(refused_on, here, busy(code))
            assert name.startswith("kv-sqlite-read")
        # Any other error is the caller's.
        other = sqlite3.OperationalError("no such table: x")
        other.sqlite_errorcode = sqlite3.SQLITE_ERROR
        with pytest.raises(sqlite3.OperationalError) as raised:
            await db.point(refused_on, here, other)
        assert raised.value is other
    finally:
        await db.close()


async def _memory_database_point_reads_go_through_its_one_connection() -> None:
    db = SqliteDatabase(":memory:")
    await db.open()
    try:
        await db.write(create)
        await db.write(put, "a", "1")
        assert await db.point(get, "a") == "1"
        assert await db.point(thread_name, "a") != threading.current_thread().name
    finally:
        await db.close()


def test_point_read_runs_on_the_loop_and_sees_acknowledged_writes(tmp_path: Path) -> None:
    asyncio.run(_point_read_runs_on_the_loop_and_sees_acknowledged_writes(tmp_path))


def test_point_read_refused_runs_on_the_readers_thread(tmp_path: Path) -> None:
    asyncio.run(_point_read_refused_runs_on_the_readers_thread(tmp_path))


def test_memory_database_point_reads_go_through_its_one_connection() -> None:
    asyncio.run(_memory_database_point_reads_go_through_its_one_connection())
