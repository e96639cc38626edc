"""One migration set for both databases: each dialect's text says what the two per-dialect
files said before (legacy_migrations/, kept as they were), statement for statement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.meta.migrations import load_migrations, split_statements

LEGACY = Path(__file__).with_name("legacy_migrations")


def normalized(sql: str) -> list[str]:
    return [re.sub(r"\s+", " ", s) for s in split_statements(sql)]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_each_dialect_runs_what_its_own_files_said(dialect: str) -> None:
    migrations = load_migrations(dialect)
    assert [m.version for m in migrations][:4] == [1, 2, 3, 4]
    for m in migrations:
        legacy = LEGACY / f"{m.version:04d}_{m.name}.{dialect}.sql"
        if not legacy.exists():  # written once from the start (0004 on)
            assert "/*pg" not in m.sql
            continue
        assert normalized(m.sql) == normalized(legacy.read_text()), m.name


def test_sqlite_text_keeps_no_postgres_only_part() -> None:
    for m in load_migrations("sqlite"):
        text = " ".join(m.statements())
        assert "COLLATE" not in text and "INCLUDE" not in text and "/*pg" not in text


def test_postgres_text_uncomments_its_parts() -> None:
    (initial,) = [m for m in load_migrations("postgres") if m.version == 1]
    assert 'key TEXT COLLATE "C" NOT NULL' in initial.sql
    assert "(bucket, key)\n    INCLUDE (is_delete_marker) WHERE is_latest" in initial.sql


def test_load_migrations_postgres_only_parts(tmp_path: Path) -> None:
    (tmp_path / "0001_initial.sql").write_text('CREATE TABLE t (k TEXT /*pg COLLATE "C" */);')
    (tmp_path / "0002_more.sql").write_text("SELECT 2; /*pg\nSELECT 3; */")
    (tmp_path / "README.md").write_text("not a migration")
    lite = load_migrations("sqlite", tmp_path)
    pg = load_migrations("postgres", tmp_path)
    assert [(m.version, m.name, m.statements()) for m in lite] == [
        (1, "initial", ["CREATE TABLE t (k TEXT )"]),
        (2, "more", ["SELECT 2"]),
    ]
    assert [(m.version, m.statements()) for m in pg] == [
        (1, ['CREATE TABLE t (k TEXT COLLATE "C")']),
        (2, ["SELECT 2", "SELECT 3"]),
    ]
    (tmp_path / "0002_clash.sql").write_text("SELECT 0;")
    with pytest.raises(ValueError, match="0002"):
        load_migrations("sqlite", tmp_path)
