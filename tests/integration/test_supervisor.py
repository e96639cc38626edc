"""`serve --workers 2`: the workers run under a lean supervisor (gateway/supervisor.py).

`serve` bootstraps, prints its banner and replaces itself with `python -m
gateway.supervisor` under the same pid, which holds none of the gateway's modules: its
resident memory is a fraction of a worker's. It hands the settings over in a private file
it deletes at once, and on SIGTERM stops its workers and removes the metrics directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client


def _cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_run_under_a_lean_supervisor(gateway_factory: GatewayFactory) -> None:
    gw = gateway_factory(extra_args=["--workers", "2"])
    assert gw.pid is not None
    supervisor = _cmdline(gw.pid)
    assert supervisor[1:3] == ["-m", "gateway.supervisor"], supervisor  # same pid, exec'd
    metrics_dir = Path(supervisor[-1])
    assert metrics_dir.is_dir()
    assert (metrics_dir.stat().st_mode & 0o777) == 0o700
    assert not (metrics_dir / "settings.pickle").exists()

    workers = [c for c in _children(gw.pid) if "spawn_main" in " ".join(_cmdline(c))]
    assert len(workers) == 2
    client = boto3_client(gw)
    client.create_bucket(Bucket="lean")
    client.put_object(Bucket="lean", Key="k", Body=b"served by a worker")
    assert client.get_object(Bucket="lean", Key="k")["Body"].read() == b"served by a worker"
    # The command-line process with the whole gateway imported held ~85 MiB; a worker
    # holds as much; the supervisor well under half of it.
    for worker in workers:
        assert _rss_kib(gw.pid) * 2 < _rss_kib(worker), (_rss_kib(gw.pid), _rss_kib(worker))

    gw.stop()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    assert not metrics_dir.exists()
    assert not os.path.exists(metrics_dir / "settings.pickle")
