"""aws-cli with server-side encryption: `--sse AES256` and `--sse-c AES256 --sse-c-key`
(single and multipart uploads, ranged s3api reads) on a gateway whose data dir must never
hold the plaintext."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client, run_aws
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients]

MiB = 1024 * 1024
MARKER = b"AWSCLI-PLAINTEXT-MARKER-42"


@pytest.fixture(scope="module")
def sse_gateway(gateway_factory: GatewayFactory) -> GatewayProcess:
    return gateway_factory("http", extra_args=["--allow-sse-c-over-http"])


def _payload(path: Path, size: int) -> bytes:
    data = bytearray(os.urandom(size))
    for at in range(0, size - len(MARKER), MiB):
        data[at : at + len(MARKER)] = MARKER
    path.write_bytes(bytes(data))
    return bytes(data)


def _data_dir_holds(gw: GatewayProcess, needle: bytes) -> bool:
    for root, _, files in os.walk(gw.data_dir):
        for name in files:
            if name.startswith("meta.sqlite3") or name.endswith(".log"):
                continue
            if needle in Path(root, name).read_bytes():
                return True
    return False


def test_awscli_sse_s3_and_sse_c(sse_gateway: GatewayProcess, tmp_path: Path) -> None:
    gw = sse_gateway
    s3: Any = boto3_client(gw)
    bucket = "awscli-sse"
    s3.create_bucket(Bucket=bucket)
    big, small = tmp_path / "big.bin", tmp_path / "small.txt"
    big_body = _payload(big, 9 * MiB)  # above the cli's 8 MiB multipart threshold
    small_body = _payload(small, 100_000)
    key_file = tmp_path / "key.bin"
    key_file.write_bytes(os.urandom(32))
    sse_c = ["--sse-c", "AES256", "--sse-c-key", f"fileb://{key_file}"]

    run_aws(gw, "s3", "cp", "--sse", "AES256", str(big), f"s3://{bucket}/big")
    run_aws(gw, "s3", "cp", *sse_c, str(small), f"s3://{bucket}/small")
    run_aws(gw, "s3", "cp", *sse_c, str(big), f"s3://{bucket}/big-c")
    assert s3.head_object(Bucket=bucket, Key="big")["ServerSideEncryption"] == "AES256"
    assert not _data_dir_holds(gw, MARKER)

    out = tmp_path / "out"
    run_aws(gw, "s3", "cp", f"s3://{bucket}/big", str(out))
    assert out.read_bytes() == big_body
    run_aws(gw, "s3", "cp", *sse_c, f"s3://{bucket}/big-c", str(out))
    assert out.read_bytes() == big_body
    run_aws(gw, "s3", "cp", f"s3://{bucket}/small", str(out), expect_failure=True)

    ranged = tmp_path / "ranged"
    start, end = 8 * MiB - 10, 8 * MiB + 10  # across the multipart part boundary
    head = run_aws(
        gw, "s3api", "get-object", "--bucket", bucket, "--key", "big",
        "--range", f"bytes={start}-{end}", str(ranged),
    )  # fmt: skip
    assert json.loads(head.stdout)["ServerSideEncryption"] == "AES256"
    assert ranged.read_bytes() == big_body[start : end + 1]
    run_aws(
        gw, "s3api", "get-object", "--bucket", bucket, "--key", "small",
        "--sse-customer-algorithm", "AES256", "--sse-customer-key", f"fileb://{key_file}",
        "--range", "bytes=65530-65545", str(ranged),
    )  # fmt: skip
    assert ranged.read_bytes() == small_body[65530:65546]


def test_awscli_sse_kms(sse_gateway: GatewayProcess, tmp_path: Path) -> None:
    """A key made with `kloudvault admin kms create`, used by `aws s3 cp --sse aws:kms
    --sse-kms-key-id` for a multipart upload; the data dir never holds the plaintext."""
    gw = sse_gateway
    s3: Any = boto3_client(gw)
    bucket = "awscli-sse-kms"
    s3.create_bucket(Bucket=bucket)
    created = gw.admin("kms", "create", "--alias", "alias/awscli").stdout
    key_id = created.split("key id:")[1].split()[0]
    big = tmp_path / "big.bin"
    body = _payload(big, 9 * MiB)  # above the cli's 8 MiB multipart threshold
    run_aws(
        gw, "s3", "cp", "--sse", "aws:kms", "--sse-kms-key-id", key_id, str(big), f"s3://{bucket}/k"
    )
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(key_id)
    assert not _data_dir_holds(gw, MARKER)
    start, end = 8 * MiB - 10, 8 * MiB + 10  # across the part boundary
    got = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={start}-{end}")
    assert got["Body"].read() == body[start : end + 1]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    assert key_id in gw.admin("kms", "list").stdout
