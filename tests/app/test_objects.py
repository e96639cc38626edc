"""Object operations through boto3 on a live gateway (http and https)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.app.test_buckets import code_of, status_of

pytestmark = [pytest.mark.all_backends, pytest.mark.https]

HOSTILE_KEYS = [
    "../x",
    "../../etc/passwd",
    "a b c",
    "100%",
    "%2F",
    "foo",
    "foo/",
    "dir/sub/file.txt",
    "unicode-\u00e9\u4e2d\U0001f600",
    "plus+sign",
    "tilde~",
    "q?uestion",
    "hash#tag",
    "semi;colon",
    "amp&ersand",
    "eq=ual",
    "./dot",
    "back\\slash",
    "/leading",
    "trailing ",
    "*star",
]


def test_put_get_head_delete(s3: Any, bucket: str) -> None:
    body = os.urandom(100_000)
    put = s3.put_object(
        Bucket=bucket,
        Key="obj",
        Body=body,
        ContentType="text/plain",
        Metadata={"color": "blue", "Mixed-Case": "v"},
        CacheControl="max-age=60",
        ContentDisposition="attachment",
        ContentLanguage="en",
    )
    md5 = hashlib.md5(body).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{md5}"'
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue", "mixed-case": "v"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "attachment"
    assert got["ContentLanguage"] == "en"
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == f'"{md5}"'
    s3.delete_object(Bucket=bucket, Key="obj")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="obj")
    assert code_of(info) == "NoSuchKey"
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="obj")
    assert status_of(info) == 404


def test_empty_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_overwrite_replaces(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two!")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two!"
    keys = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(k["Key"], k["Size"]) for k in keys] == [("k", 4)]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_round_trip(s3: Any, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [key]


def test_foo_beside_foo_slash(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="foo", Body=b"file")
    s3.put_object(Bucket=bucket, Key="foo/", Body=b"dir")
    s3.put_object(Bucket=bucket, Key="foo/bar", Body=b"child")
    assert s3.get_object(Bucket=bucket, Key="foo")["Body"].read() == b"file"
    assert s3.get_object(Bucket=bucket, Key="foo/")["Body"].read() == b"dir"
    assert s3.get_object(Bucket=bucket, Key="foo/bar")["Body"].read() == b"child"


def test_key_limits(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert code_of(info) == "KeyTooLongError"


def test_metadata_limit(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="ok", Body=b"x", Metadata={"a": "v" * 1900})
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="big", Body=b"x", Metadata={"a": "v" * 2100})
    assert code_of(info) == "MetadataTooLarge"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="big")


def test_content_md5_verified(s3: Any, bucket: str) -> None:
    body = b"hello world"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=body, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="m", Body=b"replacement", ContentMD5=bad)
    assert code_of(info) == "BadDigest"
    # the previous object is intact
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == body


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksums_stored_and_returned(s3: Any, bucket: str, algorithm: str) -> None:
    body = os.urandom(70_000)
    put = s3.put_object(Bucket=bucket, Key="c", Body=body, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got[f"Checksum{algorithm}"] == value
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value
    # ranges: no whole-object checksum, and the client's validation does not fail
    part = s3.get_object(Bucket=bucket, Key="c", Range="bytes=10-99", ChecksumMode="ENABLED")
    assert part["Body"].read() == body[10:100]


def test_wrong_checksum_header_is_bad_digest(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="c", Body=b"original")
    wrong = base64.b64encode(hashlib.sha256(b"nope").digest()).decode()
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="c", Body=b"changed", ChecksumSHA256=wrong)
    assert code_of(info) == "BadDigest"
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"original"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, 1000)),
        ("bytes=-10", (990, 1000)),
        ("bytes=995-2000", (995, 1000)),
        ("bytes=0-0", (0, 1)),
    ],
)
def test_range_get(s3: Any, bucket: str, header: str, expected: tuple[int, int]) -> None:
    body = bytes(range(256)) * 4
    body = body[:1000]
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    start, end = expected
    assert got["Body"].read() == body[start:end]
    assert got["ContentRange"] == f"bytes {start}-{end - 1}/1000"


def test_range_not_satisfiable(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert code_of(info) == "InvalidRange"
    assert status_of(info) == 416


def test_invalid_range_syntax_serves_whole(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=5-2")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == b"0123456789"


def test_conditional_get(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"data")
    etag = put["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert status_of(info) == 412
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status_of(info) == 304
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert status_of(info) == 304
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert status_of(info) == 412
    got = s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)
    assert got["Body"].read() == b"data"


def test_conditional_put(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="c", Body=b"v1", IfNoneMatch="*")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfNoneMatch="*")
    assert status_of(info) == 412
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfMatch='"abc"')
    assert status_of(info) == 412
    s3.put_object(Bucket=bucket, Key="c", Body=b"v3", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"v3"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="missing", Body=b"x", IfMatch=first["ETag"])
    assert code_of(info) == "NoSuchKey"


def test_response_overrides(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket,
        Key="o",
        ResponseContentType="application/json",
        ResponseContentDisposition="attachment; filename=x.json",
        ResponseCacheControl="no-cache",
    )
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == "attachment; filename=x.json"
    assert got["CacheControl"] == "no-cache"


def test_copy_object_copy_and_replace(s3: Any, bucket: str) -> None:
    body = os.urandom(50_000)
    s3.put_object(Bucket=bucket, Key="src", Body=body, ContentType="text/a", Metadata={"m": "1"})
    copy = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copy["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    dst = s3.get_object(Bucket=bucket, Key="dst")
    assert dst["Body"].read() == body
    assert dst["ContentType"] == "text/a" and dst["Metadata"] == {"m": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="dst2",
        CopySource=f"{bucket}/src",
        MetadataDirective="REPLACE",
        ContentType="text/b",
        Metadata={"n": "2"},
    )
    dst2 = s3.head_object(Bucket=bucket, Key="dst2")
    assert dst2["ContentType"] == "text/b" and dst2["Metadata"] == {"n": "2"}


def test_copy_onto_itself(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"abc", Metadata={"v": "1"})
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert code_of(info) == "InvalidRequest"
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
        MetadataDirective="REPLACE",
        Metadata={"v": "2"},
    )
    got = s3.get_object(Bucket=bucket, Key="self")
    assert got["Metadata"] == {"v": "2"} and got["Body"].read() == b"abc"


def test_copy_source_conditions(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="src", Body=b"abc")
    src = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="a", CopySource=src, CopySourceIfMatch=put["ETag"])
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="b", CopySource=src, CopySourceIfMatch='"nope"')
    assert status_of(info) == 412
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="b", CopySource=src, CopySourceIfNoneMatch=put["ETag"])
    assert status_of(info) == 412
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="b", CopySource={"Bucket": bucket, "Key": "missing"})
    assert code_of(info) == "NoSuchKey"


def test_delete_objects_batch(s3: Any, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    out = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": f"d/{i}"} for i in range(5)] + [{"Key": "absent"}]},
    )
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted(
        [f"d/{i}" for i in range(5)] + ["absent"]
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet


def test_delete_missing_key_is_204(s3: Any, bucket: str) -> None:
    out = s3.delete_object(Bucket=bucket, Key="never-existed")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_storage_class_validated(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="s", Body=b"x", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="s")["StorageClass"] == "STANDARD_IA"
