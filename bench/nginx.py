"""nginx as the bench's HTTP ceiling: what plain HTTP costs on this machine, S3 aside.

GETs are static files sent with sendfile; PUTs and DELETEs are WebDAV (ngx_http_dav_module,
in Debian's nginx-full: `apt-get install -y nginx-full`), which writes the body to a temp
file and renames it into place, with no fsync. So nginx does less than any S3 server must
(no signature, no metadata, no durability): its figures bound from above what a gateway
on the same machine can reach.

The bench's presigned URLs work unchanged: nginx serves the path and ignores the query
string. There are no buckets: a PUT creates the directories of its path
(create_full_put_path), and a clean-up DELETEs a directory, which WebDAV removes with
everything under it. Only the large, small and small-wrk workloads run against it (no
listing or multipart upload in plain HTTP).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONFIG = """\
daemon off;
master_process on;
user root;
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    client_max_body_size 0;
    client_body_temp_path {root}/body-temp;
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root}/data;
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw;
        }}
    }}
}}
"""


def binary() -> str | None:
    """The nginx executable, if installed (Debian puts it in /usr/sbin)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


class Nginx:
    """One nginx master (and its workers) on a free loopback port, serving `workdir`/data."""

    def __init__(self, workdir: Path, workers: int | None = None) -> None:
        self.workdir = workdir
        self.workers = workers or len(os.sched_getaffinity(0))
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        exe = binary()
        if exe is None:
            raise RuntimeError("nginx not found: apt-get install -y nginx-full")
        # The temp dir and the data dir share a file system, so a PUT's rename is atomic.
        for sub in ("data", "body-temp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        conf.write_text(CONFIG.format(root=self.workdir, port=self.port, workers=self.workers))
        log = (self.workdir / "stderr.log").open("wb")
        self._proc = subprocess.Popen(
            [exe, "-p", str(self.workdir), "-c", str(conf)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.workdir / 'stderr.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its workers
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
