"""The data directory is the server user's alone: 0700, its files 0600.

The server sets its umask to 077 before it creates anything, so the SQLite database, the
master key, blobs and temporary files are born private whatever the caller's umask. At
start the directory itself and the files at its top (the database, its WAL, the master key)
are checked: looser modes are tightened and reported, not left as they were, since they
hold every object's bytes and the keys to them. The blob tree below is not walked (it can
hold millions of files); with the umask, everything the server writes there is private.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private(data_dir: str | Path) -> list[str]:
    """Set the umask, create or tighten `data_dir`; the problems fixed, as log lines."""
    os.umask(PRIVATE_UMASK)
    root = Path(data_dir)
    fixed: list[str] = []
    if not root.exists():
        root.mkdir(mode=DIR_MODE, parents=True)
        return fixed
    fixed += _tighten(root, DIR_MODE)
    for entry in root.iterdir():
        if entry.is_symlink():
            continue
        fixed += _tighten(entry, DIR_MODE if entry.is_dir() else FILE_MODE)
    return fixed


def _tighten(path: Path, mode: int) -> list[str]:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077 == 0:
        return []
    path.chmod(current & ~0o077 & 0o7777 | (mode & 0o700))
    return [f"{path} was mode {current:o}; tightened to {stat.S_IMODE(path.stat().st_mode):o}"]
