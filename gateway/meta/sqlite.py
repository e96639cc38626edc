"""SQLite MetaStore: the embedded default (DESIGN.md, "Metadata store").

How this works:

- Two connections per store, each used from one dedicated thread: the writer's (a
  single-worker executor, gateway/meta/group_commit.py) and the readers' (a CallThread,
  gateway/meta/call_thread.py: the lightest hand-off, for every GET pays it). Every
  transaction ships to its thread whole: the body (gateway/meta/sql.py) runs there from
  BEGIN to COMMIT with no hop back to the event loop, so sqlite never blocks the loop and
  a connection needs no lock. Reads run on their own connection so that a GET never
  queues behind a commit's fsync (WAL: a reader sees every transaction committed before
  it began). ":memory:" has one
  connection (a second one would be another database).
- Point reads (`point`: a bucket, an object's latest version, an access key) go to the
  readers' thread like every read. Running them on the event loop, on a connection of
  their own that never waits for a lock, saved about a fifth of a HEAD's CPU but was
  measured to stall writes (4 KiB PUT p99 0.24 s -> 5.5 s with two workers, bench/RESULTS.md).
  The likely cause, not proven: beginning a read transaction while another connection
  commits can make SQLite retry and sleep inside the call (walTryBeginRead) whatever the
  busy timeout, and on the loop such a sleep stops every request of the process.
- Writers of several processes take turns through an flock of `<database>-write-lock`
  around each batch, so a waiting process is woken when the lock is free instead of
  polling in SQLite's busy handler (gateway/meta/group_commit.py says why).
- Durability: WAL journal (readers never wait for the writer) with synchronous=FULL, so
  COMMIT returns only after the WAL is fsynced: an acknowledged write (a small object
  stored inline with its version, gateway/writepath.py, included) survives kill -9 and a
  power cut. The cost, one fsync per commit, is shared: writes are group-committed
  (gateway/meta/group_commit.py), every write waiting at a time in one COMMIT.
- A busy timeout, because several processes share the file (`serve --workers N`, admin
  commands). A lock still held after the timeout becomes S3 SlowDown.
- Every write is one BEGIN IMMEDIATE transaction: the write lock is taken up front, so a
  transaction never fails half-way when upgrading from read to write, and it holds the
  whole database (row and key locks, which PostgreSQL needs, are nothing here). Reads,
  listings included, run in one deferred transaction, i.e. on one snapshot.
- Bucket records, configuration documents and the absence of quotas, read by every
  bucket-level request or every PUT, are cached per process; the writes that change them
  announce it to every process through a memory-mapped file beside the database, so no
  process answers from what another has changed (gateway/meta/bucket_cache.py). The latest
  version of each object read lately is cached too, trusted while no write transaction
  of any process has begun since it was read (gateway/meta/version_cache.py).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar, cast

from gateway.errors import S3Error, S3ErrorCode
from gateway.limits.quota import QuotaUse, Scope
from gateway.meta import sqlite_listing
from gateway.meta.base import Bucket, ObjectVersion
from gateway.meta.bucket_cache import (
    BucketCache,
    Entry,
    Miss,
    SharedGeneration,
    generation_path,
)
from gateway.meta.call_thread import CallThread
from gateway.meta.file_lock import FileLock
from gateway.meta.group_commit import GroupCommitter, WriteMarks, run_one
from gateway.meta.migrations import migrate
from gateway.meta.sql import SQLITE, Tx
from gateway.meta.store import SqlMetaStore
from gateway.meta.version_cache import VersionCache

T = TypeVar("T")
P = ParamSpec("P")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteDatabase:
    """gateway.meta.store.Database on one SQLite file (see the module docstring)."""

    dialect = SQLITE
    list_latest = staticmethod(sqlite_listing.list_latest)

    def __init__(
        self, path: str, *, busy_timeout: float = 10.0, marks: WriteMarks | None = None
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._marks = marks
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._committer: GroupCommitter | None = None
        # Every process's writer flocks this file around its batches (group_commit.py).
        self._write_lock: FileLock | None = None
        # The readers' connection and thread (":memory:": the writer's connection, and its
        # thread, with no reader thread).
        self._read_conn: sqlite3.Connection | None = None
        self._reader: CallThread | None = None

    async def open(self) -> None:
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kv-sqlite")
        self._executor = executor
        try:
            self._conn = await asyncio.wrap_future(executor.submit(self._connect))
            if self.path != ":memory:":
                self._write_lock = FileLock(f"{self.path}-write-lock")
            self._committer = GroupCommitter(
                self._conn,
                executor,
                "BEGIN IMMEDIATE",
                file_lock=self._write_lock,
                lock_timeout=self.busy_timeout,
                marks=self._marks,
            )
            if self.path == ":memory:":
                self._read_conn = self._conn
            else:
                self._reader = reader = CallThread("kv-sqlite-read")
                self._read_conn = await reader.call(self._connect_reader)
        except BaseException:
            await self.close()
            raise

    def _connect_reader(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

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
            # FULL: COMMIT fsyncs the WAL (see the module docstring).
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            # BEGIN IMMEDIATE: one process at a time applies the pending migrations.
            run_one(conn, "BEGIN IMMEDIATE", migrate(SQLITE))
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
        # Calls queued before close() still run: each conn.close() is queued behind them.
        reader, self._reader = self._reader, None
        read_conn, self._read_conn = self._read_conn, None
        executor, self._executor = self._executor, None
        conn, self._conn = self._conn, None
        self._committer = None
        if reader is not None:
            if read_conn is not None:
                await reader.call(read_conn.close)
            reader.close()
        if executor is not None:
            if conn is not None:
                await asyncio.wrap_future(executor.submit(conn.close))
            executor.shutdown(wait=False)
        write_lock, self._write_lock = self._write_lock, None
        if write_lock is not None:
            write_lock.close()  # after conn.close: no batch holds it any more

    async def _wait(self, outcome: Awaitable[T]) -> T:
        try:
            return await outcome
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise S3Error(S3ErrorCode.SLOW_DOWN) from exc
            raise

    async def write(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        tx = body(*args, **kwargs)
        if self._committer is None:
            tx.close()
            raise RuntimeError("SqliteMetaStore is not open")
        result: T = await self._wait(self._committer.submit_async(tx))
        return result

    async def _read(self, tx: Tx[T]) -> T:
        reader, conn = self._reader, self._read_conn
        if reader is not None and conn is not None:
            return await self._wait(reader.call(run_one, conn, "BEGIN", tx))
        executor = self._executor
        if executor is None or conn is None:
            tx.close()
            raise RuntimeError("SqliteMetaStore is not open")
        # ":memory:": on the writer's thread, whose connection is the database.
        return await self._wait(asyncio.wrap_future(executor.submit(run_one, conn, "BEGIN", tx)))

    async def read(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._read(body(*args, **kwargs))

    async def snapshot(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._read(body(*args, **kwargs))

    point = snapshot  # see the module docstring: not on the event loop


class SqliteMetaStore(SqlMetaStore):
    """The MetaStore on one SQLite file (see the module docstring), with what buckets say
    cached per process and kept exact across processes (gateway/meta/bucket_cache.py)."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.generation = SharedGeneration(generation_path(path))
        super().__init__(SqliteDatabase(path, busy_timeout=busy_timeout, marks=self.generation))
        self.cache = BucketCache(self.generation)
        self.versions = VersionCache(self.generation)

    async def open(self) -> None:
        await super().open()
        try:
            self.generation.open()
        except BaseException:
            await super().close()
            raise

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self.generation.close()

    # -- cached reads ---------------------------------------------------------------------
    async def get_bucket(self, name: str) -> Bucket | None:
        found = await self._cached(("bucket", name), lambda: SqlMetaStore.get_bucket(self, name))
        return cast(Bucket | None, found)

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        found = await self._cached(
            ("config", bucket, name), lambda: SqlMetaStore.get_bucket_config(self, bucket, name)
        )
        return cast(str | None, found)

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        if version_id is not None:
            return await SqlMetaStore.get_object(self, bucket, key, version_id)
        found = await self._cached(
            (bucket, key), lambda: SqlMetaStore.get_object(self, bucket, key), self.versions
        )
        return cast(ObjectVersion | None, found)

    async def _cached(
        self,
        entry: Entry,
        read: Callable[[], Awaitable[object]],
        cache: BucketCache | VersionCache | None = None,
    ) -> object:
        """The cached answer for `entry` (in `cache`, the bucket cache by default), or
        `read()`'s, cached if it may be."""
        cache = self.cache if cache is None else cache
        found = cache.lookup(entry)
        if not isinstance(found, Miss):
            return found
        value = await read()
        cache.fill(found, entry, value)
        return value

    async def quota_uses(
        self, bucket: str, *, upload_id: str | None = None, part_number: int | None = None
    ) -> list[QuotaUse]:
        entry = ("no-quota", bucket)
        found = self.cache.lookup(entry)
        if not isinstance(found, Miss):
            return []  # only "no quota applies" is cached
        uses = await SqlMetaStore.quota_uses(
            self, bucket, upload_id=upload_id, part_number=part_number
        )
        if not uses:
            self.cache.fill(found, entry, True)
        return uses

    # -- the writes that change what is cached hold the shared generation while they run ----
    async def create_bucket(self, bucket: Bucket) -> None:
        await self._changing(SqlMetaStore.create_bucket(self, bucket))

    async def delete_bucket(self, name: str) -> None:
        await self._changing(SqlMetaStore.delete_bucket(self, name))

    async def put_bucket_versioning(self, name: str, status: str) -> None:
        await self._changing(SqlMetaStore.put_bucket_versioning(self, name, status))

    async def enable_object_lock(self, name: str) -> None:
        await self._changing(SqlMetaStore.enable_object_lock(self, name))

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        await self._changing(SqlMetaStore.put_bucket_config(self, bucket, name, document))

    async def set_quota(
        self, scope: Scope, name: str, max_bytes: int | None, max_objects: int | None
    ) -> None:
        await self._changing(SqlMetaStore.set_quota(self, scope, name, max_bytes, max_objects))

    async def clear_quota(self, scope: Scope, name: str) -> bool:
        return await self._changing(SqlMetaStore.clear_quota(self, scope, name))

    async def _changing(self, write: Coroutine[Any, Any, T]) -> T:
        """Run `write` between hold and release of the generation. Shielded: a request
        cancelled while its write is queued or running still releases the generation, but
        only once the write has finished (a release before its COMMIT would let readers
        cache what the write is about to replace), and the write still runs."""
        generation = self.generation
        try:
            generation.hold()
        except BaseException:
            write.close()
            raise
        task = asyncio.ensure_future(write)
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                generation.release()
            else:
                task.add_done_callback(lambda t: _released(generation, t))


def _released(generation: SharedGeneration, task: asyncio.Future[Any]) -> None:
    generation.release()
    if not task.cancelled():
        task.exception()  # retrieved: its request is gone
