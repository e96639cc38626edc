"""Transactions written once, for SQLite and PostgreSQL alike: statements as values.

How this works:

- A transaction body is a generator (`Tx[T]`). It yields statements — `Stmt` (one SQL
  statement and what it wants back), `Many` (one statement over many parameter rows) or
  `KeyLock` (serialize writers of one object key) — and is sent each statement's result.
  It returns the transaction's value. Nothing in it knows which database runs it:

      def delete_user(name: str) -> Tx[bool]:
          yield from execute("DELETE FROM access_keys WHERE user_name = ?", name)
          return (yield from execute("DELETE FROM users WHERE name = ?", name)) > 0

  Bodies compose with `yield from`, so a body can call another (complete_upload runs
  put_object's publishing step inside its own transaction).
- SQL is written once, with `?` placeholders, in the common subset of both dialects
  (ON CONFLICT upserts, RETURNING, row values). What differs is data, in `Dialect`:
  placeholder style (PostgreSQL's `$n` is derived from `?` once per statement text), row
  locks (`Stmt.lock`, e.g. FOR KEY SHARE: PostgreSQL appends it; SQLite's BEGIN IMMEDIATE
  already holds the whole database) and advisory key locks (`KeyLock`: PostgreSQL takes a
  transaction-scoped advisory lock; SQLite needs none, for the same reason).
- Two drivers run a body: run_sync() on a sqlite3 connection, inside the store's own
  thread (the whole transaction runs there, with no hop back to the event loop), and
  run_async() on an asyncpg connection. Each opens nothing: the store wraps the call in
  its transaction. A unique-key violation is thrown into the body as `UniqueViolation`
  (after which the transaction is over: on PostgreSQL it is aborted, so a body may only
  translate it into its own error and leave).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    # What asyncpg hands out: a connection, or a pool's proxy of one.
    PgConnection = asyncpg.Connection[Any] | PoolConnectionProxy[Any]

T = TypeVar("T")

# What a Stmt wants back: "count" the rows it changed, "one" row or None, "all" rows as a
# list, "value" the first column of the first row (None without a row).
Want = Literal["count", "one", "all", "value"]
# Row locks (PostgreSQL): KEY SHARE holds a row against deletion and key updates (what a
# foreign key check takes), UPDATE holds it exclusively, SKIP LOCKED passes rows held by
# others. SQLite ignores them: a write transaction there holds the database.
Lock = Literal["KEY SHARE", "UPDATE", "UPDATE SKIP LOCKED"]


class Stmt(NamedTuple):
    # A named tuple, not a frozen dataclass: a small PUT makes six, and a frozen
    # dataclass's __init__ sets each field through object.__setattr__.
    sql: str
    args: tuple[Any, ...] = ()
    want: Want = "count"
    lock: Lock | None = None


@dataclass(frozen=True, slots=True)
class Many:
    """One statement run for each parameter row (executemany); returns nothing."""

    sql: str
    rows: Sequence[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class KeyLock:
    """Serialize the writers of one object until commit (PostgreSQL: an advisory
    transaction lock on a hash of the parts; SQLite: nothing, writes are serial)."""

    parts: tuple[str, ...]


Op = Stmt | Many | KeyLock
Tx = Generator[Op, Any, T]


class UniqueViolation(Exception):
    """A statement broke a unique constraint (thrown into the transaction body)."""


# -- the statements a body yields from ----------------------------------------------------------
def execute(sql: str, *args: Any, lock: Lock | None = None) -> Tx[int]:
    """Run a statement; the number of rows it changed (or returned)."""
    count: int = yield Stmt(sql, args, "count", lock)
    return count


def one(sql: str, *args: Any, lock: Lock | None = None) -> Tx[Any]:
    """The first row (indexable by column name), or None."""
    return (yield Stmt(sql, args, "one", lock))


def rows(sql: str, *args: Any, lock: Lock | None = None) -> Tx[list[Any]]:
    """Every row, as a list."""
    result: list[Any] = yield Stmt(sql, args, "all", lock)
    return result


def value(sql: str, *args: Any, lock: Lock | None = None) -> Tx[Any]:
    """The first column of the first row, or None."""
    return (yield Stmt(sql, args, "value", lock))


def many(sql: str, params: Sequence[tuple[Any, ...]]) -> Tx[None]:
    if params:
        yield Many(sql, params)


def lock_key(*parts: str) -> Tx[None]:
    yield KeyLock(parts)


def marks(n: int) -> str:
    """`?, ?, ...` for an IN list of n values."""
    return ", ".join("?" * n)


# -- dialects ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" or "postgres": also picks the migration text (migrations.py)
    numbered_params: bool  # `$1, $2` instead of `?`
    row_locks: bool  # append Stmt.lock as FOR ...
    # SQLite's `INDEXED BY <index>` kept, or cut out (PostgreSQL has no index hints: the
    # planner with statistics picks the index a hint pins on SQLite).
    index_hints: bool


SQLITE = Dialect("sqlite", numbered_params=False, row_locks=False, index_hints=True)
POSTGRES = Dialect("postgres", numbered_params=True, row_locks=True, index_hints=False)

_MARK = re.compile(r"\?")
_INDEX_HINT = re.compile(r" INDEXED BY \w+")


@lru_cache(maxsize=1024)
def render(dialect: Dialect, sql: str, lock: Lock | None = None) -> str:
    """The statement text as `dialect` takes it. Our SQL has no `?` inside literals."""
    if not dialect.index_hints:
        sql = _INDEX_HINT.sub("", sql)
    if dialect.row_locks and lock is not None:
        sql = f"{sql} FOR {lock}"
    if dialect.numbered_params:
        counter = iter(range(1, 1 << 16))
        sql = _MARK.sub(lambda _: f"${next(counter)}", sql)
    return sql


def lock_id(*parts: str) -> int:
    """A signed 64-bit advisory lock id for `parts` (collisions only serialize more)."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- drivers ---------------------------------------------------------------------------------------
def run_sync(conn: sqlite3.Connection, tx: Tx[T]) -> T:
    """Run a body on SQLite, in the caller's (the store thread's) open transaction."""
    try:
        op = next(tx)
        while True:
            try:
                result = _sqlite_op(conn, op)
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" not in str(exc) and "PRIMARY KEY" not in str(exc):
                    raise
                op = tx.throw(UniqueViolation(str(exc)))
                continue
            op = tx.send(result)
    except StopIteration as done:
        returned: T = done.value
        return returned


def _sqlite_op(conn: sqlite3.Connection, op: Op) -> Any:
    if not isinstance(op, Stmt):
        if isinstance(op, Many):
            conn.executemany(op.sql, op.rows)
        return None  # a KeyLock: a SQLite write transaction holds the whole database
    cursor = conn.execute(op.sql, op.args)
    try:
        if op.want == "count":
            # rowcount is -1 for a SELECT (or a RETURNING statement): count what it returns.
            if cursor.description is not None:
                return len(cursor.fetchall())
            return cursor.rowcount
        if op.want == "all":
            return cursor.fetchall()
        row = cursor.fetchone()
        if op.want == "one" or row is None:
            return row
        return row[0]
    finally:
        cursor.close()


async def run_async(conn: PgConnection, tx: Tx[T], namespace: str) -> T:
    """Run a body on PostgreSQL, in the caller's open transaction. `namespace` (database
    and schema) goes into advisory lock ids, so deployments sharing a server never contend."""
    import asyncpg  # the SQLite-only install path never imports the driver

    try:
        op = next(tx)
        while True:
            try:
                result = await _postgres_op(conn, op, namespace)
            except asyncpg.UniqueViolationError as exc:
                op = tx.throw(UniqueViolation(str(exc)))
                continue
            op = tx.send(result)
    except StopIteration as done:
        returned: T = done.value
        return returned


async def _postgres_op(conn: PgConnection, op: Op, namespace: str) -> Any:
    if isinstance(op, KeyLock):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_id(namespace, *op.parts))
        return None
    if isinstance(op, Many):
        await conn.executemany(render(POSTGRES, op.sql), op.rows)
        return None
    sql = render(POSTGRES, op.sql, op.lock)
    if op.want == "count":
        status: str = await conn.execute(sql, *op.args)
        # "INSERT 0 1", "UPDATE 3", "DELETE 0", "SELECT 2": the count is the last word.
        tail = status.rpartition(" ")[2]
        return int(tail) if tail.isdigit() else 0
    if op.want == "all":
        return await conn.fetch(sql, *op.args)
    if op.want == "one":
        return await conn.fetchrow(sql, *op.args)
    return await conn.fetchval(sql, *op.args)
