"""The local disk full under a real `serve`: the upload fails cleanly, nothing is lost, the
service recovers when space returns.

The data directory (blobs and SQLite) is a small tmpfs the test mounts, so "full" is the
kernel's ENOSPC, not a simulation. Mounting needs root (or CAP_SYS_ADMIN): without it the
test is skipped, saying so.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.clients import boto3_client
from tests.support.gateway import GatewayProcess, start_gateway

MiB = 1024 * 1024
FS_SIZE = 16 * MiB


@pytest.fixture
def small_data_dir(tmp_path: Path) -> Iterator[Path]:
    workdir = tmp_path / "gw"
    data = workdir / "data"
    data.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the data directory needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0700", "tmpfs", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield workdir
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def _free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def test_disk_full_upload_fails_cleanly_and_recovers(small_data_dir: Path) -> None:
    gw: GatewayProcess = start_gateway(small_data_dir)
    try:
        s3 = boto3_client(gw)
        s3.create_bucket(Bucket="full")
        kept = os.urandom(256 * 1024)
        s3.put_object(Bucket="full", Key="kept", Body=kept)
        # Fill the file system but for a little room, behind the gateway's back.
        filler = gw.data_dir / "filler"
        room = 512 * 1024
        with filler.open("wb") as f:
            f.write(b"\0" * max(0, _free(gw.data_dir) - room))
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket="full", Key="big", Body=os.urandom(2 * MiB))
        error = caught.value.response
        status = error["ResponseMetadata"]["HTTPStatusCode"]
        assert status in (503, 507), error
        assert error["Error"]["Code"] in ("ServiceUnavailable", "InsufficientStorage", "SlowDown")
        # Nothing lost, nothing half-stored.
        assert s3.get_object(Bucket="full", Key="kept")["Body"].read() == kept
        with pytest.raises(ClientError):
            s3.head_object(Bucket="full", Key="big")
        # Space returns: the same process takes the upload.
        filler.unlink()
        big = os.urandom(2 * MiB)
        s3.put_object(Bucket="full", Key="big", Body=big)
        assert s3.get_object(Bucket="full", Key="big")["Body"].read() == big
        assert s3.get_object(Bucket="full", Key="kept")["Body"].read() == kept
        assert "Traceback" not in gw.logs_since()
    finally:
        gw.stop()
