"""Numbered schema migrations, one set for SQLite and PostgreSQL.

Files in gateway/meta/migrations/ are named NNNN_<name>.sql and applied in number order;
each is applied once and recorded in `schema_migrations`. SQL is written once, to run on
both databases; what only PostgreSQL needs is written inline as a comment, `/*pg ... */`
(e.g. `key TEXT /*pg COLLATE "C" */ NOT NULL`): SQLite's text drops it, PostgreSQL's
keeps what it holds; `/*sqlite ... */` the other way round (AUTOINCREMENT).

migrate() is the transaction body applying them: each store runs it in one transaction
holding its write lock (BEGIN IMMEDIATE for SQLite, an advisory lock for PostgreSQL), so
that several processes starting at once apply each migration exactly once.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.meta.sql import Dialect, Tx, execute, lock_key, rows

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# The bookkeeping table; created by the store before it reads which versions are applied.
SCHEMA_MIGRATIONS_SQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied DOUBLE PRECISION NOT NULL
)
"""

_FILE = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql")
# PostgreSQL-only text (no `*/` inside).
_PG_ONLY = re.compile(r"/\*pg\s(.*?)\*/", re.DOTALL)
_SQLITE_ONLY = re.compile(r"/\*sqlite\s(.*?)\*/", re.DOTALL)


def _keep(found: re.Match[str]) -> str:
    return found[1].strip()


def _drop(found: re.Match[str]) -> str:
    return ""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        return split_statements(self.sql)


def load_migrations(dialect: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations for `dialect` ("sqlite", "postgres") in the order to apply them."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        m = _FILE.fullmatch(path.name)
        if m is None:
            continue
        version = int(m["version"])
        if version in migrations:
            raise ValueError(f"two migrations numbered {version:04d}: {path}")
        text = path.read_text(encoding="utf-8")
        pg = dialect == "postgres"
        text = _SQLITE_ONLY.sub(_drop if pg else _keep, _PG_ONLY.sub(_keep if pg else _drop, text))
        migrations[version] = Migration(version, m["name"], text)
    return [migrations[v] for v in sorted(migrations)]


def migrate(dialect: Dialect) -> Tx[None]:
    """Apply the pending migrations of `dialect`, in the caller's write transaction."""
    yield from lock_key("migrations")  # PostgreSQL: one process at a time
    yield from execute(SCHEMA_MIGRATIONS_SQL)
    applied = {r["version"] for r in (yield from rows("SELECT version FROM schema_migrations"))}
    migrations = load_migrations(dialect.name)
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
            yield from execute(statement)
        yield from execute(
            "INSERT INTO schema_migrations (version, name, applied)"
            " VALUES (?, ?, CAST(? AS DOUBLE PRECISION))",
            m.version,
            m.name,
            time.time(),
        )


def split_statements(sql: str) -> list[str]:
    """Split a script on `;` outside quotes and `--` comments (no procedural bodies)."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            current.append("\n")
            continue
        if c in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if sql.startswith(c * 2, j):  # doubled quote: an escaped one
                        j += 2
                        continue
                    break
                j += 1
            current.append(sql[i : j + 1])
            i = j + 1
            continue
        if c == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(c)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]
