"""Conditional writes and deletes through boto3, as the AWS API reference has them.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html and
conditional-deletes.html; PutObject, CopyObject, CompleteMultipartUpload (If-Match,
If-None-Match), DeleteObject (If-Match, x-amz-if-match-last-modified-time,
x-amz-if-match-size) and DeleteObjects (ETag, LastModifiedTime, Size per object).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.app.client import Reply, SignedClient
from tests.app.test_buckets import code_of, status_of


def _fails(call: Any, code: str, status: int, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert (code_of(info), status_of(info)) == (code, status)


def _body(s3: Any, bucket: str, key: str, **kwargs: Any) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read())


# -- conditional writes ----------------------------------------------------------------------


def test_put_object_if_none_match_etag(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    _fails(s3.put_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="k", Body=b"v2", IfNoneMatch=first["ETag"])  # fmt: skip
    assert _body(s3, bucket, "k") == b"v1"
    # Another ETag, or a key that does not exist, lets the write through.
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfNoneMatch='"0123"')
    s3.put_object(Bucket=bucket, Key="new", Body=b"n", IfNoneMatch=first["ETag"])
    assert (_body(s3, bucket, "k"), _body(s3, bucket, "new")) == (b"v2", b"n")


def test_put_object_if_match_versioned(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=first["ETag"])
    # Only the latest version counts: the first one's ETag no longer matches.
    _fails(s3.put_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="k", Body=b"v3", IfMatch=first["ETag"])  # fmt: skip
    s3.delete_object(Bucket=bucket, Key="k")
    # Behind a delete marker the key is absent: If-Match is NoSuchKey, If-None-Match holds.
    _fails(s3.put_object, "NoSuchKey", 404,
           Bucket=bucket, Key="k", Body=b"v3", IfMatch=second["ETag"])  # fmt: skip
    s3.put_object(Bucket=bucket, Key="k", Body=b"v3", IfNoneMatch="*")
    assert _body(s3, bucket, "k") == b"v3"


def test_copy_object_if_match_and_if_none_match(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    dest = s3.put_object(Bucket=bucket, Key="dst", Body=b"dest")
    src = {"Bucket": bucket, "Key": "src"}
    _fails(s3.copy_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="dst", CopySource=src, IfNoneMatch="*")  # fmt: skip
    _fails(s3.copy_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="dst", CopySource=src, IfNoneMatch=dest["ETag"])  # fmt: skip
    _fails(s3.copy_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="dst", CopySource=src, IfMatch='"0123"')  # fmt: skip
    _fails(s3.copy_object, "NoSuchKey", 404,
           Bucket=bucket, Key="none", CopySource=src, IfMatch=dest["ETag"])  # fmt: skip
    assert _body(s3, bucket, "dst") == b"dest"
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=src, IfMatch=dest["ETag"])
    s3.copy_object(Bucket=bucket, Key="fresh", CopySource=src, IfNoneMatch="*")
    assert _body(s3, bucket, "dst") == _body(s3, bucket, "fresh") == b"source"


def test_complete_multipart_upload_if_match(s3: Any, bucket: str) -> None:
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"new")
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    args = {"Bucket": bucket, "Key": "k", "UploadId": uid, "MultipartUpload": parts}
    _fails(s3.complete_multipart_upload, "PreconditionFailed", 412, **args, IfMatch='"0123"')
    _fails(s3.complete_multipart_upload, "PreconditionFailed", 412,
           **args, IfNoneMatch=old["ETag"])  # fmt: skip
    assert _body(s3, bucket, "k") == b"old"
    s3.complete_multipart_upload(**args, IfMatch=old["ETag"])
    assert _body(s3, bucket, "k") == b"new"


class GatedBody:
    """A request body that sends its first bytes, then waits for release() to send the
    rest: a request held mid-stream, after the handler's checks that precede the body."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.gate = asyncio.Event()

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.payload[:10]
        await self.gate.wait()
        yield self.payload[10:]

    def release(self) -> None:
        self.gate.set()


async def send_gated(
    client: SignedClient, method: str, path: str, body: GatedBody, headers: dict[str, str]
) -> asyncio.Future[Reply]:
    """Start the request (chunked); return once its blob is pending (the handler is
    streaming the body)."""
    meta = client.services.meta
    before = (await meta.blob_backlog(cap=100)).pending
    reply = asyncio.ensure_future(
        client.request(method, path, body=body.chunks(), signed_body=body.payload, headers=headers)
    )
    for _ in range(500):
        if (await meta.blob_backlog(cap=100)).pending > before:
            return reply
        await asyncio.sleep(0.01)
    raise AssertionError("the request never started streaming its body")


def test_put_object_concurrent_write_wins_conflict(
    app_client: SignedClient, aio: asyncio.Runner
) -> None:
    """If-None-Match: * held when the PUT began; another PUT of the key commits while its
    body streams: S3 answers 409 ConditionalRequestConflict, and the winner stays."""
    client = app_client

    async def body() -> None:
        assert (await client.request("PUT", "/cond")).status == 200
        gated = GatedBody(b"loser" * 1000)
        loser = await send_gated(client, "PUT", "/cond/k", gated, {"If-None-Match": "*"})
        winner = await client.request("PUT", "/cond/k", body=b"winner")
        assert winner.status == 200
        gated.release()
        reply = await loser
        assert (reply.status, reply.error_code) == (409, "ConditionalRequestConflict")
        got = await client.request("GET", "/cond/k")
        assert got.body == b"winner"
        assert got.headers["ETag"] == f'"{hashlib.md5(b"winner").hexdigest()}"'

    aio.run(body())


# -- conditional deletes ---------------------------------------------------------------------


def test_delete_object_if_match(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    _fails(s3.delete_object, "PreconditionFailed", 412, Bucket=bucket, Key="k", IfMatch='"0123"')
    assert _body(s3, bucket, "k") == b"data"
    assert (
        s3.delete_object(Bucket=bucket, Key="k", IfMatch=put["ETag"])["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    # Gone: If-Match (an ETag or *) is NoSuchKey.
    _fails(s3.delete_object, "NoSuchKey", 404, Bucket=bucket, Key="k", IfMatch="*")


def test_delete_object_if_match_size_and_last_modified_time(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    head = s3.head_object(Bucket=bucket, Key="k")
    modified = head["LastModified"]
    _fails(s3.delete_object, "PreconditionFailed", 412, Bucket=bucket, Key="k", IfMatchSize=5)
    _fails(s3.delete_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="k", IfMatchLastModifiedTime=modified.replace(year=2001))  # fmt: skip
    assert _body(s3, bucket, "k") == b"data"
    s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=4, IfMatchLastModifiedTime=modified)
    _fails(s3.head_object, "404", 404, Bucket=bucket, Key="k")
    # Size and time conditions on a missing object let the delete succeed.
    s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=4)


def test_delete_object_conditions_by_version_id(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    new = s3.put_object(Bucket=bucket, Key="k", Body=b"newer")
    vid = old["VersionId"]
    # The conditions apply to the version named, not to the latest one.
    _fails(s3.delete_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="k", VersionId=vid, IfMatch=new["ETag"])  # fmt: skip
    _fails(s3.delete_object, "PreconditionFailed", 412,
           Bucket=bucket, Key="k", VersionId=vid, IfMatchSize=5)  # fmt: skip
    assert _body(s3, bucket, "k", VersionId=vid) == b"old"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=vid, IfMatch=old["ETag"], IfMatchSize=3)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions] == [new["VersionId"]]
    # Without a version id: a delete marker, if the latest version matches.
    _fails(s3.delete_object, "PreconditionFailed", 412, Bucket=bucket, Key="k", IfMatch=old["ETag"])
    marker = s3.delete_object(Bucket=bucket, Key="k", IfMatch=new["ETag"])
    assert marker["DeleteMarker"] is True
    # The latest version is now a delete marker: no object to match.
    _fails(s3.delete_object, "NoSuchKey", 404, Bucket=bucket, Key="k", IfMatch=new["ETag"])


def test_delete_objects_conditions(s3: Any, bucket: str) -> None:
    etags = {k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in "abcdef"}
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    objects = [
        {"Key": "a", "ETag": etags["a"]},
        {"Key": "b", "ETag": etags["a"]},  # another object's ETag
        {"Key": "c", "Size": 1},
        {"Key": "d", "Size": 2},
        {"Key": "e", "LastModifiedTime": listed["e"]["LastModified"]},
        {"Key": "f", "LastModifiedTime": listed["f"]["LastModified"].replace(year=2001)},
        {"Key": "gone", "ETag": etags["a"]},
    ]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["a", "c", "e"]
    errors = {e["Key"]: e["Code"] for e in answer["Errors"]}
    assert errors == {
        "b": "PreconditionFailed",
        "d": "PreconditionFailed",
        "f": "PreconditionFailed",
        "gone": "NoSuchKey",
    }
    remaining = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert remaining == ["b", "d", "f"]


def test_delete_objects_conditions_by_version_id(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two!")
    objects = [
        {"Key": "k", "VersionId": v1["VersionId"], "ETag": v2["ETag"]},
        {"Key": "k", "VersionId": v2["VersionId"], "ETag": v2["ETag"], "Size": 4},
    ]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert [(d["Key"], d["VersionId"]) for d in answer["Deleted"]] == [("k", v2["VersionId"])]
    assert [(e["VersionId"], e["Code"]) for e in answer["Errors"]] == [
        (v1["VersionId"], "PreconditionFailed")
    ]
    assert _body(s3, bucket, "k") == b"one"
