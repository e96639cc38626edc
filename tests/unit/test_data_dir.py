"""The data directory is made private at start (gateway/data_dir.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.data_dir import make_private


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_directory_and_what_is_written_in_it_are_private(tmp_path: Path) -> None:
    os.umask(0o022)
    root = tmp_path / "data"
    assert make_private(root) == []
    assert mode(root) == 0o700
    (root / "metadata.db").write_bytes(b"x")
    (root / "blobs").mkdir()
    assert mode(root / "metadata.db") == 0o600
    assert mode(root / "blobs") == 0o700


def test_loose_modes_are_tightened_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    root.chmod(0o755)
    key = root / "master.key"
    key.write_bytes(b"k")
    key.chmod(0o644)
    private = root / "already"
    private.write_bytes(b"p")
    private.chmod(0o600)
    fixed = make_private(root)
    assert len(fixed) == 2 and any("master.key" in line for line in fixed)
    assert (mode(root), mode(key), mode(private)) == (0o700, 0o600, 0o600)
    assert make_private(root) == []
