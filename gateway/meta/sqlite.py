"""SQLite MetaStore: the embedded default (DESIGN.md, "Metadata store").

How this works:

- One connection per store, used from one dedicated thread (a single-worker executor).
  Every transaction ships to that thread whole: the body (gateway/meta/sql.py) runs there
  from BEGIN to COMMIT with no hop back to the event loop, so sqlite never blocks the loop
  and the connection needs no lock.
- WAL journal (readers never wait for the writer), synchronous=NORMAL (a process crash
  loses nothing; a power cut may lose the last commits but never corrupts the file) and a
  busy timeout, because several processes share the file (`serve --workers N`, admin
  commands). A lock still held after the timeout becomes S3 SlowDown.
- Every write is one BEGIN IMMEDIATE transaction: the write lock is taken up front, so a
  transaction never fails half-way when upgrading from read to write, and it holds the
  whole database (row and key locks, which PostgreSQL needs, are nothing here). Reads,
  listings included, run in one deferred transaction, i.e. on one snapshot.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta import listing
from gateway.meta.migrations import migrate
from gateway.meta.sql import SQLITE, Tx, run_sync
from gateway.meta.store import SqlMetaStore

T = TypeVar("T")
P = ParamSpec("P")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _transaction(conn: sqlite3.Connection, begin: str, tx: Tx[T]) -> T:
    conn.execute(begin)
    try:
        result = run_sync(conn, tx)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class SqliteDatabase:
    """gateway.meta.store.Database on one SQLite file (see the module docstring)."""

    dialect = SQLITE
    list_latest = staticmethod(listing.list_objects)

    def __init__(self, path: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-sqlite")
        try:
            self._conn = await asyncio.wrap_future(self._executor.submit(self._connect))
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:" and os.path.dirname(self.path):
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        # timeout= is SQLite's busy timeout. isolation_level=None: no implicit transactions,
        # _transaction() issues BEGIN/COMMIT itself.
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.row_factory = sqlite3.Row
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # BEGIN IMMEDIATE: one process at a time applies the pending migrations.
            _transaction(conn, "BEGIN IMMEDIATE", migrate(SQLITE))
        except BaseException:
            conn.close()
            raise
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL. Processes opening a new file at once race for the switch,
        and SQLite answers the losers "database is locked" without waiting on the busy
        handler, so wait here, up to the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(0.01)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.wrap_future(executor.submit(conn.close))
        executor.shutdown(wait=False)

    async def _run(self, begin: str, tx: Tx[T]) -> T:
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            tx.close()
            raise RuntimeError("SqliteMetaStore is not open")
        # Calls queued before close() still run: close() queues conn.close() behind them.
        future = executor.submit(_transaction, conn, begin, tx)
        try:
            return await asyncio.wrap_future(future)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise S3Error(S3ErrorCode.SLOW_DOWN) from exc
            raise

    async def write(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run("BEGIN IMMEDIATE", body(*args, **kwargs))

    async def read(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run("BEGIN", body(*args, **kwargs))

    async def snapshot(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run("BEGIN", body(*args, **kwargs))


class SqliteMetaStore(SqlMetaStore):
    """The MetaStore on one SQLite file (see the module docstring)."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        super().__init__(SqliteDatabase(path, busy_timeout=busy_timeout))
