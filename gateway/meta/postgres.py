"""PostgreSQL MetaStore: several gateway replicas sharing one database (DESIGN.md,
"Metadata store"). Chosen by `--metadata-url postgresql://...`.

How this works:

- One asyncpg pool per process. Every method is one transaction on one pooled connection
  (PostgresDatabase.run), running a body written once for both databases
  (gateway/meta/store.py, gateway/meta/sql.py); nothing depends on session state between
  transactions (no SET, no temporary tables, no session advisory locks), so the pool may
  sit behind PgBouncer in transaction mode. Add `statement_cache_size=0` to the URL there
  (asyncpg's named prepared statements do not survive PgBouncer handing the server
  connection to someone else).
- Same schema and numbered migrations as SQLite (PostgreSQL only adds COLLATE "C", so
  keys sort by their bytes, and an INCLUDE column). The runner takes pg_advisory_xact_lock and
  applies every pending migration in that one transaction (DDL is transactional here),
  so replicas starting together apply each migration exactly once, and the lock needs
  no dedicated session.
- Writes run in READ COMMITTED and serialize where it matters, with the row locks and
  advisory key locks the bodies ask for (sql.Stmt.lock, sql.KeyLock; SQLite needs none):
  per object key (gateway/meta/objects.py), per bucket (gateway/meta/buckets.py), per
  upload (gateway/meta/uploads.py); the collector claims stale pending blobs with FOR
  UPDATE SKIP LOCKED (gateway/meta/blobs.py), so it never waits on a PUT publishing one.
  Advisory lock ids hash the database and schema with the key (sql.lock_id), so
  deployments sharing a server never contend. Deadlocks and serialization failures are
  retried a few times (the body runs again from the start), then SlowDown.
- Durability: synchronous_commit stays on (the server default; we never lower it), so
  COMMIT returns only once the transaction's WAL is flushed to disk: an acknowledged write,
  a small object stored inline with its version (gateway/writepath.py) included, survives
  kill -9 and a power cut. PostgreSQL group-commits by itself: one WAL flush covers every
  transaction committed up to it, so concurrent PUTs on the pool's connections share
  fsyncs (commit_delay can widen the window). Measured with 1,000 inline PUTs at c64
  (bench/RESULTS.md): synchronous_commit=off was no faster on this machine (CPU-bound,
  not flush-bound), so it buys nothing for the loss it allows.
- Listings run in one REPEATABLE READ READ ONLY transaction (one snapshot per page);
  ListObjects with a delimiter uses the skip scan of gateway/meta/postgres_listing.py.
- Connection failures become S3 ServiceUnavailable (503, which clients retry); a write
  is never retried after a connection failure, since its commit may have happened.
- leader_lock(name): a session advisory lock on a dedicated connection, for work one
  replica at a time must do (gateway/jobs/leader.py). That connection must reach PostgreSQL
  directly or through a session-mode pool: give --pg-session-url when --metadata-url
  goes through PgBouncer in transaction mode.
- cache_replica_seen/cache_replicas/cache_replica_gone: the roster of replicas using the
  Redis cache (table cache_replicas; gateway/meta/redis_cache.py says why it lives here).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from asyncpg import Connection as Conn

from gateway.errors import S3Error, S3ErrorCode
from gateway.jobs.leader import PostgresAdvisoryLock
from gateway.meta import postgres_listing
from gateway.meta.migrations import migrate
from gateway.meta.sql import POSTGRES, Tx, execute, lock_id, rows, run_async
from gateway.meta.store import SqlMetaStore

log = logging.getLogger(__name__)

T = TypeVar("T")

Isolation = Literal["read_committed", "repeatable_read"]
P = ParamSpec("P")

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


class PostgresDatabase:
    """gateway.meta.store.Database on a PostgreSQL pool (see the module docstring)."""

    dialect = POSTGRES
    list_latest = staticmethod(postgres_listing.list_latest)

    def __init__(self, config: PostgresConfig, *, application_name: str) -> None:
        self.config = config
        self.application_name = application_name
        # Advisory lock ids include the schema, so deployments sharing a database in
        # different schemas (and test runs) never contend for each other's locks.
        self.namespace = ""
        self._pool: asyncpg.Pool | None = None

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
                # The advisory lock migrate() takes: one process at a time, and DDL is
                # transactional here, so each migration is applied exactly once.
                async with conn.transaction():
                    await run_async(conn, migrate(POSTGRES), self.namespace)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _run(self, isolation: Isolation, readonly: bool, body: Callable[[], Tx[T]]) -> T:
        """Run body() in one transaction; again (a fresh body) on deadlock or serialization
        failure; connection failures are ServiceUnavailable, never retried (a write's
        commit may have happened)."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("PostgresMetaStore is not open")
        for attempt in range(1, TX_ATTEMPTS + 1):
            try:
                async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                    async with conn.transaction(isolation=isolation, readonly=readonly):
                        return await run_async(conn, body(), self.namespace)
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

    async def write(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run("read_committed", False, lambda: body(*args, **kwargs))

    async def read(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run("read_committed", True, lambda: body(*args, **kwargs))

    async def snapshot(self, body: Callable[P, Tx[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run("repeatable_read", True, lambda: body(*args, **kwargs))

    # A pool connection is a network round trip either way: nothing to gain inline.
    point = read


# -- the Redis cache's roster (gateway/meta/redis_cache.py) ----------------------------------------
def _replica_seen(replica: str, now: float) -> Tx[None]:
    yield from execute(
        "INSERT INTO cache_replicas (id, seen) VALUES (?, ?)"
        " ON CONFLICT (id) DO UPDATE SET seen = excluded.seen",
        replica,
        now,
    )
    yield from execute("DELETE FROM cache_replicas WHERE seen < ?", now - 86400)


def _replicas(since: float) -> Tx[list[str]]:
    return [
        r["id"] for r in (yield from rows("SELECT id FROM cache_replicas WHERE seen >= ?", since))
    ]


def _replica_gone(replica: str) -> Tx[None]:
    yield from execute("DELETE FROM cache_replicas WHERE id = ?", replica)


class PostgresMetaStore(SqlMetaStore):
    """The MetaStore on PostgreSQL (see the module docstring), with what only it has: the
    leader lock and the Redis cache's roster of replicas."""

    db: PostgresDatabase

    def __init__(
        self,
        url: str,
        *,
        pool_min: int | None = None,
        pool_max: int | None = None,
        session_url: str | None = None,
        application_name: str = "kloudvault",
    ) -> None:
        config = parse_postgres_url(url, pool_min=pool_min, pool_max=pool_max)
        super().__init__(PostgresDatabase(config, application_name=application_name))
        self.session_dsn = parse_postgres_url(session_url).dsn if session_url else None
        self.application_name = application_name

    @property
    def config(self) -> PostgresConfig:
        return self.db.config

    @property
    def namespace(self) -> str:
        return self.db.namespace

    def leader_lock(self, name: str) -> PostgresAdvisoryLock:
        """A lock that one replica at a time holds (gateway/jobs/leader.py), on its own session."""
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

    async def cache_replica_seen(self, replica: str, now: float) -> None:
        await self.db.write(_replica_seen, replica, now)

    async def cache_replicas(self, since: float) -> list[str]:
        return await self.db.read(_replicas, since)

    async def cache_replica_gone(self, replica: str) -> None:
        await self.db.write(_replica_gone, replica)
