"""gateway/meta/sqlite.py point reads: they see every acknowledged write and run on the
readers' thread, never on the event loop (see the module docstring for why)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

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


async def _point_reads(path: str) -> None:
    db = SqliteDatabase(path)
    await db.open()
    try:
        await db.write(create)
        for i in range(20):
            await db.write(put, "a", str(i))
            assert await db.point(get, "a") == str(i)
        assert await db.point(thread_name, "a") != threading.current_thread().name
    finally:
        await db.close()


def test_point_reads_see_acknowledged_writes_off_the_loop(tmp_path: Path) -> None:
    asyncio.run(_point_reads(str(tmp_path / "m.sqlite3")))


def test_memory_database_point_reads_go_through_its_one_connection() -> None:
    asyncio.run(_point_reads(":memory:"))
