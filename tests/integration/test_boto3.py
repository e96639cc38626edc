"""boto3 against a live gateway process, over http and https: the smoke suite.

What the S3 operations do is tested with boto3 on the in-process app (tests/app); here a
real server process shows that boto3 works end to end, once over plain http and once over
TLS, where it verifies the certificate and sends unsigned payloads with trailing checksums.
"""

from __future__ import annotations

import http.client
import io
import os
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

from tests.support.clients import boto3_client
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients, pytest.mark.https]

MiB = 1024 * 1024


def http_get(url: str, context: ssl.SSLContext | None) -> tuple[int, bytes]:
    """GET `url` as a browser would: no SDK, the given trust."""
    try:
        with urllib.request.urlopen(url, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_put_get_head_list_delete(s3: Any, bucket: str) -> None:
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="dir/k", Body=data, ChecksumAlgorithm="CRC32C")
    assert put["ChecksumCRC32C"]
    got = s3.get_object(Bucket=bucket, Key="dir/k", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32C"] == put["ChecksumCRC32C"]
    assert s3.head_object(Bucket=bucket, Key="dir/k")["ContentLength"] == len(data)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/k"]
    s3.delete_object(Bucket=bucket, Key="dir/k")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_transfer_manager_multipart(s3: Any, bucket: str) -> None:
    data = os.urandom(12 * MiB)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "mp.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="mp.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "mp.bin", out, Config=config)
    assert out.getvalue() == data


def test_presigned_get(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared", Body=b"for a browser")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared"}, ExpiresIn=60
    )
    assert url.startswith(f"{gateway.scheme}://")
    assert http_get(url, gateway.ssl_context) == (200, b"for a browser")


def test_https_clients_really_verify(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    """The https run means something only if an untrusting client is refused."""
    if gateway.scheme != "https":
        pytest.skip("https only")
    url = boto3_client(gateway).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    )
    system_trust = ssl.create_default_context()  # no test CA in it
    parts = urlsplit(url)
    conn = http.client.HTTPSConnection(gateway.host, gateway.port, timeout=30, context=system_trust)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("GET", f"{parts.path}?{parts.query}")
    finally:
        conn.close()
