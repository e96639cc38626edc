"""gateway/meta/sql.py: statements as values, rendered per dialect, run on SQLite.

(The same bodies run on PostgreSQL in tests/contract, through the stores.)
"""

from __future__ import annotations

import sqlite3

import pytest

from gateway.meta.sql import (
    POSTGRES,
    SQLITE,
    KeyLock,
    Many,
    Stmt,
    Tx,
    UniqueViolation,
    execute,
    lock_id,
    lock_key,
    many,
    marks,
    one,
    render,
    rows,
    run_sync,
    value,
)

RENDERED = [
    # (sql, lock, sqlite text, postgres text)
    (
        "SELECT 1 FROM t WHERE a = ? AND b = ?",
        None,
        None,
        "SELECT 1 FROM t WHERE a = $1 AND b = $2",
    ),
    (
        "SELECT * FROM buckets WHERE name = ?",
        "KEY SHARE",
        "SELECT * FROM buckets WHERE name = ?",
        "SELECT * FROM buckets WHERE name = $1 FOR KEY SHARE",
    ),
    (
        "SELECT k FROM versions INDEXED BY versions_latest WHERE b = ? LIMIT ?",
        "UPDATE SKIP LOCKED",
        None,
        "SELECT k FROM versions WHERE b = $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
    ),
]


@pytest.mark.parametrize(("sql", "lock", "lite", "pg"), RENDERED)
def test_render(sql: str, lock: str | None, lite: str | None, pg: str) -> None:
    assert render(SQLITE, sql, lock) == (sql if lite is None else lite)
    assert render(POSTGRES, sql, lock) == pg


def test_statement_helpers_yield_values() -> None:
    body = one("SELECT ? + ?", 1, 2, lock="UPDATE")
    assert next(body) == Stmt("SELECT ? + ?", (1, 2), "one", "UPDATE")
    assert next(many("DELETE FROM t WHERE a = ?", [(1,), (2,)])) == Many(
        "DELETE FROM t WHERE a = ?", [(1,), (2,)]
    )
    assert list(many("DELETE FROM t WHERE a = ?", [])) == []  # nothing to run
    assert next(lock_key("bkt", "key")) == KeyLock(("bkt", "key"))
    assert marks(3) == "?, ?, ?"


def test_lock_id_is_signed_64_bit_and_separates_parts() -> None:
    ids = {lock_id("ns", "a", "bc"), lock_id("ns", "ab", "c"), lock_id("ns", "migrations")}
    assert len(ids) == 3
    assert all(-(2**63) <= i < 2**63 for i in ids)
    assert lock_id("ns", "a") == lock_id("ns", "a")


def _body() -> Tx[tuple[object, ...]]:
    yield from execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    yield from many("INSERT INTO t (a, b) VALUES (?, ?)", [(1, "x"), (2, "y"), (3, "y")])
    yield from lock_key("ignored", "on sqlite")
    changed = yield from execute("UPDATE t SET b = ? WHERE b = ?", "z", "y")
    returned = yield from execute("DELETE FROM t WHERE a > ? RETURNING a", 2)
    row = yield from one("SELECT a, b FROM t WHERE a = ?", 2)
    missing = yield from one("SELECT a FROM t WHERE a = ?", 9)
    count = yield from value("SELECT COUNT(*) FROM t")
    nothing = yield from value("SELECT a FROM t WHERE a = ?", 9)
    every = yield from rows("SELECT a FROM t ORDER BY a")
    try:
        yield from execute("INSERT INTO t (a, b) VALUES (?, ?)", 1, "dup")
    except UniqueViolation:
        duplicate = True
    return (
        changed,
        returned,
        row["b"],
        missing,
        count,
        nothing,
        [r["a"] for r in every],
        duplicate,
    )


def test_run_sync_answers_each_statement() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    assert run_sync(conn, _body()) == (2, 1, "z", None, 2, None, [1, 2], True)


def test_run_sync_passes_other_integrity_errors() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)

    def body() -> Tx[None]:
        yield from execute("CREATE TABLE t (a INTEGER NOT NULL)")
        yield from execute("INSERT INTO t (a) VALUES (NULL)")

    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        run_sync(conn, body())
