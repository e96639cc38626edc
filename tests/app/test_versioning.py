"""Versioning against the live gateway with boto3 and aws-cli: Put/GetBucketVersioning,
version ids on PUT/GET/HEAD/DELETE/CopyObject, delete markers, the "null" version under
Suspended, and ListObjectVersions (pagination, prefix, delimiter)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.clients import unique_bucket_name
from tests.support.versions import all_versions, purge_bucket


@pytest.fixture
def versioned(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    purge_bucket(s3, name)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_get_put_bucket_versioning(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "On"})
    assert error_code(err) == "MalformedXML"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={})
    assert error_code(err) == "MalformedXML"


def test_versioned_overwrite_and_delete(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert (got["Body"].read(), got["VersionId"]) == (b"two", v2)
    old = s3.get_object(Bucket=versioned, Key="doc", VersionId=v1)
    assert (old["Body"].read(), old["VersionId"]) == (b"one", v1)
    assert s3.head_object(Bucket=versioned, Key="doc", VersionId=v1)["ContentLength"] == 3

    deleted = s3.delete_object(Bucket=versioned, Key="doc")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=versioned, Key="doc")
    assert error_code(err) == "NoSuchKey"
    headers = err.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as err:  # HEAD of a delete marker by id: 405
        s3.head_object(Bucket=versioned, Key="doc", VersionId=marker)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    # The data is still there, by version id.
    assert s3.get_object(Bucket=versioned, Key="doc", VersionId=v2)["Body"].read() == b"two"
    assert all_versions(s3, versioned) == [
        ("doc", marker, True, True),
        ("doc", v2, False, False),
        ("doc", v1, False, False),
    ]
    assert s3.list_objects_v2(Bucket=versioned).get("KeyCount") == 0

    # Removing the delete marker by id brings v2 back; removing v2 brings v1.
    out = s3.delete_object(Bucket=versioned, Key="doc", VersionId=marker)
    assert out["DeleteMarker"] is True and out["VersionId"] == marker
    assert s3.get_object(Bucket=versioned, Key="doc")["VersionId"] == v2
    s3.delete_object(Bucket=versioned, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=versioned, Key="doc")["Body"].read() == b"one"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=versioned, Key="doc", VersionId=v2)
    assert error_code(err) == "NoSuchVersion"


def test_suspended_null_version(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    # Writes stored as the null version answer without a version id (the PutObject
    # reference's "versioning suspended" example); reads of it say "null".
    assert "VersionId" not in s3.put_object(Bucket=versioned, Key="k", Body=b"n1")
    assert "VersionId" not in s3.put_object(Bucket=versioned, Key="k", Body=b"n2")
    assert s3.head_object(Bucket=versioned, Key="k")["VersionId"] == "null"
    assert s3.get_object(Bucket=versioned, Key="k", VersionId="null")["Body"].read() == b"n2"
    # Only one null version; the Enabled-era version stays.
    assert [(v, m) for _, v, _, m in all_versions(s3, versioned)] == [
        ("null", False),
        (v1, False),
    ]
    out = s3.delete_object(Bucket=versioned, Key="k")
    assert (out["DeleteMarker"], out["VersionId"]) == (True, "null")
    assert [(v, m) for _, v, _, m in all_versions(s3, versioned)] == [("null", True), (v1, False)]


def test_copy_object_from_a_version(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="src", Body=b"first")["VersionId"]
    s3.put_object(Bucket=versioned, Key="src", Body=b"second")
    out = s3.copy_object(
        Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src", "VersionId": v1}
    )
    assert out["CopySourceVersionId"] == v1 and out["VersionId"] not in (v1, "null")
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"first"


def test_delete_objects_with_versions(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="a", Body=b"1")["VersionId"]
    s3.put_object(Bucket=versioned, Key="b", Body=b"2")
    out = s3.delete_objects(
        Bucket=versioned, Delete={"Objects": [{"Key": "a", "VersionId": v1}, {"Key": "b"}]}
    )
    deleted = {d["Key"]: d for d in out["Deleted"]}
    assert deleted["a"]["VersionId"] == v1 and "DeleteMarker" not in deleted["a"]
    assert deleted["b"]["DeleteMarker"] is True and deleted["b"]["DeleteMarkerVersionId"]
    assert [(k, m) for k, _, _, m in all_versions(s3, versioned)] == [("b", True), ("b", False)]


def test_list_object_versions_pages(s3: Any, versioned: str) -> None:
    keys = ["a", "dir/x", "dir/y", "z"]
    expected = []
    for key in keys:
        ids = [s3.put_object(Bucket=versioned, Key=key, Body=b"x")["VersionId"] for _ in range(2)]
        expected += [(key, ids[1], True, False), (key, ids[0], False, False)]
    pages = list(
        s3.get_paginator("list_object_versions").paginate(
            Bucket=versioned, PaginationConfig={"PageSize": 3}
        )
    )
    assert len(pages) == 3
    got = [(v["Key"], v["VersionId"], v["IsLatest"], False) for p in pages for v in p["Versions"]]
    assert got == expected
    by_dir = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in by_dir["CommonPrefixes"]] == ["dir/"]
    assert [v["Key"] for v in by_dir["Versions"]] == ["a", "a", "z", "z"]
    first = s3.list_object_versions(Bucket=versioned, Prefix="dir/", MaxKeys=1)
    assert first["IsTruncated"] and first["NextKeyMarker"] == "dir/x"
    rest = s3.list_object_versions(
        Bucket=versioned,
        Prefix="dir/",
        KeyMarker=first["NextKeyMarker"],
        VersionIdMarker=first["NextVersionIdMarker"],
    )
    assert [(v["Key"], v["IsLatest"]) for v in rest["Versions"]] == [
        ("dir/x", False),
        ("dir/y", True),
        ("dir/y", False),
    ]
    with pytest.raises(ClientError) as err:
        s3.list_object_versions(Bucket=versioned, VersionIdMarker="x")
    assert error_code(err) == "InvalidArgument"


def test_list_object_versions_unversioned(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = s3.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in out["Versions"]] == [
        ("k", "null", True)
    ]
    assert (
        "x-amz-version-id"
        not in s3.put_object(Bucket=bucket, Key="k", Body=b"y")["ResponseMetadata"]["HTTPHeaders"]
    )


def _write_answers(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """The answers of PutObject, CopyObject and CompleteMultipartUpload on `bucket`."""
    put = s3.put_object(Bucket=bucket, Key="p", Body=b"x")
    copy = s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "p"})
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=1, Body=b"x")
    parts = [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    answers = [put, copy, done]
    for answer in answers:
        answer.pop("ResponseMetadata")
    return answers


def test_no_version_id_in_a_bucket_never_versioned(s3: Any, bucket: str) -> None:
    for answer in _write_answers(s3, bucket):
        assert "VersionId" not in answer and "CopySourceVersionId" not in answer
    assert "VersionId" not in s3.head_object(Bucket=bucket, Key="p")
    # DELETE answers no version id and no x-amz-delete-marker: nothing was a marker.
    out = s3.delete_object(Bucket=bucket, Key="p")
    assert "VersionId" not in out and "DeleteMarker" not in out
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}, {"Key": "gone"}]})
    assert sorted(out["Deleted"], key=lambda d: d["Key"]) == [{"Key": "c"}, {"Key": "gone"}]
    # A deleted key is simply gone: a 404 with no delete marker to speak of.
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="p")
    headers = err.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-delete-marker" not in headers and "x-amz-version-id" not in headers


def test_suspended_writes_answer_no_version_id(s3: Any, versioned: str) -> None:
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    put, copy, done = _write_answers(s3, versioned)
    assert "VersionId" not in put and "VersionId" not in done and "VersionId" not in copy
    assert copy["CopySourceVersionId"] == "null"  # the source is the null version
    for key in ("p", "c", "m"):
        assert s3.head_object(Bucket=versioned, Key=key)["VersionId"] == "null"
    out = s3.delete_objects(Bucket=versioned, Delete={"Objects": [{"Key": "p"}]})
    assert out["Deleted"] == [{"Key": "p", "DeleteMarker": True, "DeleteMarkerVersionId": "null"}]
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=versioned, Key="p")
    headers = err.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert (headers["x-amz-delete-marker"], headers["x-amz-version-id"]) == ("true", "null")
