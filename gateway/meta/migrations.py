"""Numbered schema migrations, shared by the SQLite and PostgreSQL stores.

Files in gateway/meta/migrations/ are named NNNN_<name>.sql and applied in number order;
each is applied once and recorded in `schema_migrations`. SQL is written to run on both
databases. Where a dialect must differ, NNNN_<name>.<dialect>.sql (e.g.
0001_initial.postgres.sql) replaces NNNN_<name>.sql for that dialect only.

This module only finds and splits the files; each store applies them inside one
transaction holding its write lock (BEGIN IMMEDIATE for SQLite, an advisory lock for
PostgreSQL), so that several processes starting at once apply each migration exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# The bookkeeping table; created by the store before it reads which versions are applied.
SCHEMA_MIGRATIONS_SQL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied DOUBLE PRECISION NOT NULL
)
"""

_FILE = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<dialect>[a-z0-9]+))?\.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        return split_statements(self.sql)


def load_migrations(dialect: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations for `dialect` ("sqlite", "postgres") in the order to apply them."""
    generic: dict[int, tuple[str, Path]] = {}
    override: dict[int, tuple[str, Path]] = {}
    for path in sorted(directory.iterdir()):
        m = _FILE.fullmatch(path.name)
        if m is None:
            continue
        if m["dialect"] is not None and m["dialect"] != dialect:
            continue
        table = generic if m["dialect"] is None else override
        version = int(m["version"])
        if version in table:
            raise ValueError(f"two migrations numbered {version:04d}: {table[version][1]}, {path}")
        table[version] = (m["name"], path)
    chosen = generic | override
    return [
        Migration(version, name, path.read_text(encoding="utf-8"))
        for version, (name, path) in sorted(chosen.items())
    ]


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
