"""Benchmark targets: `NAME=URL,KEY,SECRET[,PID]`, or servers started here (--start-local).

A target's PID (the server's main process) lets the bench sample the server's CPU time and
resident memory, its worker processes included. For servers started here the PID is known;
for a given URL without one, the process listening on the URL's port is looked up in
/proc (loopback servers only).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Target:
    name: str
    url: str
    access_key: str
    secret_key: str
    pid: int | None = None
    region: str = "us-east-1"
    notes: dict[str, str] = field(default_factory=dict)
    # "s3", or "http": a plain HTTP server (bench/nginx.py) that runs only the workloads
    # made of PUT, GET, HEAD and DELETE of single objects.
    kind: str = "s3"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (443 if self.url.startswith("https") else 80)


def parse_target(spec: str) -> Target:
    """NAME=URL,KEY,SECRET[,PID]"""
    name, sep, rest = spec.partition("=")
    parts = rest.split(",")
    if not sep or not name or len(parts) not in (3, 4):
        raise ValueError(f"target {spec!r}: expected NAME=URL,KEY,SECRET[,PID]")
    pid = int(parts[3]) if len(parts) == 4 else None
    target = Target(name, parts[0].rstrip("/"), parts[1], parts[2], pid)
    if target.pid is None:
        target.pid = pid_listening_on(target.port)
    return target


def pid_listening_on(port: int) -> int | None:
    """The process with a LISTEN socket on `port` (Linux /proc; None if not found)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    if not inodes:
        return None
    found: list[int] = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                m = re.fullmatch(r"socket:\[(\d+)\]", link)
                if m and m.group(1) in inodes:
                    found.append(int(pid))
                    break
        except OSError:
            continue
    if not found:
        return None
    # Several workers share the port (SO_REUSEPORT): report their common parent if any.
    parents = {_ppid(p) for p in found}
    if len(found) > 1 and len(parents) == 1:
        parent = parents.pop()
        if parent is not None and parent > 1:
            return parent
    return min(found)


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _bench_seaweedfs(workdir: Path) -> Any:
    """The tests' SeaweedFS, with volumes sized for benchmark data (1 GiB, not 256 MiB):
    with the tests' small volumes, gigabytes of uploads keep the master growing volumes."""
    from tests.support.seaweedfs import SeaweedFS

    class BenchSeaweedFS(SeaweedFS):
        def command(self) -> list[str]:
            return [
                VOLUME_LIMIT if arg.startswith("-master.volumeSizeLimitMB=") else arg
                for arg in super().command()
            ]

    return BenchSeaweedFS(workdir)


VOLUME_LIMIT = "-master.volumeSizeLimitMB=1024"


class LocalServers:
    """SeaweedFS (the reference), nginx (the HTTP ceiling, bench/nginx.py) and KloudVault
    (local backend), started for a bench run.

    SeaweedFS and KloudVault come from the test support code, so the bench starts them
    exactly as the tests do.
    """

    def __init__(
        self,
        workdir: Path | None = None,
        kloudvault_args: tuple[str, ...] = (),
        workers: tuple[int, ...] = (),
        seaweedfs: bool = True,
        nginx: bool = False,
    ) -> None:
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="kv-bench-"))
        self._own = workdir is None
        self.kloudvault_args = kloudvault_args
        # One KloudVault per worker count (named kloudvault-wN); none given: one, defaults.
        self.workers = workers
        self.seaweedfs = seaweedfs
        self.nginx = nginx
        self._servers: list[Any] = []

    def start(self) -> list[Target]:
        from tests.support.gateway import GatewayProcess

        targets: list[Target] = []
        if self.seaweedfs:
            weed = _bench_seaweedfs(self.workdir / "seaweedfs")
            self._servers.append(weed)
            weed.start()
            targets.append(
                Target("seaweedfs", weed.endpoint, weed.access_key, weed.secret_key, weed.pid,
                       notes={"start": f"weed server -s3 ({VOLUME_LIMIT})"})
            )  # fmt: skip
        if self.nginx:
            from bench.nginx import Nginx

            web = Nginx(self.workdir / "nginx")
            self._servers.append(web)
            web.start()
            targets.append(
                Target("nginx", web.endpoint, "-", "-", web.pid, kind="http",
                       notes={"start": f"nginx {web.workers} workers: sendfile GET, WebDAV PUT"})
            )  # fmt: skip
        # The gateway's own default (one worker per CPU), spelled out: the tests' process
        # launcher pins --workers 1 unless told otherwise.
        default = ("--workers", str(len(os.sched_getaffinity(0))))
        variants: list[tuple[str, tuple[str, ...]]] = [("kloudvault", default)]
        if self.workers:
            variants = [(f"kloudvault-w{n}", ("--workers", str(n))) for n in self.workers]
        for name, extra in variants:
            args = (*self.kloudvault_args, *extra)
            # A loaded machine can take more than the tests' 30 s to start the workers.
            gw = GatewayProcess(self.workdir / name, "http", extra_args=args, startup_timeout=120.0)
            self._servers.append(gw)
            gw.start()
            shown = " ".join(args) or "(defaults)"
            targets.append(
                Target(name, gw.endpoint, gw.access_key, gw.secret_key, gw.pid,
                       notes={"start": f"python -m gateway serve --backend local {shown}"})
            )  # fmt: skip
        return targets

    def stop(self) -> None:
        for server in reversed(self._servers):
            try:
                if hasattr(server, "close"):
                    server.close()
                else:
                    server.stop()
            except Exception as exc:  # report, keep stopping the others
                print(f"bench: stopping {server!r}: {exc!r}")
        self._servers.clear()
        if self._own:
            shutil.rmtree(self.workdir, ignore_errors=True)
