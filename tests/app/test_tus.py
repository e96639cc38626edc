"""tus resumable uploads on the real application: presigned creation, PATCHes of any size
becoming parts of at least 5 MiB, completion into an ordinary object, the protocol's
errors (409, 412, 413, 460, 404 after termination, 410 after expiry), OPTIONS and CORS."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

from auth.credentials import account_id
from gateway.sharing.tokens import token_hash
from gateway.tus.append import append
from gateway.tus.body import PatchBody
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import boto3_client
from tests.support.tus import OFFSET_TYPE, TUS, Answer, creation_url, send

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(app_factory: AppFactory) -> Iterator[AppServer]:
    started = app_factory()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def s3(server: AppServer) -> Any:
    return boto3_client(server)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"tus-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def keys(server: AppServer) -> tuple[str, str]:
    return server.access_key, server.secret_key


def create(server: AppServer, bucket: str, key: str, length: int, **headers: str) -> Answer:
    url = creation_url(server.endpoint, keys(server), bucket, key)
    return send("POST", url, {**TUS, "Upload-Length": str(length), **headers})


def created(server: AppServer, bucket: str, key: str, length: int, **headers: str) -> str:
    answer = create(server, bucket, key, length, **headers)
    assert answer.status == 201, answer.body
    return answer.headers["location"]


def patch(url: str, offset: int, data: bytes, **headers: str) -> Answer:
    return send("PATCH", url, {**TUS, **OFFSET_TYPE, "Upload-Offset": str(offset), **headers}, data)


def test_options_advertises_the_extensions(server: AppServer) -> None:
    answer = send("OPTIONS", f"{server.endpoint}/_kv/tus/")
    assert answer.status == 204
    assert answer.headers["tus-version"] == "1.0.0"
    extensions = answer.headers["tus-extension"].split(",")
    assert {"creation", "creation-with-upload", "termination", "checksum", "expiration"} <= set(
        extensions
    )
    assert answer.headers["tus-max-size"] == str(5 * 1024**4)
    assert answer.headers["tus-checksum-algorithm"].split(",") == ["sha1", "md5", "sha256"]


def test_patches_of_any_size_become_an_ordinary_multipart_object(
    server: AppServer, s3: Any, bucket: str
) -> None:
    # 1 MiB + 5 MiB merge into part 1 (6 MiB); 3 MiB + 3 MiB into part 2 (6 MiB); 1 byte
    # more is the short last part 3 (as merging stops once a part reaches 5 MiB).
    pieces = [b"a" * MIB, b"b" * 5 * MIB, b"c" * 3 * MIB, b"d" * 3 * MIB, b"e"]
    data = b"".join(pieces)
    meta = "filename " + base64.b64encode(b"f.txt").decode()
    meta += ",filetype " + base64.b64encode(b"text/plain").decode()
    url = created(server, bucket, "dir/f.txt", len(data), **{"Upload-Metadata": meta})
    assert "/_kv/tus/" in url and len(url.rsplit("/", 1)[1]) == 32
    offset = 0
    for piece in pieces:
        answer = patch(url, offset, piece)
        assert answer.status == 204, answer.body
        offset += len(piece)
        assert answer.headers["upload-offset"] == str(offset)
        assert "upload-expires" in answer.headers
    got = s3.get_object(Bucket=bucket, Key="dir/f.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/plain"
    assert got["ETag"].endswith('-3"')
    assert "ChecksumCRC64NVME" in got
    sizes = [
        s3.head_object(Bucket=bucket, Key="dir/f.txt", PartNumber=n)["ContentLength"]
        for n in (1, 2, 3)
    ]
    assert sizes == [6 * MIB, 6 * MIB, 1]
    # Completed: the URL is over, no upload is left behind.
    assert send("HEAD", url, TUS).status == 404
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_head_reports_offset_and_metadata(server: AppServer, bucket: str) -> None:
    url = created(server, bucket, "k", 10, **{"Upload-Metadata": "name bmFtZQ==,flag"})
    assert patch(url, 0, b"0123").status == 204
    answer = send("HEAD", url, TUS)
    assert answer.status == 200
    assert answer.headers["upload-offset"] == "4"
    assert answer.headers["upload-length"] == "10"
    assert set(answer.headers["upload-metadata"].split(",")) == {"name bmFtZQ==", "flag"}
    assert answer.headers["cache-control"] == "no-store"


def test_creation_with_upload_and_an_empty_upload(server: AppServer, s3: Any, bucket: str) -> None:
    url = creation_url(server.endpoint, keys(server), bucket, "whole")
    answer = send("POST", url, {**TUS, **OFFSET_TYPE, "Upload-Length": "5"}, b"hello")
    assert answer.status == 201, answer.body
    assert answer.headers["upload-offset"] == "5"
    assert s3.get_object(Bucket=bucket, Key="whole")["Body"].read() == b"hello"
    assert create(server, bucket, "empty", 0).status == 201
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0
    # A refused first body leaves no upload behind (its URL was never handed out).
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    url = creation_url(server.endpoint, keys(server), bucket, "refused")
    headers = {**TUS, **OFFSET_TYPE, "Upload-Length": "5", "Upload-Checksum": f"md5 {bad}"}
    assert send("POST", url, headers, b"hello").status == 460
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_protocol_errors(server: AppServer, s3: Any, bucket: str) -> None:
    url = created(server, bucket, "k", 8)
    assert patch(url, 0, b"1234").status == 204
    conflict = patch(url, 0, b"1234")
    assert conflict.status == 409
    no_version = send("PATCH", url, {**OFFSET_TYPE, "Upload-Offset": "4"}, b"5678")
    assert no_version.status == 412
    assert send("PATCH", url, {**TUS, "Upload-Offset": "4"}, b"5678").status == 415
    assert patch(url, 4, b"56789").status == 413  # past Upload-Length
    too_big = create(server, bucket, "huge", 5 * 1024**4 + 1)
    assert too_big.status == 413
    bad = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    unsupported = patch(url, 4, b"5678", **{"Upload-Checksum": "crc32 AAAAAA=="})
    assert unsupported.status == 400
    answer = patch(url, 4, b"5678", **{"Upload-Checksum": f"sha1 {bad}"})
    assert answer.status == 460
    assert send("HEAD", url, TUS).headers["upload-offset"] == "4"  # nothing kept
    good = base64.b64encode(hashlib.sha256(b"5678").digest()).decode()
    assert patch(url, 4, b"5678", **{"Upload-Checksum": f"sha256 {good}"}).status == 204
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"12345678"


def test_termination_aborts_the_multipart_upload(server: AppServer, s3: Any, bucket: str) -> None:
    url = created(server, bucket, "gone", 10)
    assert patch(url, 0, b"abc").status == 204
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == ["gone"]
    assert send("DELETE", url, TUS).status == 204
    assert patch(url, 3, b"def").status == 404
    assert send("HEAD", url, TUS).status == 404
    assert send("DELETE", url, TUS).status == 404
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    assert send("HEAD", f"{server.endpoint}/_kv/tus/{'x' * 32}", TUS).status == 404


def test_an_upload_aborted_through_s3_is_gone_for_tus(
    server: AppServer, s3: Any, bucket: str
) -> None:
    url = created(server, bucket, "stale", 10)
    (upload,) = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    s3.abort_multipart_upload(Bucket=bucket, Key="stale", UploadId=upload["UploadId"])
    assert patch(url, 0, b"abc").status == 404


def test_expired_upload_is_gone_and_aborted(server: AppServer, s3: Any, bucket: str) -> None:
    url = created(server, bucket, "late", 10)
    answer = send("HEAD", url, TUS)
    assert answer.headers["upload-expires"].endswith(" GMT")
    with server.clock.moved(24 * 3600 + 1):
        assert patch(url, 0, b"abc").status == 410
    assert send("HEAD", url, TUS).status == 404
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_creation_needs_a_signature_and_put_object(server: AppServer, bucket: str) -> None:
    plain = f"{server.endpoint}/_kv/tus/{bucket}/k"
    assert send("POST", plain, {**TUS, "Upload-Length": "1"}).status == 403
    stranger = server.create_user(f"tus-{uuid.uuid4().hex[:8]}")
    url = creation_url(server.endpoint, stranger, bucket, "k")
    answer = send("POST", url, {**TUS, "Upload-Length": "1"})
    assert answer.status == 403
    assert answer.body.startswith(b"AccessDenied")
    # The signature covers the key: the URL cannot create another one.
    forged = creation_url(server.endpoint, keys(server), bucket, "k").replace("/k?", "/other?")
    assert send("POST", forged, {**TUS, "Upload-Length": "1"}).status == 403
    missing = creation_url(server.endpoint, keys(server), "no-such-bucket-tus", "k")
    assert send("POST", missing, {**TUS, "Upload-Length": "1"}).status == 404


def test_cors_preflight_and_exposed_headers(server: AppServer, bucket: str) -> None:
    origin = {"Origin": "http://127.0.0.2:8000"}
    preflight = send(
        "OPTIONS",
        f"{server.endpoint}/_kv/tus/{bucket}/k",
        {
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "tus-resumable,upload-length,upload-metadata",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == origin["Origin"]
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert "upload-length" in preflight.headers["access-control-allow-headers"]
    answer = create(server, bucket, "k", 3, **origin)
    exposed = answer.headers["access-control-expose-headers"].lower().replace(" ", "").split(",")
    assert {"location", "upload-offset", "upload-length", "tus-resumable"} <= set(exposed)


def test_an_interrupted_patch_keeps_what_arrived(server: AppServer, s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * (24 * 1024)  # 6 MiB
    url = created(server, bucket, "cut", len(data))
    path = url.split(server.netloc, 1)[1]
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {server.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(head.encode() + data[: 2 * MIB])
    offset = 0
    for _ in range(200):  # the server sees the connection end a moment later
        offset = int(send("HEAD", url, TUS).headers["upload-offset"])
        if offset:
            break
        time.sleep(0.01)
    assert offset == 2 * MIB
    assert patch(url, offset, data[offset:]).status == 204
    assert s3.get_object(Bucket=bucket, Key="cut")["Body"].read() == data


def test_each_request_acts_as_the_creator_as_of_now(
    server: AppServer, s3: Any, bucket: str
) -> None:
    name = f"tus-{uuid.uuid4().hex[:8]}"
    stranger = server.create_user(name)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id(name)}:root"},
        "Action": ["s3:PutObject", "s3:ListMultipartUploadParts"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    url = creation_url(server.endpoint, stranger, bucket, "theirs")
    answer = send("POST", url, {**TUS, "Upload-Length": "6"})
    assert answer.status == 201, answer.body
    upload = answer.headers["location"]
    assert patch(upload, 0, b"abc").status == 204
    assert send("DELETE", upload, TUS).status == 403  # no s3:AbortMultipartUpload
    s3.delete_bucket_policy(Bucket=bucket)
    refused = patch(upload, 3, b"def")
    assert refused.status == 403
    assert refused.body.startswith(b"AccessDenied")
    assert send("HEAD", upload, TUS).status == 403


def test_an_upload_created_with_session_credentials_ends_with_the_session(
    server: AppServer, s3: Any, bucket: str
) -> None:
    sts = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    )
    temporary = sts.get_session_token(DurationSeconds=900)["Credentials"]
    session_keys = (temporary["AccessKeyId"], temporary["SecretAccessKey"])
    url = creation_url(
        server.endpoint, session_keys, bucket, "temp", token=temporary["SessionToken"]
    )
    upload = send("POST", url, {**TUS, "Upload-Length": "6"}).headers["location"]
    assert patch(upload, 0, b"abc").status == 204
    with server.clock.moved(901):
        late = patch(upload, 3, b"def")
    assert late.body.startswith(b"ExpiredToken"), late.body
    assert send("HEAD", upload, TUS).headers["upload-offset"] == "3"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_body_longer_than_a_part_continues_in_the_next(
    server: AppServer, s3: Any, bucket: str
) -> None:
    # The part limit is S3's 5 GiB; shown here with 6 MiB, through append() itself.
    data = bytes(range(256)) * (13 * 4096)  # 13 MiB
    url = created(server, bucket, "long", len(data))
    meta = server.services.meta
    tus = server.call(meta.get_tus_upload(token_hash(url.rsplit("/", 1)[1])))
    assert tus is not None
    upload = server.call(meta.get_upload(bucket, "long", tus.upload_id))
    assert upload is not None
    body = PatchBody(_chunks(data, 100_000), limit=len(data))
    done = server.call(append(server.services, upload, tus, body, part_limit=6 * MIB))
    assert (done.offset, done.part_number, done.part_size) == (len(data), 3, MIB)
    assert patch(url, len(data), b"").status == 204  # the last byte is in: complete
    sizes = [
        s3.head_object(Bucket=bucket, Key="long", PartNumber=n)["ContentLength"] for n in (1, 2, 3)
    ]
    assert sizes == [6 * MIB, 6 * MIB, MIB]
    assert s3.get_object(Bucket=bucket, Key="long")["Body"].read() == data
