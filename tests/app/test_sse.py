"""Server-side encryption through boto3: SSE-S3, SSE-C, bucket default encryption; the
stored bytes never hold the plaintext."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway.codec.frames import FRAME_SIZE
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.app.test_buckets import code_of, status_of
from tests.support.clients import boto3_client, empty_and_delete_bucket, unique_bucket_name

pytestmark = [pytest.mark.all_backends]

MARKER = b"PLAINTEXT-MARKER-0123456789"


def _body(size: int) -> bytes:
    """Random bytes with the marker planted at the start, across a frame edge and at the end."""
    body = bytearray(os.urandom(size))
    for at in (0, FRAME_SIZE - 5, size - len(MARKER)):
        if 0 <= at <= size - len(MARKER):
            body[at : at + len(MARKER)] = MARKER
    return bytes(body)


def stored_bytes(server: AppServer, bucket: str, key: str) -> bytes:
    """The raw bytes of every blob of the key's latest version, as the backend holds them."""
    services = server.services

    async def read() -> bytes:
        version = await services.meta.get_object(bucket, key)
        assert version is not None
        out = bytearray()
        for seg in version.segments:
            size = seg.codec.stored_size if seg.codec else seg.size
            async for chunk in services.backend.get_blob(seg.blob_id, 0, size):
                out += chunk
        return bytes(out)

    return server.call(read())


def _local_files_hold(server: AppServer, needle: bytes) -> bool:
    for root, _, files in os.walk(server.data_dir):
        for name in files:
            path = os.path.join(root, name)
            if name.startswith("meta.sqlite3"):
                continue
            with open(path, "rb") as f:
                if needle in f.read():
                    return True
    return False


def test_sse_s3_put_get_head_range(s3: Any, bucket: str, gateway: AppServer) -> None:
    body = _body(3 * FRAME_SIZE + 1234)
    # The session's gateway also holds other tests' plain MARKERs: look for this body's own.
    token = b"SSE-ONLY-" + os.urandom(8).hex().encode()
    body = body[:100] + token + body[100 + len(token) :]
    put = s3.put_object(Bucket=bucket, Key="obj", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    assert got["ServerSideEncryption"] == "AES256"
    assert got["ContentLength"] == len(body)
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(body)
    for start, end in [(0, 0), (FRAME_SIZE - 3, FRAME_SIZE + 3), (10, 2 * FRAME_SIZE + 7)]:
        part = s3.get_object(Bucket=bucket, Key="obj", Range=f"bytes={start}-{end}")
        assert part["Body"].read() == body[start : end + 1]
    tail = s3.get_object(Bucket=bucket, Key="obj", Range="bytes=-5")
    assert tail["Body"].read() == body[-5:]
    stored = stored_bytes(gateway, bucket, "obj")
    assert MARKER not in stored and len(stored) > len(body)
    if gateway.settings.backend == "local":
        assert not _local_files_hold(gateway, token)


@pytest.mark.parametrize("size", [0, 1])
def test_sse_s3_tiny_objects(s3: Any, bucket: str, size: int) -> None:
    body = b"x" * size
    s3.put_object(Bucket=bucket, Key="tiny", Body=body, ServerSideEncryption="AES256")
    got = s3.get_object(Bucket=bucket, Key="tiny")
    assert got["Body"].read() == body and got["ServerSideEncryption"] == "AES256"


def test_sse_s3_checksum_is_of_the_plaintext(s3: Any, bucket: str) -> None:
    body = _body(100_000)
    s3.put_object(
        Bucket=bucket, Key="c", Body=body, ServerSideEncryption="AES256", ChecksumAlgorithm="SHA256"
    )
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_copy_between_modes(s3: Any, bucket: str, gateway: AppServer) -> None:
    body = _body(FRAME_SIZE + 10)
    s3.put_object(Bucket=bucket, Key="plain", Body=body)
    copied = s3.copy_object(
        Bucket=bucket, Key="enc", CopySource=f"{bucket}/plain", ServerSideEncryption="AES256"
    )
    assert copied["ServerSideEncryption"] == "AES256"
    assert MARKER not in stored_bytes(gateway, bucket, "enc")
    assert s3.get_object(Bucket=bucket, Key="enc")["Body"].read() == body
    back = s3.copy_object(Bucket=bucket, Key="plain2", CopySource=f"{bucket}/enc")
    assert "ServerSideEncryption" not in back
    assert s3.get_object(Bucket=bucket, Key="plain2")["Body"].read() == body
    # Re-encrypting in place is a change of encryption attributes: allowed.
    s3.copy_object(
        Bucket=bucket, Key="enc", CopySource=f"{bucket}/enc", ServerSideEncryption="AES256"
    )
    assert s3.get_object(Bucket=bucket, Key="enc")["Body"].read() == body


@pytest.mark.local_only
def test_bad_sse_values(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES512")
    assert (status_of(err), code_of(err)) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", SSEKMSKeyId="some-key")
    assert (status_of(err), code_of(err)) == (400, "InvalidArgument")


# -- SSE-C ------------------------------------------------------------------------------------

KEY = os.urandom(32)
OTHER_KEY = os.urandom(32)


def _sse_c(key: bytes = KEY) -> dict[str, Any]:
    # boto3 base64-encodes the key and adds its MD5 itself.
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


@pytest.fixture(scope="module")
def sse_c_server(app_factory: AppFactory) -> AppServer:
    return app_factory(allow_sse_c_over_http=True)


@pytest.fixture
def sse_c(sse_c_server: AppServer, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    client = boto3_client(sse_c_server)
    name = unique_bucket_name(request.node.name)
    client.create_bucket(Bucket=name)
    yield client, name
    empty_and_delete_bucket(client, name)


@pytest.mark.local_only
def test_sse_c_round_trip_and_key_errors(sse_c: tuple[Any, str], sse_c_server: AppServer) -> None:
    s3, bucket = sse_c
    body = _body(2 * FRAME_SIZE + 3)
    put = s3.put_object(Bucket=bucket, Key="c", Body=body, **_sse_c())
    key_md5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
    assert put["SSECustomerAlgorithm"] == "AES256" and put["SSECustomerKeyMD5"] == key_md5
    assert MARKER not in stored_bytes(sse_c_server, bucket, "c")
    got = s3.get_object(Bucket=bucket, Key="c", **_sse_c())
    assert got["Body"].read() == body and got["SSECustomerKeyMD5"] == key_md5
    ranged = s3.get_object(Bucket=bucket, Key="c", Range="bytes=65530-65545", **_sse_c())
    assert ranged["Body"].read() == body[65530:65546]
    assert s3.head_object(Bucket=bucket, Key="c", **_sse_c())["ContentLength"] == len(body)
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket, Key="c")
        assert status_of(err) == 400
        with pytest.raises(ClientError) as err:
            call(Bucket=bucket, Key="c", **_sse_c(OTHER_KEY))
        assert status_of(err) == 403
    # SSE-C headers on an object that is not SSE-C.
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="plain", **_sse_c())
    assert (status_of(err), code_of(err)) == (400, "InvalidRequest")


@pytest.mark.local_only
def test_sse_c_copy_source_and_destination_keys(sse_c: tuple[Any, str]) -> None:
    s3, bucket = sse_c
    body = _body(70_000)
    s3.put_object(Bucket=bucket, Key="src", Body=body, **_sse_c())
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src")
    assert status_of(err) == 400
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource=f"{bucket}/src",
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY,
        **_sse_c(OTHER_KEY),
    )
    assert s3.get_object(Bucket=bucket, Key="dst", **_sse_c(OTHER_KEY))["Body"].read() == body
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="dst", **_sse_c())
    assert status_of(err) == 403


def _raw_put(s3: Any, bucket: str, headers: dict[str, str]) -> ClientError:
    """PutObject with `headers` set as given (boto3 would compute the key MD5 itself)."""

    def set_headers(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    s3.meta.events.register_first("before-sign.s3.PutObject", set_headers)
    try:
        with pytest.raises(ClientError) as err:
            s3.put_object(Bucket=bucket, Key="bad", Body=b"x")
    finally:
        s3.meta.events.unregister("before-sign.s3.PutObject", set_headers)
    return err.value


@pytest.mark.local_only
def test_sse_c_header_errors(sse_c: tuple[Any, str]) -> None:
    s3, bucket = sse_c
    key = base64.b64encode(KEY).decode()
    md5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
    short = base64.b64encode(b"k" * 16).decode()
    short_md5 = base64.b64encode(hashlib.md5(b"k" * 16).digest()).decode()
    prefix = "x-amz-server-side-encryption-customer-"
    cases = [
        ({prefix + "algorithm": "AES256"}, "InvalidArgument"),  # no key
        ({prefix + "algorithm": "AES256", prefix + "key": key}, "InvalidArgument"),  # no MD5
        ({prefix + "algorithm": "AES256", prefix + "key": short, prefix + "key-MD5": short_md5},
         "InvalidArgument"),
        ({prefix + "algorithm": "AES256", prefix + "key": key, prefix + "key-MD5": short_md5},
         "InvalidArgument"),
        ({prefix + "algorithm": "AES128", prefix + "key": key, prefix + "key-MD5": md5},
         "InvalidEncryptionAlgorithmError"),
        ({prefix + "key": key, prefix + "key-MD5": md5}, "InvalidArgument"),  # no algorithm
        ({prefix + "algorithm": "AES256", prefix + "key": key, prefix + "key-MD5": md5,
          "x-amz-server-side-encryption": "AES256"}, "InvalidArgument"),
    ]  # fmt: skip
    for headers, code in cases:
        error = _raw_put(s3, bucket, headers)
        assert error.response["Error"]["Code"] == code, headers
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.local_only
def test_sse_c_refused_over_http(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="c", Body=b"x", **_sse_c())
    assert (status_of(err), code_of(err)) == (400, "InvalidRequest")


# -- multipart ----------------------------------------------------------------------------------

PART = 5 * 1024 * 1024


def _multipart(s3: Any, bucket: str, key: str, parts: list[bytes], **sse: Any) -> dict[str, Any]:
    created = s3.create_multipart_upload(Bucket=bucket, Key=key, **sse)
    upload_id = created["UploadId"]
    sse_part = {k: v for k, v in sse.items() if k.startswith("SSECustomer")}
    listed = []
    for number, data in enumerate(parts, start=1):
        done = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **sse_part
        )
        listed.append({"PartNumber": number, "ETag": done["ETag"]})
    completed: dict[str, Any] = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    completed["Created"] = created
    return completed


def test_sse_s3_multipart(s3: Any, bucket: str, gateway: AppServer) -> None:
    parts = [_body(PART), _body(1000)]
    body = b"".join(parts)
    done = _multipart(s3, bucket, "mp", parts, ServerSideEncryption="AES256")
    assert done["Created"]["ServerSideEncryption"] == "AES256"
    assert done["ServerSideEncryption"] == "AES256"
    assert MARKER not in stored_bytes(gateway, bucket, "mp")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == body
    start, end = PART - 70_000, PART + 500  # across the part boundary
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}")
    assert got["Body"].read() == body[start : end + 1]
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts[1] and second["ServerSideEncryption"] == "AES256"


@pytest.mark.local_only
def test_sse_c_multipart_and_part_copy(sse_c: tuple[Any, str]) -> None:
    s3, bucket = sse_c
    parts = [_body(PART), _body(10)]
    body = b"".join(parts)
    _multipart(s3, bucket, "mp", parts, **_sse_c())
    assert s3.get_object(Bucket=bucket, Key="mp", **_sse_c())["Body"].read() == body
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="mp", **_sse_c(OTHER_KEY))
    assert status_of(err) == 403
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp2", **_sse_c())["UploadId"]
    for sse, code in [({}, "InvalidRequest"), (_sse_c(OTHER_KEY), "InvalidArgument")]:
        with pytest.raises(ClientError) as err:
            s3.upload_part(
                Bucket=bucket, Key="mp2", UploadId=upload, PartNumber=1, Body=b"x", **sse
            )
        assert (status_of(err), code_of(err)) == (400, code)
    copied = s3.upload_part_copy(
        Bucket=bucket,
        Key="mp2",
        UploadId=upload,
        PartNumber=1,
        CopySource=f"{bucket}/mp",
        CopySourceRange=f"bytes=0-{PART + 4}",
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY,
        **_sse_c(),
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp2",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]},
    )
    got = s3.get_object(Bucket=bucket, Key="mp2", **_sse_c())
    assert got["Body"].read() == body[: PART + 5]


# -- bucket default encryption --------------------------------------------------------------------


def _aes256_rule() -> dict[str, Any]:
    return {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                "BucketKeyEnabled": False,
            }
        ]
    }


def test_bucket_default_encryption(s3: Any, bucket: str, gateway: AppServer) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_encryption(Bucket=bucket)
    assert (status_of(err), code_of(err)) == (
        404,
        "ServerSideEncryptionConfigurationNotFoundError",
    )
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=_aes256_rule())
    config = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    rule = config["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    body = _body(FRAME_SIZE + 1)
    put = s3.put_object(Bucket=bucket, Key="d", Body=body)
    assert put["ServerSideEncryption"] == "AES256"
    assert MARKER not in stored_bytes(gateway, bucket, "d")
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == body
    done = _multipart(s3, bucket, "mp", [_body(PART), _body(3)])
    assert done["ServerSideEncryption"] == "AES256"
    assert MARKER not in stored_bytes(gateway, bucket, "mp")
    s3.delete_bucket_encryption(Bucket=bucket)
    assert "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="p", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.get_bucket_encryption(Bucket=bucket)
    assert status_of(err) == 404


@pytest.mark.local_only
def test_put_bucket_encryption_bad_rules(s3: Any, bucket: str) -> None:
    rule = _aes256_rule()
    rule["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] = "DES"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=rule)
    assert (status_of(err), code_of(err)) == (400, "MalformedXML")
