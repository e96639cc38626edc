"""zstd compression through boto3 on the local backend: text stored smaller and read back
identical (whole, ranges across frames and parts, checksums, ETag), incompressible and
known-compressed content skipped under auto, a bucket's own mode, compress-then-encrypt
with SSE-KMS, and the space saved as `admin compression stats` and the metric report it."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.cli import build_parser
from gateway.codec.compress import ZSTD
from gateway.codec.frames import FRAME_SIZE
from gateway.compression import COMPRESSION_CONFIG, known_compressed
from gateway.compression_admin import compression_stats, run_compression
from gateway.meta.base import ObjectVersion
from gateway.metrics.series import COMPRESSION_SAVED
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.app.test_sse import MARKER, PART, _local_files_hold, _multipart, stored_bytes
from tests.support.clients import boto3_client, empty_and_delete_bucket, unique_bucket_name


def _text(size: int, marker: bytes = MARKER) -> bytes:
    line = b"%08d KloudVault stores this log line, compressible as logs are\n"
    out = b"".join(line % i for i in range(size // len(line % 0) + 1))[:size]
    return out[: size // 2] + marker + out[size // 2 + len(marker) :]


@pytest.fixture(scope="module")
def server(app_factory: AppFactory) -> AppServer:
    return app_factory(backend="local", compression="auto")


@pytest.fixture
def s3b(server: AppServer, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    client = boto3_client(server)
    name = unique_bucket_name(request.node.name)
    client.create_bucket(Bucket=name)
    yield client, name
    empty_and_delete_bucket(client, name)


def _version(server: AppServer, bucket: str, key: str) -> ObjectVersion:
    version = server.call(server.services.meta.get_object(bucket, key))
    assert version is not None
    return version


def test_text_is_stored_smaller_and_reads_back(s3b: tuple[Any, str], server: AppServer) -> None:
    s3, bucket = s3b
    body = _text(4 * FRAME_SIZE + 1000)
    saved_before = COMPRESSION_SAVED._value.get()
    put = s3.put_object(
        Bucket=bucket,
        Key="log.txt",
        Body=body,
        ContentType="text/plain",
        ChecksumAlgorithm="SHA256",
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    codec = _version(server, bucket, "log.txt").segments[0].codec
    assert codec is not None and codec.compression == ZSTD and codec.mode is None
    stored = stored_bytes(server, bucket, "log.txt")
    assert len(stored) < len(body) / 4
    got = s3.get_object(Bucket=bucket, Key="log.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == body and got["ContentLength"] == len(body)
    assert got["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    for start, end in [(0, 0), (FRAME_SIZE - 3, FRAME_SIZE + 3), (10, 3 * FRAME_SIZE + 7)]:
        part = s3.get_object(Bucket=bucket, Key="log.txt", Range=f"bytes={start}-{end}")
        assert part["Body"].read() == body[start : end + 1]
    assert s3.get_object(Bucket=bucket, Key="log.txt", Range="bytes=-5")["Body"].read() == body[-5:]
    assert COMPRESSION_SAVED._value.get() - saved_before == len(body) - codec.stored_size
    stats = server.call(compression_stats(server.services.meta, bucket))
    assert (stats.objects, stats.plain_bytes, stats.stored_bytes) == (
        1,
        len(body),
        codec.stored_size,
    )


def test_auto_skips_incompressible_and_known_types(s3b: tuple[Any, str], server: AppServer) -> None:
    s3, bucket = s3b
    noise = os.urandom(2 * FRAME_SIZE)
    s3.put_object(Bucket=bucket, Key="noise", Body=noise)
    s3.put_object(Bucket=bucket, Key="pic", Body=_text(FRAME_SIZE), ContentType="image/png")
    for key in ("noise", "pic"):
        assert _version(server, bucket, key).segments[0].codec is None  # plain: sendfile
    assert s3.get_object(Bucket=bucket, Key="noise")["Body"].read() == noise
    assert known_compressed("application/zip") and known_compressed("video/mp4; codecs=x")
    assert not known_compressed("image/svg+xml") and not known_compressed("text/csv")


def test_bucket_mode_overrides_the_service(s3b: tuple[Any, str], server: AppServer) -> None:
    s3, bucket = s3b
    meta = server.services.meta
    server.call(meta.put_bucket_config(bucket, COMPRESSION_CONFIG, "off"))
    s3.put_object(Bucket=bucket, Key="off", Body=_text(FRAME_SIZE))
    assert _version(server, bucket, "off").segments[0].codec is None
    server.call(meta.put_bucket_config(bucket, COMPRESSION_CONFIG, "on"))
    noise = os.urandom(FRAME_SIZE + 9)
    s3.put_object(Bucket=bucket, Key="on", Body=noise)
    codec = _version(server, bucket, "on").segments[0].codec
    assert codec is not None and codec.compression == ZSTD  # frames stored raw inside
    assert s3.get_object(Bucket=bucket, Key="on")["Body"].read() == noise
    part = s3.get_object(Bucket=bucket, Key="on", Range=f"bytes={FRAME_SIZE - 1}-{FRAME_SIZE + 1}")
    assert part["Body"].read() == noise[FRAME_SIZE - 1 : FRAME_SIZE + 2]


def test_compress_then_encrypt_multipart(s3b: tuple[Any, str], server: AppServer) -> None:
    s3, bucket = s3b
    secret = b"SSE-KMS-ONLY-MARKER-5f3a9c"  # the other tests leave plain MARKERs on disk
    parts = [_text(PART, secret), _text(FRAME_SIZE + 77, secret)]
    body = b"".join(parts)
    _multipart(s3, bucket, "mp", parts, ServerSideEncryption="aws:kms", ContentType="text/plain")
    for seg in _version(server, bucket, "mp").segments:
        assert seg.codec is not None
        assert (seg.codec.compression, seg.codec.mode) == (ZSTD, "SSE-KMS")
        assert seg.codec.stored_size < seg.size / 4
    assert secret not in stored_bytes(server, bucket, "mp")
    assert not _local_files_hold(server, secret)
    start, end = PART - FRAME_SIZE - 5, PART + FRAME_SIZE + 5  # across parts and frames
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}")
    assert got["Body"].read() == body[start : end + 1] and got["ServerSideEncryption"] == "aws:kms"
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == body


def test_admin_compression_commands(
    s3b: tuple[Any, str], server: AppServer, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, bucket = s3b

    def admin(*argv: str) -> int:
        args = build_parser().parse_args(["admin", "compression", *argv])
        return server.call(run_compression(server.services.meta, args))

    assert admin("set", bucket, "off") == 0
    assert server.call(server.services.meta.get_bucket_config(bucket, COMPRESSION_CONFIG)) == "off"
    assert admin("set", "no-such-bucket-here", "on") == 1
    assert admin("set", bucket, "default") == 0
    s3.put_object(Bucket=bucket, Key="t", Body=_text(2 * FRAME_SIZE))  # the service's auto
    capsys.readouterr()
    assert admin("stats", "--bucket", bucket) == 0
    out = capsys.readouterr().out
    assert "compressed versions: 1" in out and f"plaintext bytes:     {2 * FRAME_SIZE}" in out
