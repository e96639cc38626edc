"""Large transfers by the real clients, which switch to multipart above a threshold:
aws-cli (1 GiB, 8 MiB parts), boto3's transfer manager (200 MiB, 10 threads), rclone
(300 MiB: multipart above its 200 MiB cutoff) and s3fs (150 MiB: multipart from 100 MiB).

Each runs once, over http only (the http/https difference is covered by
test_multipart.py), against one gateway whose collector deletes garbage at once, so the
gigabytes written here leave the disk when the test's bucket is emptied. The 1 GiB test
also samples the server's resident memory: streaming must keep its growth under 64 MiB.
Files are random 1 MiB blocks stamped with their index (fast to make, never all equal).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import GatewayFactory
from tests.support.clients import (
    RCLONE_REMOTE,
    boto3_client,
    empty_and_delete_bucket,
    run_aws,
    run_rclone,
    s3fs_fs,
    unique_bucket_name,
)
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients, pytest.mark.slow]

MiB = 1024 * 1024
RSS_GROWTH_LIMIT = 64 * MiB


@pytest.fixture(scope="module")
def big_gateway(gateway_factory: GatewayFactory) -> Iterator[GatewayProcess]:
    gw = gateway_factory("http", extra_args=["--gc-grace", "0", "--gc-interval", "0.5"])
    yield gw
    # Let the collector delete the last test's gigabytes before the server goes.
    blobs = gw.data_dir / "blobs"
    deadline = time.monotonic() + 10
    while any(p.is_file() for p in blobs.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    gw.stop()


@pytest.fixture(scope="module")
def big_s3(big_gateway: GatewayProcess) -> Any:
    return boto3_client(big_gateway, max_pool_connections=16)


@pytest.fixture
def big_bucket(request: pytest.FixtureRequest, big_s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    big_s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(big_s3, name)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, emptied afterwards: pytest keeps old tmp dirs, and these hold gigabytes."""
    yield tmp_path
    for path in tmp_path.rglob("*"):
        if path.is_file():
            path.unlink()


def make_file(path: Path, mib: int) -> str:
    """Write `mib` MiB of stamped random blocks; return their SHA-256."""
    block = bytearray(os.urandom(MiB))
    sha = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for i in range(mib):
            block[:8] = i.to_bytes(8, "big")
            f.write(block)
            sha.update(block)
    return sha.hexdigest()


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MiB):
            sha.update(block)
    return sha.hexdigest()


class RssSampler:
    """Samples a process's VmRSS every 20 ms in a thread: the baseline and the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def test_aws_cli_1gib_roundtrip_with_bounded_memory(
    big_gateway: GatewayProcess,
    big_s3: Any,
    big_bucket: str,
    workdir: Path,
    record_property: Any,
) -> None:
    src, back = workdir / "one-gib.bin", workdir / "one-gib.back"
    digest = make_file(src, 1024)
    parts = {"multipart_threshold": "8MB", "multipart_chunksize": "8MB"}
    assert big_gateway.pid is not None
    with RssSampler(big_gateway.pid) as rss:
        started = time.monotonic()
        run_aws(big_gateway, "s3", "cp", "--only-show-errors", str(src),
                f"s3://{big_bucket}/one-gib.bin", s3=parts, timeout=600)  # fmt: skip
        upload = time.monotonic() - started
        started = time.monotonic()
        run_aws(big_gateway, "s3", "cp", "--only-show-errors",
                f"s3://{big_bucket}/one-gib.bin", str(back), s3=parts, timeout=600)  # fmt: skip
        download = time.monotonic() - started
    head = big_s3.head_object(Bucket=big_bucket, Key="one-gib.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == 1024 * MiB
    assert head["ETag"].endswith('-128"')  # 8 MiB parts
    assert sha256_of(back) == digest
    record_property("upload_mib_per_s", round(1024 / upload, 1))
    record_property("download_mib_per_s", round(1024 / download, 1))
    record_property("rss_growth_mib", round(rss.growth / MiB, 1))
    print(  # shown with -s / -rA: the numbers behind the bound
        f"\naws-cli 1 GiB: upload {upload:.1f}s ({1024 / upload:.0f} MiB/s), download "
        f"{download:.1f}s ({1024 / download:.0f} MiB/s); server RSS {rss.baseline / MiB:.0f}"
        f" -> peak {rss.peak / MiB:.0f} MiB (growth {rss.growth / MiB:.1f} MiB)"
    )
    assert rss.growth < RSS_GROWTH_LIMIT


def test_boto3_transfer_manager_200mib(big_s3: Any, big_bucket: str, workdir: Path) -> None:
    from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

    src, back = workdir / "two-hundred.bin", workdir / "two-hundred.back"
    digest = make_file(src, 200)
    config = TransferConfig(
        multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=10
    )
    big_s3.upload_file(str(src), big_bucket, "tm.bin", Config=config)
    head = big_s3.head_object(Bucket=big_bucket, Key="tm.bin", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-25"')
    # s3transfer asks for CRC32 by default: a COMPOSITE checksum of the 25 parts.
    assert head["ChecksumCRC32"].endswith("-25")
    assert head["ChecksumType"] == "COMPOSITE"
    big_s3.download_file(big_bucket, "tm.bin", str(back), Config=config)
    assert sha256_of(back) == digest


def test_rclone_300mib_copy_and_check(
    big_gateway: GatewayProcess, big_s3: Any, big_bucket: str, workdir: Path
) -> None:
    src = workdir / "up"
    digest = make_file(src / "three-hundred.bin", 300)
    remote = f"{RCLONE_REMOTE}:{big_bucket}/dir"
    run_rclone(big_gateway, "copy", str(src), remote, "--s3-upload-concurrency", "4", timeout=600)
    head = big_s3.head_object(Bucket=big_bucket, Key="dir/three-hundred.bin")
    assert head["ContentLength"] == 300 * MiB
    assert "-" in head["ETag"]  # above rclone's 200 MiB cutoff: a multipart upload
    # rclone keeps the MD5 of a multipart upload in metadata, and `check` compares it.
    assert "md5chksum" in head["Metadata"]
    run_rclone(big_gateway, "check", str(src), remote, timeout=600)
    back = workdir / "back"
    run_rclone(big_gateway, "copy", remote, str(back), timeout=600)
    assert sha256_of(back / "three-hundred.bin") == digest


def test_s3fs_150mib_put_get(
    big_gateway: GatewayProcess, big_s3: Any, big_bucket: str, workdir: Path
) -> None:
    src, back = workdir / "one-fifty.bin", workdir / "one-fifty.back"
    digest = make_file(src, 150)
    fs = s3fs_fs(big_gateway)
    fs.put(str(src), f"{big_bucket}/s3fs.bin")
    head = big_s3.head_object(Bucket=big_bucket, Key="s3fs.bin")
    assert head["ContentLength"] == 150 * MiB
    assert "-" in head["ETag"]  # s3fs uploads 50 MiB parts from 100 MiB on
    fs.get(f"{big_bucket}/s3fs.bin", str(back))
    assert sha256_of(back) == digest
