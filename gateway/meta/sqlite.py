"""SQLite MetaStore: the embedded default (DESIGN.md, "Metadata store").

How this works:

- One connection per store, used from one dedicated thread (a single-worker executor).
  Every call ships a function to that thread, so sqlite never blocks the event loop and
  the connection needs no lock.
- WAL journal (readers never wait for the writer), synchronous=NORMAL (a process crash
  loses nothing; a power cut may lose the last commits but never corrupts the file) and a
  busy timeout, because several processes share the file (`serve --workers N`, admin
  commands). A lock still held after the timeout becomes S3 SlowDown.
- Every write is one BEGIN IMMEDIATE transaction: the write lock is taken up front, so a
  transaction never fails half-way when upgrading from read to write. Multi-statement
  reads (listing) run in one deferred transaction, i.e. on one snapshot.
- Blob bookkeeping (DESIGN.md, "Write path"): put_object moves the version's blobs out of
  pending_blobs and the blobs of the version it replaces into garbage_blobs in the same
  transaction; version_blobs mirrors every version's segments so that "is this blob used"
  is an index probe.
- Listing with a delimiter seeks past each common prefix instead of reading its keys:
  gateway.meta.listing.walk_listing() drives list_objects()'s `fetch`, one indexed range
  query per seek, stepped lazily so rows past a seek point are never read.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    NULL_VERSION,
    AccessKey,
    Bucket,
    DeleteOutcome,
    ListPage,
    ObjectVersion,
    Precondition,
    User,
)
from gateway.meta.listing import Listing, ListingStats, walk_listing
from gateway.meta.migrations import SCHEMA_MIGRATIONS_SQL, load_migrations
from gateway.meta.rows import (
    VERSION_COLUMNS,
    VERSIONING_STATES,
    access_key_from_row,
    bucket_from_row,
    check_precondition,
    dump_map,
    dump_segments,
    load_map,
    load_segments,
    new_version_id,
    version_from_row,
    version_params,
)
from gateway.meta.sqlite_retention import SqliteRetention
from gateway.meta.sqlite_uploads import SqliteUploads, discard_bucket_uploads

T = TypeVar("T")

_VERSION_COLUMNS = VERSION_COLUMNS

# The listing query; key bounds are appended. Served by the partial index versions_latest
# (bucket, key) WHERE is_latest: a range scan in key order, no sort. Without statistics the
# planner may prefer another (bucket, key, ...) index, which also holds noncurrent versions;
# INDEXED BY pins the choice (and fails loudly if the index ever could not serve the query).
LATEST = "versions INDEXED BY versions_latest"
LIST_SQL = f"SELECT {_VERSION_COLUMNS} FROM {LATEST} WHERE bucket = ? AND is_latest"

# Shared with the PostgreSQL store (gateway/meta/rows.py); the old names stay importable.
_dump = dump_map
_load_map = load_map
_dump_segments = dump_segments
_load_segments = load_segments
_version_from_row = version_from_row
_bucket_from_row = bucket_from_row
_access_key_from_row = access_key_from_row
_check_precondition = check_precondition


# -- transaction bodies: run in the store's thread, inside a transaction ----------------------
def _bucket_row(conn: sqlite3.Connection, name: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM buckets WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    return row


def _remove_version(
    conn: sqlite3.Connection, bucket: str, key: str, version_id: str, *, since: float
) -> sqlite3.Row | None:
    """Delete one version row; blobs no other version uses go to garbage. Returns the row."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT is_latest, is_delete_marker, segments FROM versions"
        " WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, key, version_id),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "DELETE FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, key, version_id),
    )
    for blob_id in dict.fromkeys(s.blob_id for s in _load_segments(row["segments"])):
        conn.execute(
            "DELETE FROM version_blobs"
            " WHERE blob_id = ? AND bucket = ? AND key = ? AND version_id = ?",
            (blob_id, bucket, key, version_id),
        )
        conn.execute(
            "INSERT INTO garbage_blobs (blob_id, since) SELECT ?, ?"
            " WHERE NOT EXISTS (SELECT 1 FROM version_blobs WHERE blob_id = ?)"
            " ON CONFLICT (blob_id) DO NOTHING",
            (blob_id, since, blob_id),
        )
    return row


def _insert_latest(conn: sqlite3.Connection, v: ObjectVersion) -> None:
    """Insert `v` as the newest version of its key and the only latest one."""
    conn.execute(
        f"UPDATE {LATEST} SET is_latest = FALSE WHERE bucket = ? AND key = ? AND is_latest",
        (v.bucket, v.key),
    )
    (seq,) = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM versions WHERE bucket = ? AND key = ?",
        (v.bucket, v.key),
    ).fetchone()
    conn.execute(
        f"INSERT INTO versions ({_VERSION_COLUMNS}, seq)"
        " VALUES (?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*version_params(v), seq),
    )
    conn.executemany(
        "INSERT INTO version_blobs (blob_id, bucket, key, version_id) VALUES (?, ?, ?, ?)",
        [(b, v.bucket, v.key, v.version_id) for b in dict.fromkeys(s.blob_id for s in v.segments)],
    )


def _promote_newest(conn: sqlite3.Connection, bucket: str, key: str) -> None:
    conn.execute(
        "UPDATE versions SET is_latest = TRUE WHERE bucket = ? AND key = ? AND seq ="
        " (SELECT MAX(seq) FROM versions WHERE bucket = ? AND key = ?)",
        (bucket, key, bucket, key),
    )


def _put_object(
    conn: sqlite3.Connection,
    v: ObjectVersion,
    pre: Precondition | None,
    *,
    claim_pending: bool = True,
) -> ObjectVersion:
    """put_object's body; claim_pending=False publishes blobs that are not pending (the
    parts of a completed multipart upload, which left pending when each part was put)."""
    bucket = _bucket_row(conn, v.bucket)
    latest: sqlite3.Row | None = conn.execute(
        f"SELECT is_delete_marker, etag FROM {LATEST} WHERE bucket = ? AND key = ? AND is_latest",
        (v.bucket, v.key),
    ).fetchone()
    current = None if latest is None or latest["is_delete_marker"] else latest["etag"]
    _check_precondition(pre, current, v.key)
    for blob_id in dict.fromkeys(s.blob_id for s in v.segments) if claim_pending else ():
        gone = conn.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,))
        if gone.rowcount != 1:
            # Collected as a stale upload (or never registered): its bytes may be gone.
            raise S3Error(S3ErrorCode.INTERNAL_ERROR, f"blob {blob_id} is not pending")
    if bucket["versioning"] == "Enabled":
        if not v.version_id or v.version_id == NULL_VERSION:
            raise ValueError("a versioned put needs a generated version id")
        stored = replace(v, is_latest=True)
    else:
        stored = replace(v, version_id=NULL_VERSION, is_latest=True)
        _remove_version(conn, v.bucket, v.key, NULL_VERSION, since=v.last_modified)
    try:
        _insert_latest(conn, stored)
    except sqlite3.IntegrityError as exc:  # a reused version id: a bug upstream
        raise S3Error(S3ErrorCode.INTERNAL_ERROR, "version id collision") from exc
    return stored


def _delete_object(
    conn: sqlite3.Connection, bucket: str, key: str, version_id: str | None, now: float
) -> DeleteOutcome:
    b = _bucket_row(conn, bucket)
    if version_id is None and b["versioning"] in VERSIONING_STATES:
        if b["versioning"] == "Enabled":
            marker_id = new_version_id(now)
        else:  # Suspended: the marker takes the place of the "null" version
            marker_id = NULL_VERSION
            _remove_version(conn, bucket, key, NULL_VERSION, since=now)
        marker = ObjectVersion(
            bucket, key, marker_id, last_modified=now, is_delete_marker=True, owner=b["owner"]
        )
        _insert_latest(conn, marker)
        return DeleteOutcome(marker_id, True)
    target = NULL_VERSION if version_id is None else version_id
    row = _remove_version(conn, bucket, key, target, since=now)
    if row is None:
        return DeleteOutcome(None, False)
    if row["is_latest"]:
        _promote_newest(conn, bucket, key)
    return DeleteOutcome(target, bool(row["is_delete_marker"]))


def _collectable(
    conn: sqlite3.Connection, garbage_before: float, pending_before: float, limit: int
) -> list[str]:
    # Stale pending blobs are *claimed*: moved to garbage in this transaction. An upload
    # that wakes up after this fails its put_object (the blob is no longer pending)
    # instead of publishing a version whose blob the collector is about to delete.
    # Neither list ever hands out a blob that a version uses (defence in depth).
    claimed = conn.execute(
        "SELECT blob_id, created FROM pending_blobs p WHERE created < ?"
        " AND NOT EXISTS (SELECT 1 FROM version_blobs v WHERE v.blob_id = p.blob_id)"
        " AND NOT EXISTS (SELECT 1 FROM upload_parts u WHERE u.blob_id = p.blob_id)"
        " ORDER BY created LIMIT ?",
        (pending_before, limit),
    ).fetchall()
    for blob_id, created in claimed:
        conn.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,))
        conn.execute(
            "INSERT INTO garbage_blobs (blob_id, since) VALUES (?, ?)"
            " ON CONFLICT (blob_id) DO NOTHING",
            (blob_id, created),
        )
    ids: dict[str, None] = dict.fromkeys(r[0] for r in claimed)
    for (blob_id,) in conn.execute(
        "SELECT blob_id FROM garbage_blobs g WHERE since < ?"
        " AND NOT EXISTS (SELECT 1 FROM version_blobs v WHERE v.blob_id = g.blob_id)"
        " AND NOT EXISTS (SELECT 1 FROM upload_parts u WHERE u.blob_id = g.blob_id)"
        " ORDER BY since LIMIT ?",
        (garbage_before, limit),
    ):
        ids[blob_id] = None
    return list(ids)[:limit]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteMetaStore(SqliteUploads, SqliteRetention):
    """MetaStore on one SQLite file (see the module docstring); the multipart methods
    live in gateway.meta.sqlite_uploads, the retention ones in gateway.meta.sqlite_retention."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.last_listing = ListingStats()
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            raise RuntimeError("SqliteMetaStore is not open")
        # Calls queued before close() still run: close() queues conn.close() behind them.
        future = executor.submit(fn, conn)
        try:
            return await asyncio.wrap_future(future)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise S3Error(S3ErrorCode.SLOW_DOWN) from exc
            raise

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._call(lambda conn: _transaction(conn, "BEGIN IMMEDIATE", fn))

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._call(lambda conn: _transaction(conn, "BEGIN", fn))

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
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            _transaction(conn, "BEGIN IMMEDIATE", _migrate)
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.wrap_future(executor.submit(conn.close))
        executor.shutdown(wait=False)

    # -- users and access keys ------------------------------------------------------------
    async def create_user(self, name: str, *, is_root: bool = False, now: float) -> User:
        def tx(conn: sqlite3.Connection) -> User:
            try:
                conn.execute(
                    "INSERT INTO users (name, created, is_root) VALUES (?, ?, ?)",
                    (name, now, is_root),
                )
            except sqlite3.IntegrityError:
                raise KeyError(f"user {name!r} exists") from None
            return User(name, now, is_root)

        return await self._write(tx)

    async def get_user(self, name: str) -> User | None:
        row = await self._call(
            lambda c: c.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        )
        return None if row is None else User(row["name"], row["created"], bool(row["is_root"]))

    async def list_users(self) -> list[User]:
        rows = await self._call(lambda c: c.execute("SELECT * FROM users ORDER BY name").fetchall())
        return [User(r["name"], r["created"], bool(r["is_root"])) for r in rows]

    async def delete_user(self, name: str) -> bool:
        def tx(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM access_keys WHERE user_name = ?", (name,))
            return conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

        return await self._write(tx)

    async def create_access_key(
        self, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        def tx(conn: sqlite3.Connection) -> AccessKey:
            row = conn.execute("SELECT is_root FROM users WHERE name = ?", (user,)).fetchone()
            if row is None:
                raise KeyError(f"no user {user!r}")
            key = AccessKey(access_key, secret_key, user, now, bool(row["is_root"]))
            try:
                conn.execute(
                    "INSERT INTO access_keys (access_key, secret_key, user_name, created, is_root)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (key.access_key, key.secret_key, key.user, key.created, key.is_root),
                )
            except sqlite3.IntegrityError:
                raise KeyError(f"access key {access_key!r} exists") from None
            return key

        return await self._write(tx)

    async def get_access_key(self, access_key: str) -> AccessKey | None:
        row = await self._call(
            lambda c: c.execute(
                "SELECT * FROM access_keys WHERE access_key = ?", (access_key,)
            ).fetchone()
        )
        return None if row is None else _access_key_from_row(row)

    async def list_access_keys(self, user: str) -> list[AccessKey]:
        rows = await self._call(
            lambda c: c.execute(
                "SELECT * FROM access_keys WHERE user_name = ? ORDER BY created, access_key",
                (user,),
            ).fetchall()
        )
        return [_access_key_from_row(r) for r in rows]

    async def delete_access_key(self, access_key: str) -> bool:
        return await self._write(
            lambda c: (
                c.execute("DELETE FROM access_keys WHERE access_key = ?", (access_key,)).rowcount
                > 0
            )
        )

    # -- buckets ----------------------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT owner FROM buckets WHERE name = ?", (bucket.name,)
            ).fetchone()
            if row is not None:
                code = (
                    S3ErrorCode.BUCKET_ALREADY_OWNED_BY_YOU
                    if row["owner"] == bucket.owner
                    else S3ErrorCode.BUCKET_ALREADY_EXISTS
                )
                raise S3Error(code, BucketName=bucket.name)
            conn.execute(
                "INSERT INTO buckets (name, owner, created, region, versioning, object_lock)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    bucket.name,
                    bucket.owner,
                    bucket.created,
                    bucket.region,
                    bucket.versioning,
                    bucket.object_lock,
                ),
            )

        await self._write(tx)

    async def get_bucket(self, name: str) -> Bucket | None:
        row = await self._call(
            lambda c: c.execute("SELECT * FROM buckets WHERE name = ?", (name,)).fetchone()
        )
        return None if row is None else _bucket_from_row(row)

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        def q(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            if owner is None:
                return conn.execute("SELECT * FROM buckets ORDER BY name").fetchall()
            return conn.execute(
                "SELECT * FROM buckets WHERE owner = ? ORDER BY name", (owner,)
            ).fetchall()

        return [_bucket_from_row(r) for r in await self._call(q)]

    async def delete_bucket(self, name: str) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            _bucket_row(conn, name)
            if conn.execute("SELECT 1 FROM versions WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise S3Error(S3ErrorCode.BUCKET_NOT_EMPTY, BucketName=name)
            discard_bucket_uploads(conn, name)
            conn.execute("DELETE FROM buckets WHERE name = ?", (name,))

        await self._write(tx)

    async def put_bucket_versioning(self, name: str, status: str) -> None:
        """Set versioning to "Enabled" or "Suspended" (see MetaStore)."""
        if status not in VERSIONING_STATES:
            raise ValueError(f"versioning status {status!r}")

        def tx(conn: sqlite3.Connection) -> None:
            if _bucket_row(conn, name)["object_lock"] and status != "Enabled":
                raise S3Error(
                    S3ErrorCode.INVALID_BUCKET_STATE,
                    "An Object Lock configuration is present on this bucket, so the"
                    " versioning state cannot be changed.",
                )
            conn.execute("UPDATE buckets SET versioning = ? WHERE name = ?", (status, name))

        await self._write(tx)

    # -- objects ----------------------------------------------------------------------------
    @staticmethod
    def _delete_in_tx(
        conn: sqlite3.Connection, bucket: str, key: str, version_id: str | None, now: float
    ) -> DeleteOutcome:
        # SqliteRetention: removals it guards run delete_object's body.
        return _delete_object(conn, bucket, key, version_id, now)

    @staticmethod
    def _publish(
        conn: sqlite3.Connection, version: ObjectVersion, precondition: Precondition | None
    ) -> ObjectVersion:
        # SqliteUploads.complete_upload: a completed upload's parts are no longer pending.
        return _put_object(conn, version, precondition, claim_pending=False)

    async def put_object(
        self, version: ObjectVersion, precondition: Precondition | None = None
    ) -> ObjectVersion:
        return await self._write(lambda conn: _put_object(conn, version, precondition))

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        def q(conn: sqlite3.Connection) -> sqlite3.Row | None:
            if version_id is None:
                row: sqlite3.Row | None = conn.execute(
                    f"SELECT {_VERSION_COLUMNS} FROM {LATEST}"
                    " WHERE bucket = ? AND key = ? AND is_latest",
                    (bucket, key),
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT {_VERSION_COLUMNS} FROM versions"
                    " WHERE bucket = ? AND key = ? AND version_id = ?",
                    (bucket, key, version_id),
                ).fetchone()
            return row

        row = await self._call(q)
        return None if row is None else _version_from_row(row)

    async def delete_object(
        self, bucket: str, key: str, version_id: str | None = None, *, now: float
    ) -> DeleteOutcome:
        return await self._write(lambda conn: _delete_object(conn, bucket, key, version_id, now))

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        stats = ListingStats()

        def q(conn: sqlite3.Connection) -> Listing[sqlite3.Row]:
            _bucket_row(conn, bucket)

            def fetch(
                lower: str, inclusive: bool, upper: str | None, limit: int
            ) -> Iterator[sqlite3.Row]:
                sql = LIST_SQL + (" AND key >= ?" if inclusive else " AND key > ?")
                args: list[object] = [bucket, lower]
                if upper is not None:
                    sql += " AND key < ?"
                    args.append(upper)
                sql += " AND NOT is_delete_marker ORDER BY key LIMIT ?"
                args.append(limit)
                stats.queries += 1
                cursor = conn.execute(sql, args)
                try:
                    for row in cursor:  # stepped lazily: unread rows are never read
                        stats.rows += 1
                        yield row
                finally:
                    cursor.close()

            return walk_listing(
                fetch,
                lambda r: str(r["key"]),
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                max_keys=max_keys,
            )

        listing = await self._read(q)
        self.last_listing = stats
        return ListPage(
            objects=[_version_from_row(r) for r in listing.rows],
            common_prefixes=listing.common_prefixes,
            is_truncated=listing.is_truncated,
            next_marker=listing.next_marker,
        )

    # -- blobs ------------------------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str, *, now: float) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO pending_blobs (blob_id, created) VALUES (?, ?)", (blob_id, now)
            )
        )

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self._write(
            lambda c: c.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,))
        )

    async def collectable_blobs(
        self, *, garbage_before: float, pending_before: float, limit: int = 1000
    ) -> list[str]:
        return await self._write(
            lambda conn: _collectable(conn, garbage_before, pending_before, limit)
        )

    async def forget_blobs(self, blob_ids: Sequence[str]) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            params = [(b,) for b in blob_ids]
            conn.executemany("DELETE FROM pending_blobs WHERE blob_id = ?", params)
            conn.executemany("DELETE FROM garbage_blobs WHERE blob_id = ?", params)

        await self._write(tx)

    async def blob_is_referenced(self, blob_id: str) -> bool:
        row = await self._call(
            lambda c: c.execute(
                "SELECT 1 FROM version_blobs WHERE blob_id = ?"
                " UNION ALL SELECT 1 FROM upload_parts WHERE blob_id = ? LIMIT 1",
                (blob_id, blob_id),
            ).fetchone()
        )
        return row is not None

    async def referenced_blobs(self, after: str = "", limit: int = 1000) -> list[str]:
        # Each side walks its blob_id index (version_blobs' primary key, upload_parts_by_blob)
        # for at most `limit` ids; UNION merges and deduplicates them.
        rows = await self._read(
            lambda c: c.execute(
                "SELECT blob_id FROM ("
                " SELECT * FROM (SELECT DISTINCT blob_id FROM version_blobs WHERE blob_id > ?"
                "  ORDER BY blob_id LIMIT ?)"
                " UNION"
                " SELECT * FROM (SELECT DISTINCT blob_id FROM upload_parts WHERE blob_id > ?"
                "  ORDER BY blob_id LIMIT ?)"
                ") ORDER BY blob_id LIMIT ?",
                (after, limit, after, limit, limit),
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        def q(conn: sqlite3.Connection) -> set[str]:
            known: set[str] = set()
            ids = list(dict.fromkeys(blob_ids))
            for start in range(0, len(ids), _KNOWN_BATCH):
                batch = ids[start : start + _KNOWN_BATCH]
                marks = ", ".join("?" * len(batch))
                sql = " UNION ".join(
                    f"SELECT blob_id FROM {table} WHERE blob_id IN ({marks})"
                    for table in _BLOB_TABLES
                )
                known.update(r[0] for r in conn.execute(sql, batch * len(_BLOB_TABLES)))
            return known

        return await self._read(q)


# Every table naming blobs the store accounts for (known_blobs); 4 x 200 parameters stay
# under SQLite's oldest limit of 999 per statement.
_BLOB_TABLES = ("version_blobs", "upload_parts", "pending_blobs", "garbage_blobs")
_KNOWN_BATCH = 200


def _transaction(conn: sqlite3.Connection, begin: str, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute(begin)
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations; runs under BEGIN IMMEDIATE, so one process at a time."""
    conn.execute(SCHEMA_MIGRATIONS_SQL)
    applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    migrations = load_migrations("sqlite")
    known = {m.version for m in migrations}
    if applied - known:
        raise RuntimeError(
            f"database schema version {max(applied)} is newer than this KloudVault knows"
            f" ({max(known, default=0)}); upgrade KloudVault"
        )
    for m in migrations:
        if m.version in applied:
            continue
        for statement in m.statements():
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
            (m.version, m.name, time.time()),
        )
