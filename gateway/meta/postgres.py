"""PostgreSQL MetaStore: several gateway replicas sharing one database (DESIGN.md,
"Metadata store"). Chosen by `--metadata-url postgresql://...`.

How this works:

- One asyncpg pool per process. Every method is one transaction on one pooled connection
  (`_run`); nothing depends on session state between transactions (no SET, no temporary
  tables, no session advisory locks), so the pool may sit behind PgBouncer in transaction
  mode. Add `statement_cache_size=0` to the URL there (asyncpg's named prepared
  statements do not survive PgBouncer handing the server connection to someone else).
- Same schema and numbered migrations as SQLite (0001_initial.postgres.sql only adds
  COLLATE "C": keys sort by their bytes). The runner takes pg_advisory_xact_lock and
  applies every pending migration in that one transaction (DDL is transactional here),
  so replicas starting together apply each migration exactly once, and the lock needs
  no dedicated session.
- Writes run in READ COMMITTED and serialize where it matters:
  - per object key: pg_advisory_xact_lock(hash(schema, bucket, key)) before reading the
    latest version, so concurrent PUTs/DELETEs of one key queue up; each sees the
    previous one's commit, replaces it whole and sends its blobs to garbage (a lost
    update or a blob that never reaches garbage would need two writers reading the same
    "latest" row, which the lock excludes). The first PUT of a key is covered too, which
    a row lock could not do (there is no row to lock yet).
  - per bucket: object writes hold the bucket row FOR KEY SHARE (the lock a foreign key
    check takes), delete_bucket takes it FOR UPDATE. So a DeleteBucket racing a PutObject
    either runs first (the PUT then finds no bucket: NoSuchBucket) or waits for the PUT
    to commit and then sees its row (BucketNotEmpty): no object survives in a deleted
    bucket. CreateBucket is INSERT ... ON CONFLICT DO NOTHING: of racing creators
    exactly one wins; the others get BucketAlreadyOwnedByYou / BucketAlreadyExists.
  - deadlocks and serialization failures are retried a few times, then SlowDown.
- Blob bookkeeping is sqlite.py's, statement for statement (see its docstring); the
  collector claims stale pending blobs with FOR UPDATE SKIP LOCKED, so it never waits on
  a PUT that is publishing one of them (the PUT wins, or fails with InternalError).
- Listing runs in one REPEATABLE READ READ ONLY transaction (one snapshot per page); see
  gateway/meta/postgres_listing.py for the seek walk.
- Connection failures become S3 ServiceUnavailable (503, which clients retry); a write
  is never retried after a connection failure, since its commit may have happened.
- leader_lock(name): a session advisory lock on a dedicated connection, for work one
  replica at a time must do (gateway/leader.py). That connection must reach PostgreSQL
  directly or through a session-mode pool: give --pg-session-url when --metadata-url
  goes through PgBouncer in transaction mode.
- cache_replica_seen/cache_replicas/cache_replica_gone: the roster of replicas using the
  Redis cache (table cache_replicas; gateway/meta/redis_cache.py says why it lives here).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from asyncpg import Connection as Conn

from gateway.errors import S3Error, S3ErrorCode
from gateway.leader import PostgresAdvisoryLock
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
from gateway.meta.listing import ListingStats
from gateway.meta.migrations import SCHEMA_MIGRATIONS_SQL, load_migrations
from gateway.meta.postgres_listing import list_latest
from gateway.meta.postgres_retention import PostgresRetention
from gateway.meta.postgres_uploads import PostgresUploads, discard_bucket_uploads
from gateway.meta.rows import (
    VERSION_COLUMNS,
    VERSIONING_STATES,
    access_key_from_row,
    bucket_from_row,
    check_precondition,
    distinct_blob_ids,
    load_segments,
    new_version_id,
    user_from_row,
    version_from_row,
    version_params,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Advisory lock ids are 64-bit; these names are hashed with the schema (see lock_id).
MIGRATIONS_LOCK = "migrations"
TX_ATTEMPTS = 5
ACQUIRE_TIMEOUT = 10.0

# Errors that mean "the database is unreachable or going away", not "this request is bad".
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # The driver's protocol state broken by a connection the server just killed.
    asyncpg.exceptions.InternalClientError,
)
_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)

# Our own query parameters in --metadata-url; every other one goes to asyncpg (unknown
# ones become server settings, e.g. ?search_path=tenant1).
_URL_PARAMS = ("pool_min", "pool_max", "statement_cache_size")


@dataclass(frozen=True)
class PostgresConfig:
    dsn: str
    pool_min: int = 2
    pool_max: int = 10
    statement_cache_size: int | None = None  # None: asyncpg's default (100)


def parse_postgres_url(
    url: str, *, pool_min: int | None = None, pool_max: int | None = None
) -> PostgresConfig:
    """Split our parameters off a postgresql:// URL; explicit arguments win over them."""
    parts = urlsplit(url)
    ours: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        (ours.__setitem__(name, value) if name in _URL_PARAMS else rest.append((name, value)))
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    try:
        config = PostgresConfig(
            dsn=dsn,
            pool_min=int(ours.get("pool_min", 2)) if pool_min is None else pool_min,
            pool_max=int(ours.get("pool_max", 10)) if pool_max is None else pool_max,
            statement_cache_size=(
                int(ours["statement_cache_size"]) if "statement_cache_size" in ours else None
            ),
        )
    except ValueError as exc:
        raise ValueError(f"bad parameter in the PostgreSQL URL: {exc}") from None
    if not 0 <= config.pool_min <= config.pool_max or config.pool_max < 1:
        raise ValueError("PostgreSQL pool sizes: need 0 <= pool_min <= pool_max, pool_max >= 1")
    return config


def lock_id(*parts: str) -> int:
    """A signed 64-bit advisory lock id for `parts` (collisions only serialize more)."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- transaction bodies: `conn` is inside a transaction ------------------------------------------
async def _bucket_for_write(conn: Conn, name: str) -> asyncpg.Record:
    """The bucket's versioning and owner, holding the row against DeleteBucket until commit."""
    row = await conn.fetchrow(
        "SELECT versioning, owner FROM buckets WHERE name = $1 FOR KEY SHARE", name
    )
    if row is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    return row


async def lock_key(conn: Conn, namespace: str, bucket: str, key: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_id(namespace, bucket, key))


async def to_garbage(conn: Conn, blob_ids: Sequence[str], since: float) -> None:
    """Send blobs to garbage unless a version still uses them."""
    await conn.execute(
        "INSERT INTO garbage_blobs (blob_id, since) SELECT b, $2 FROM unnest($1::text[]) b"
        " WHERE NOT EXISTS (SELECT 1 FROM version_blobs v WHERE v.blob_id = b)"
        " ON CONFLICT (blob_id) DO NOTHING",
        list(blob_ids),
        since,
    )


async def _remove_version(
    conn: Conn, bucket: str, key: str, version_id: str, *, since: float
) -> asyncpg.Record | None:
    """Delete one version row; blobs no other version uses go to garbage. Returns the row."""
    row = await conn.fetchrow(
        "DELETE FROM versions WHERE bucket = $1 AND key = $2 AND version_id = $3"
        " RETURNING is_latest, is_delete_marker, segments",
        bucket,
        key,
        version_id,
    )
    if row is None:
        return None
    blobs = distinct_blob_ids(load_segments(row["segments"]))
    if blobs:
        await conn.execute(
            "DELETE FROM version_blobs"
            " WHERE bucket = $1 AND key = $2 AND version_id = $3 AND blob_id = ANY($4::text[])",
            bucket,
            key,
            version_id,
            blobs,
        )
        await to_garbage(conn, blobs, since)
    return row


_INSERT_VERSION = (
    f"INSERT INTO versions ({VERSION_COLUMNS}, seq) VALUES ($1, $2, $3, TRUE, "
    + ", ".join(f"${i}" for i in range(4, 20))
    + ", (SELECT COALESCE(MAX(seq), 0) + 1 FROM versions WHERE bucket = $1 AND key = $2))"
)


async def _insert_latest(conn: Conn, v: ObjectVersion) -> None:
    """Insert `v` as the newest version of its key and the only latest one."""
    await conn.execute(
        "UPDATE versions SET is_latest = FALSE WHERE bucket = $1 AND key = $2 AND is_latest",
        v.bucket,
        v.key,
    )
    try:
        await conn.execute(_INSERT_VERSION, *version_params(v))
    except asyncpg.UniqueViolationError as exc:  # a reused version id: a bug upstream
        raise S3Error(S3ErrorCode.INTERNAL_ERROR, "version id collision") from exc
    blobs = distinct_blob_ids(v.segments)
    if blobs:
        await conn.execute(
            "INSERT INTO version_blobs (blob_id, bucket, key, version_id)"
            " SELECT b, $2, $3, $4 FROM unnest($1::text[]) b",
            blobs,
            v.bucket,
            v.key,
            v.version_id,
        )


async def _promote_newest(conn: Conn, bucket: str, key: str) -> None:
    await conn.execute(
        "UPDATE versions SET is_latest = TRUE WHERE bucket = $1 AND key = $2 AND seq ="
        " (SELECT MAX(seq) FROM versions WHERE bucket = $1 AND key = $2)",
        bucket,
        key,
    )


async def publish_version(
    conn: Conn,
    namespace: str,
    v: ObjectVersion,
    pre: Precondition | None,
    *,
    claim_pending: bool = True,
) -> ObjectVersion:
    """put_object's body; claim_pending=False publishes blobs that are not pending (the
    parts of a completed multipart upload, which left pending when each part was put)."""
    versioning = (await _bucket_for_write(conn, v.bucket))["versioning"]
    await lock_key(conn, namespace, v.bucket, v.key)
    latest = await conn.fetchrow(
        "SELECT is_delete_marker, etag FROM versions WHERE bucket = $1 AND key = $2 AND is_latest",
        v.bucket,
        v.key,
    )
    current = None if latest is None or latest["is_delete_marker"] else latest["etag"]
    check_precondition(pre, current, v.key)
    blobs = distinct_blob_ids(v.segments) if claim_pending else []
    if blobs:
        gone = await conn.fetch(
            "DELETE FROM pending_blobs WHERE blob_id = ANY($1::text[]) RETURNING blob_id", blobs
        )
        if len(gone) != len(blobs):
            # Collected as a stale upload (or never registered): its bytes may be gone.
            missing = sorted(set(blobs) - {r["blob_id"] for r in gone})
            raise S3Error(S3ErrorCode.INTERNAL_ERROR, f"blob {missing[0]} is not pending")
    if versioning == "Enabled":
        if not v.version_id or v.version_id == NULL_VERSION:
            raise ValueError("a versioned put needs a generated version id")
        stored = replace(v, is_latest=True)
    else:
        stored = replace(v, version_id=NULL_VERSION, is_latest=True)
        await _remove_version(conn, v.bucket, v.key, NULL_VERSION, since=v.last_modified)
    await _insert_latest(conn, stored)
    return stored


async def _delete_object(
    conn: Conn, namespace: str, bucket: str, key: str, version_id: str | None, now: float
) -> DeleteOutcome:
    b = await _bucket_for_write(conn, bucket)
    versioning = b["versioning"]
    await lock_key(conn, namespace, bucket, key)
    if version_id is None and versioning in VERSIONING_STATES:
        if versioning == "Enabled":
            marker_id = new_version_id(now)
        else:  # Suspended: the marker takes the place of the "null" version
            marker_id = NULL_VERSION
            await _remove_version(conn, bucket, key, NULL_VERSION, since=now)
        marker = ObjectVersion(
            bucket, key, marker_id, last_modified=now, is_delete_marker=True, owner=b["owner"]
        )
        await _insert_latest(conn, marker)
        return DeleteOutcome(marker_id, True)
    target = NULL_VERSION if version_id is None else version_id
    row = await _remove_version(conn, bucket, key, target, since=now)
    if row is None:
        return DeleteOutcome(None, False)
    if row["is_latest"]:
        await _promote_newest(conn, bucket, key)
    return DeleteOutcome(target, bool(row["is_delete_marker"]))


async def _collectable(
    conn: Conn, garbage_before: float, pending_before: float, limit: int
) -> list[str]:
    # As in sqlite.py: stale pending blobs are claimed (moved to garbage) so an upload that
    # wakes up later fails its put_object instead of publishing a blob being deleted.
    # SKIP LOCKED: a pending row a PUT is publishing right now is that PUT's, not ours.
    claimed = await conn.fetch(
        "WITH stale AS (SELECT blob_id FROM pending_blobs p WHERE created < $1"
        " AND NOT EXISTS (SELECT 1 FROM version_blobs v WHERE v.blob_id = p.blob_id)"
        " AND NOT EXISTS (SELECT 1 FROM upload_parts u WHERE u.blob_id = p.blob_id)"
        " ORDER BY created LIMIT $2 FOR UPDATE SKIP LOCKED),"
        " gone AS (DELETE FROM pending_blobs p USING stale s WHERE p.blob_id = s.blob_id"
        " RETURNING p.blob_id, p.created),"
        " moved AS (INSERT INTO garbage_blobs (blob_id, since)"
        " SELECT blob_id, created FROM gone ON CONFLICT (blob_id) DO NOTHING)"
        " SELECT blob_id FROM gone ORDER BY created",
        pending_before,
        limit,
    )
    ids: dict[str, None] = dict.fromkeys(r["blob_id"] for r in claimed)
    for r in await conn.fetch(
        "SELECT blob_id FROM garbage_blobs g WHERE since < $1"
        " AND NOT EXISTS (SELECT 1 FROM version_blobs v WHERE v.blob_id = g.blob_id)"
        " AND NOT EXISTS (SELECT 1 FROM upload_parts u WHERE u.blob_id = g.blob_id)"
        " ORDER BY since LIMIT $2",
        garbage_before,
        limit,
    ):
        ids[r["blob_id"]] = None
    return list(ids)[:limit]


async def _migrate(conn: Conn, namespace: str) -> None:
    """Apply pending migrations in the caller's transaction, one process at a time."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_id(namespace, MIGRATIONS_LOCK))
    await conn.execute(SCHEMA_MIGRATIONS_SQL)
    applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    migrations = load_migrations("postgres")
    known = {m.version for m in migrations}
    if applied - known:
        raise RuntimeError(
            f"database schema version {max(applied)} is newer than this KloudVault knows"
            f" ({max(known, default=0)}); upgrade KloudVault"
        )
    for m in migrations:
        if m.version in applied:
            continue
        log.info("applying migration %04d_%s", m.version, m.name)
        for statement in m.statements():
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)",
            m.version,
            m.name,
            time.time(),
        )


class PostgresMetaStore(PostgresUploads, PostgresRetention):
    """MetaStore on PostgreSQL (see the module docstring); the multipart methods live in
    gateway.meta.postgres_uploads, the retention ones in gateway.meta.postgres_retention."""

    def __init__(
        self,
        url: str,
        *,
        pool_min: int | None = None,
        pool_max: int | None = None,
        session_url: str | None = None,
        application_name: str = "kloudvault",
    ) -> None:
        self.config = parse_postgres_url(url, pool_min=pool_min, pool_max=pool_max)
        self.session_dsn = parse_postgres_url(session_url).dsn if session_url else None
        self.application_name = application_name
        self.last_listing = ListingStats()
        # Advisory lock ids include the schema, so deployments sharing a database in
        # different schemas (and test runs) never contend for each other's locks.
        self.namespace = ""
        self._pool: asyncpg.Pool | None = None

    # -- plumbing ---------------------------------------------------------------------------
    async def _run(
        self,
        fn: Callable[[Conn], Awaitable[T]],
        *,
        isolation: str = "read_committed",
        readonly: bool = False,
    ) -> T:
        """Run fn(conn) in one transaction; retried on deadlock/serialization failure."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("PostgresMetaStore is not open")
        for attempt in range(1, TX_ATTEMPTS + 1):
            try:
                async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                    async with conn.transaction(isolation=isolation, readonly=readonly):
                        return await fn(conn)
            except _RETRYABLE as exc:
                if attempt == TX_ATTEMPTS:
                    raise S3Error(S3ErrorCode.SLOW_DOWN) from exc
                log.info("postgres: %s, retrying (attempt %d)", type(exc).__name__, attempt)
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
            except _UNAVAILABLE as exc:
                log.warning("postgres unavailable: %s: %s", type(exc).__name__, exc)
                raise S3Error(S3ErrorCode.SERVICE_UNAVAILABLE) from exc
            except asyncpg.InterfaceError as exc:
                if "closed" not in str(exc):  # misuse of the driver: a bug, not an outage
                    raise
                log.warning("postgres connection lost: %s", exc)
                raise S3Error(S3ErrorCode.SERVICE_UNAVAILABLE) from exc
        raise AssertionError("unreachable")

    async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        return await self._run(fn, readonly=True)

    async def _publish(
        self, conn: Conn, version: ObjectVersion, precondition: Precondition | None
    ) -> ObjectVersion:
        # PostgresUploads.complete_upload: a completed upload's parts are no longer pending.
        return await publish_version(
            conn, self.namespace, version, precondition, claim_pending=False
        )

    async def _lock_object(self, conn: Conn, bucket: str, key: str) -> None:
        # PostgresRetention: the locks of an object write, in their order.
        await _bucket_for_write(conn, bucket)
        await lock_key(conn, self.namespace, bucket, key)

    async def _delete_in_tx(
        self, conn: Conn, bucket: str, key: str, version_id: str | None, now: float
    ) -> DeleteOutcome:
        # PostgresRetention: removals it guards run delete_object's body.
        return await _delete_object(conn, self.namespace, bucket, key, version_id, now)

    async def open(self) -> None:
        if self._pool is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.config.statement_cache_size is not None:
            kwargs["statement_cache_size"] = self.config.statement_cache_size
        try:
            pool = await asyncpg.create_pool(
                self.config.dsn,
                min_size=self.config.pool_min,
                max_size=self.config.pool_max,
                server_settings={"application_name": self.application_name},
                **kwargs,
            )
        except _UNAVAILABLE as exc:
            raise RuntimeError(f"cannot connect to PostgreSQL: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                self.namespace = await conn.fetchval(
                    "SELECT current_database() || '.' || coalesce(current_schema(), '')"
                )
                async with conn.transaction():
                    await _migrate(conn, self.namespace)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def leader_lock(self, name: str) -> PostgresAdvisoryLock:
        """A lock that one replica at a time holds (gateway/leader.py), on its own session."""
        config = self.config
        dsn = self.session_dsn or config.dsn

        async def connect() -> Conn:
            kwargs: dict[str, Any] = {}
            if config.statement_cache_size is not None:
                kwargs["statement_cache_size"] = config.statement_cache_size
            return await asyncpg.connect(
                dsn,
                timeout=10,
                server_settings={
                    "application_name": f"{self.application_name} leader {name}",
                    # Notice a dead leader host within ~15 s, not the OS default of hours.
                    "tcp_keepalives_idle": "5",
                    "tcp_keepalives_interval": "2",
                    "tcp_keepalives_count": "5",
                },
                **kwargs,
            )

        return PostgresAdvisoryLock(connect, lock_id(self.namespace, "leader", name), name)

    # -- users and access keys ------------------------------------------------------------
    async def create_user(self, name: str, *, is_root: bool = False, now: float) -> User:
        async def tx(conn: Conn) -> User:
            done = await conn.fetchval(
                "INSERT INTO users (name, created, is_root) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO NOTHING RETURNING TRUE",
                name,
                now,
                is_root,
            )
            if not done:
                raise KeyError(f"user {name!r} exists")
            return User(name, now, is_root)

        return await self._run(tx)

    async def get_user(self, name: str) -> User | None:
        row = await self._read(lambda c: c.fetchrow("SELECT * FROM users WHERE name = $1", name))
        return None if row is None else user_from_row(row)

    async def list_users(self) -> list[User]:
        rows = await self._read(lambda c: c.fetch("SELECT * FROM users ORDER BY name"))
        return [user_from_row(r) for r in rows]

    async def delete_user(self, name: str) -> bool:
        async def tx(conn: Conn) -> bool:
            await conn.execute("DELETE FROM access_keys WHERE user_name = $1", name)
            gone = await conn.fetchval("DELETE FROM users WHERE name = $1 RETURNING TRUE", name)
            return bool(gone)

        return await self._run(tx)

    async def create_access_key(
        self, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        async def tx(conn: Conn) -> AccessKey:
            row = await conn.fetchrow(
                "SELECT is_root FROM users WHERE name = $1 FOR KEY SHARE", user
            )
            if row is None:
                raise KeyError(f"no user {user!r}")
            key = AccessKey(access_key, secret_key, user, now, bool(row["is_root"]))
            done = await conn.fetchval(
                "INSERT INTO access_keys (access_key, secret_key, user_name, created, is_root)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (access_key) DO NOTHING RETURNING TRUE",
                key.access_key,
                key.secret_key,
                key.user,
                key.created,
                key.is_root,
            )
            if not done:
                raise KeyError(f"access key {access_key!r} exists")
            return key

        return await self._run(tx)

    async def get_access_key(self, access_key: str) -> AccessKey | None:
        row = await self._read(
            lambda c: c.fetchrow("SELECT * FROM access_keys WHERE access_key = $1", access_key)
        )
        return None if row is None else access_key_from_row(row)

    async def list_access_keys(self, user: str) -> list[AccessKey]:
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT * FROM access_keys WHERE user_name = $1 ORDER BY created, access_key", user
            )
        )
        return [access_key_from_row(r) for r in rows]

    async def delete_access_key(self, access_key: str) -> bool:
        done = await self._run(
            lambda c: c.fetchval(
                "DELETE FROM access_keys WHERE access_key = $1 RETURNING TRUE", access_key
            )
        )
        return bool(done)

    # -- buckets ----------------------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        async def tx(conn: Conn) -> None:
            # Of several racing creators one inserts; the others wait for its commit and
            # then see its row (each statement of READ COMMITTED reads the latest commits).
            for _ in range(3):
                done = await conn.fetchval(
                    "INSERT INTO buckets (name, owner, created, region, versioning, object_lock)"
                    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING"
                    " RETURNING TRUE",
                    bucket.name,
                    bucket.owner,
                    bucket.created,
                    bucket.region,
                    bucket.versioning,
                    bucket.object_lock,
                )
                if done:
                    return
                owner = await conn.fetchval(
                    "SELECT owner FROM buckets WHERE name = $1", bucket.name
                )
                if owner is not None:
                    code = (
                        S3ErrorCode.BUCKET_ALREADY_OWNED_BY_YOU
                        if owner == bucket.owner
                        else S3ErrorCode.BUCKET_ALREADY_EXISTS
                    )
                    raise S3Error(code, BucketName=bucket.name)
                # Deleted again in between: try to create it once more.
            raise S3Error(S3ErrorCode.SLOW_DOWN)

        await self._run(tx)

    async def get_bucket(self, name: str) -> Bucket | None:
        row = await self._read(lambda c: c.fetchrow("SELECT * FROM buckets WHERE name = $1", name))
        return None if row is None else bucket_from_row(row)

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        async def q(conn: Conn) -> list[asyncpg.Record]:
            if owner is None:
                rows: list[asyncpg.Record] = await conn.fetch("SELECT * FROM buckets ORDER BY name")
                return rows
            rows = await conn.fetch("SELECT * FROM buckets WHERE owner = $1 ORDER BY name", owner)
            return rows

        return [bucket_from_row(r) for r in await self._read(q)]

    async def delete_bucket(self, name: str) -> None:
        async def tx(conn: Conn) -> None:
            # FOR UPDATE waits for object writes holding the row FOR KEY SHARE; the
            # emptiness check that follows then sees what they committed.
            found = await conn.fetchval("SELECT 1 FROM buckets WHERE name = $1 FOR UPDATE", name)
            if found is None:
                raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
            if await conn.fetchval("SELECT 1 FROM versions WHERE bucket = $1 LIMIT 1", name):
                raise S3Error(S3ErrorCode.BUCKET_NOT_EMPTY, BucketName=name)
            await discard_bucket_uploads(conn, name)
            await conn.execute("DELETE FROM buckets WHERE name = $1", name)

        await self._run(tx)

    async def put_bucket_versioning(self, name: str, status: str) -> None:
        """Set versioning to "Enabled" or "Suspended" (as SqliteMetaStore's)."""
        if status not in VERSIONING_STATES:
            raise ValueError(f"versioning status {status!r}")

        async def tx(conn: Conn) -> None:
            # An object lock bucket stays Enabled (the condition re-reads a racing enable).
            done = await conn.fetchval(
                "UPDATE buckets SET versioning = $2 WHERE name = $1"
                " AND NOT (object_lock AND $2 <> 'Enabled') RETURNING TRUE",
                name,
                status,
            )
            if not done:
                if await conn.fetchval("SELECT 1 FROM buckets WHERE name = $1", name):
                    raise S3Error(
                        S3ErrorCode.INVALID_BUCKET_STATE,
                        "An Object Lock configuration is present on this bucket, so the"
                        " versioning state cannot be changed.",
                    )
                raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)

        await self._run(tx)

    # -- objects ----------------------------------------------------------------------------
    async def put_object(
        self, version: ObjectVersion, precondition: Precondition | None = None
    ) -> ObjectVersion:
        return await self._run(
            lambda conn: publish_version(conn, self.namespace, version, precondition)
        )

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        async def q(conn: Conn) -> asyncpg.Record | None:
            if version_id is None:
                return await conn.fetchrow(
                    f"SELECT {VERSION_COLUMNS} FROM versions"
                    " WHERE bucket = $1 AND key = $2 AND is_latest",
                    bucket,
                    key,
                )
            return await conn.fetchrow(
                f"SELECT {VERSION_COLUMNS} FROM versions"
                " WHERE bucket = $1 AND key = $2 AND version_id = $3",
                bucket,
                key,
                version_id,
            )

        row = await self._read(q)
        return None if row is None else version_from_row(row)

    async def delete_object(
        self, bucket: str, key: str, version_id: str | None = None, *, now: float
    ) -> DeleteOutcome:
        return await self._run(
            lambda conn: _delete_object(conn, self.namespace, bucket, key, version_id, now)
        )

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
        page = await self._run(
            lambda conn: list_latest(
                conn,
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                start_after=start_after,
                max_keys=max_keys,
                stats=stats,
            ),
            isolation="repeatable_read",
            readonly=True,
        )
        self.last_listing = stats
        return page

    # -- blobs ------------------------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str, *, now: float) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO pending_blobs (blob_id, created) VALUES ($1, $2)", blob_id, now
            )
        )

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self._run(
            lambda c: c.execute("DELETE FROM pending_blobs WHERE blob_id = $1", blob_id)
        )

    async def collectable_blobs(
        self, *, garbage_before: float, pending_before: float, limit: int = 1000
    ) -> list[str]:
        return await self._run(
            lambda conn: _collectable(conn, garbage_before, pending_before, limit)
        )

    async def forget_blobs(self, blob_ids: Sequence[str]) -> None:
        async def tx(conn: Conn) -> None:
            ids = list(blob_ids)
            await conn.execute("DELETE FROM pending_blobs WHERE blob_id = ANY($1::text[])", ids)
            await conn.execute("DELETE FROM garbage_blobs WHERE blob_id = ANY($1::text[])", ids)

        await self._run(tx)

    # -- the Redis cache's roster (gateway/meta/redis_cache.py) ----------------------------
    async def cache_replica_seen(self, replica: str, now: float) -> None:
        async def tx(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO cache_replicas (id, seen) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET seen = excluded.seen",
                replica,
                now,
            )
            await conn.execute("DELETE FROM cache_replicas WHERE seen < $1", now - 86400)

        await self._run(tx)

    async def cache_replicas(self, since: float) -> list[str]:
        rows = await self._read(
            lambda c: c.fetch("SELECT id FROM cache_replicas WHERE seen >= $1", since)
        )
        return [r["id"] for r in rows]

    async def cache_replica_gone(self, replica: str) -> None:
        await self._run(lambda c: c.execute("DELETE FROM cache_replicas WHERE id = $1", replica))

    async def blob_is_referenced(self, blob_id: str) -> bool:
        found = await self._read(
            lambda c: c.fetchval(
                "SELECT EXISTS (SELECT 1 FROM version_blobs WHERE blob_id = $1)"
                " OR EXISTS (SELECT 1 FROM upload_parts WHERE blob_id = $1)",
                blob_id,
            )
        )
        return bool(found)

    async def referenced_blobs(self, after: str = "", limit: int = 1000) -> list[str]:
        # Each side walks its blob_id index for at most `limit` ids; UNION deduplicates.
        rows = await self._read(
            lambda c: c.fetch(
                "(SELECT DISTINCT blob_id FROM version_blobs WHERE blob_id > $1"
                "  ORDER BY blob_id LIMIT $2)"
                " UNION"
                " (SELECT DISTINCT blob_id FROM upload_parts WHERE blob_id > $1"
                "  ORDER BY blob_id LIMIT $2)"
                " ORDER BY blob_id LIMIT $2",
                after,
                limit,
            )
        )
        return [r["blob_id"] for r in rows]

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        rows = await self._read(
            lambda c: c.fetch(
                "SELECT id FROM unnest($1::text[]) AS ids (id) WHERE"
                " EXISTS (SELECT 1 FROM version_blobs WHERE blob_id = ids.id)"
                " OR EXISTS (SELECT 1 FROM upload_parts WHERE blob_id = ids.id)"
                " OR EXISTS (SELECT 1 FROM pending_blobs WHERE blob_id = ids.id)"
                " OR EXISTS (SELECT 1 FROM garbage_blobs WHERE blob_id = ids.id)",
                list(dict.fromkeys(blob_ids)),
            )
        )
        return {r["id"] for r in rows}
