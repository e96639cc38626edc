"""gateway/metrics/series.py with several workers (PROMETHEUS_MULTIPROC_DIR): each process
writes its own file, a forked child included, though the pid is not asked per update."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_WORKER = """
import os, sys
from prometheus_client import values
from gateway.metrics import series

series.REQUESTS.labels("GetObject", "200").inc()
assert series.process_id() == os.getpid()
child = os.fork()
if child == 0:
    series.REQUESTS.labels("GetObject", "200").inc()  # the child's own file
    os._exit(0 if series.process_id() == os.getpid() else 1)
_, status = os.waitpid(child, 0)
print(child, os.waitstatus_to_exitcode(status))
"""


def test_each_process_writes_its_own_file(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    child, code = (int(x) for x in done.stdout.split())
    assert code == 0
    files = {p.name for p in tmp_path.iterdir()}
    assert {f"counter_{child}.db"} < files
    assert len([f for f in files if f.startswith("counter_")]) == 2
