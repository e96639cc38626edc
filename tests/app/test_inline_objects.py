"""Small objects stored inline in their version rows (gateway/writepath.py, migration 0018)
through boto3, on every backend (inline bypasses it): PUT, GET, HEAD, Range and
conditional reads, CopyObject (inline source to inline destination), versioning, delete,
SSE-S3, SSE-C and compression (the row holds the coded bytes, never the plaintext), and
the threshold's edge: one byte more is a blob."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway.meta.base import ObjectVersion
from gateway.settings import INLINE_THRESHOLD
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import boto3_client, empty_and_delete_bucket, unique_bucket_name

pytestmark = [pytest.mark.all_backends]

MARKER = b"INLINE-PLAINTEXT-MARKER-0123456789"


def _body(size: int, marker: bytes = MARKER) -> bytes:
    body = bytearray(os.urandom(size))
    body[size // 2 : size // 2 + len(marker)] = marker
    return bytes(body)


def _version(server: AppServer, bucket: str, key: str, version_id: str | None = None) -> Any:
    version = server.call(server.services.meta.get_object(bucket, key, version_id))
    assert version is not None
    return version


def _is_inline(version: ObjectVersion) -> bool:
    return len(version.segments) == 1 and version.segments[0].inline


def _metadata_holds(server: AppServer, needle: bytes) -> bool:
    """Whether the SQLite files (database and WAL) hold `needle` anywhere."""
    for name in os.listdir(server.data_dir):
        if name.startswith("meta.sqlite3"):
            if needle in (server.data_dir / name).read_bytes():
                return True
    return False


def test_put_object_small_is_inline(s3: Any, bucket: str, gateway: AppServer) -> None:
    marker = os.urandom(16).hex().encode()
    body = _body(4096, marker)
    blobs_before = set(gateway.blob_ids())
    put = s3.put_object(Bucket=bucket, Key="small", Body=body, ContentType="text/x-small")
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    version = _version(gateway, bucket, "small")
    assert _is_inline(version) and version.inline_data == body
    assert set(gateway.blob_ids()) == blobs_before  # nothing reached the backend
    assert _metadata_holds(gateway, marker)  # the check below can fail
    got = s3.get_object(Bucket=bucket, Key="small")
    assert (got["Body"].read(), got["ETag"], got["ContentType"]) == (body, etag, "text/x-small")
    head = s3.head_object(Bucket=bucket, Key="small")
    assert (head["ContentLength"], head["ETag"]) == (4096, etag)
    for header, want in [("bytes=10-99", body[10:100]), ("bytes=-5", body[-5:])]:
        part = s3.get_object(Bucket=bucket, Key="small", Range=header)
        assert part["Body"].read() == want
        assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="small", IfNoneMatch=etag)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="small", IfMatch='"0000"')
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("small", 4096, etag)]
    s3.delete_object(Bucket=bucket, Key="small")
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="small")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"


def test_put_object_threshold_edge(s3: Any, bucket: str, gateway: AppServer) -> None:
    at, over, empty = _body(INLINE_THRESHOLD), _body(INLINE_THRESHOLD + 1), b""
    for key, body in [("at", at), ("over", over), ("empty", empty)]:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert _is_inline(_version(gateway, bucket, "at"))
    assert _is_inline(_version(gateway, bucket, "empty"))
    over_version = _version(gateway, bucket, "over")
    assert not _is_inline(over_version) and over_version.inline_data is None
    assert over_version.segments[0].blob_id in gateway.blob_ids()


def test_copy_object_inline_to_inline(s3: Any, bucket: str, gateway: AppServer) -> None:
    body = _body(3000)
    s3.put_object(Bucket=bucket, Key="src", Body=body)
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    dst = _version(gateway, bucket, "dst")
    assert _is_inline(dst) and dst.inline_data == body
    s3.delete_object(Bucket=bucket, Key="src")  # the copy owns its bytes
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == body
    # A large source copied stays a blob.
    big = _body(INLINE_THRESHOLD + 10)
    s3.put_object(Bucket=bucket, Key="big", Body=big)
    s3.copy_object(Bucket=bucket, Key="big2", CopySource={"Bucket": bucket, "Key": "big"})
    assert not _is_inline(_version(gateway, bucket, "big2"))
    assert s3.get_object(Bucket=bucket, Key="big2")["Body"].read() == big


def test_versioning_inline(s3: Any, bucket: str, gateway: AppServer) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first, second = _body(100), _body(200)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=first)["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=second)["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == first
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == second
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v2)["Body"].read() == second
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == first
    assert _version(gateway, bucket, "k").version_id == v1


def test_sse_s3_inline_holds_no_plaintext(s3: Any, bucket: str, gateway: AppServer) -> None:
    marker = os.urandom(16).hex().encode()  # the server's database is shared by tests
    body = _body(5000, marker)
    s3.put_object(Bucket=bucket, Key="sealed", Body=body, ServerSideEncryption="AES256")
    version = _version(gateway, bucket, "sealed")
    assert _is_inline(version) and version.segments[0].codec is not None
    assert version.inline_data is not None and marker not in version.inline_data
    assert not _metadata_holds(gateway, marker)
    got = s3.get_object(Bucket=bucket, Key="sealed")
    assert (got["Body"].read(), got["ServerSideEncryption"]) == (body, "AES256")
    ranged = s3.get_object(Bucket=bucket, Key="sealed", Range="bytes=100-4999")
    assert ranged["Body"].read() == body[100:]
    # A copy of a sealed inline object is sealed under a key of its own.
    s3.copy_object(
        Bucket=bucket,
        Key="sealed2",
        CopySource={"Bucket": bucket, "Key": "sealed"},
        ServerSideEncryption="AES256",
    )
    copy = _version(gateway, bucket, "sealed2")
    assert _is_inline(copy) and copy.inline_data != version.inline_data
    assert s3.get_object(Bucket=bucket, Key="sealed2")["Body"].read() == body


# -- SSE-C and compression need servers of their own ------------------------------------------


@pytest.fixture(scope="module")
def coded_server(app_factory: AppFactory) -> AppServer:
    return app_factory(allow_sse_c_over_http=True, compression="on")


@pytest.fixture
def coded(coded_server: AppServer, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    client = boto3_client(coded_server)
    name = unique_bucket_name(request.node.name)
    client.create_bucket(Bucket=name)
    yield client, name
    empty_and_delete_bucket(client, name)


@pytest.mark.local_only
def test_sse_c_inline(coded: tuple[Any, str], coded_server: AppServer) -> None:
    s3, bucket = coded
    key = os.urandom(32)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    body = _body(2048)
    s3.put_object(Bucket=bucket, Key="c", Body=body, **sse_c)
    version = _version(coded_server, bucket, "c")
    assert _is_inline(version) and version.segments[0].codec is not None
    assert version.inline_data is not None and MARKER not in version.inline_data
    assert s3.get_object(Bucket=bucket, Key="c", **sse_c)["Body"].read() == body
    assert (
        s3.get_object(Bucket=bucket, Key="c", Range="bytes=0-9", **sse_c)["Body"].read()
        == (body[:10])
    )
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.local_only
def test_compressed_inline(coded: tuple[Any, str], coded_server: AppServer) -> None:
    s3, bucket = coded
    body = (b"a log line that compresses well " * 1000)[:30000]
    s3.put_object(Bucket=bucket, Key="z", Body=body)
    version = _version(coded_server, bucket, "z")
    codec = version.segments[0].codec
    assert _is_inline(version) and codec is not None and codec.compression is not None
    assert version.inline_data is not None and len(version.inline_data) < len(body) // 4
    assert version.size == len(body)
    assert s3.get_object(Bucket=bucket, Key="z")["Body"].read() == body
    got = s3.get_object(Bucket=bucket, Key="z", Range="bytes=1000-20999")
    assert got["Body"].read() == body[1000:21000]
