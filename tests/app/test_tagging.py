"""Object and bucket tagging against the live gateway with boto3: Put/Get/DeleteObjectTagging
by version, x-amz-tagging on PUT, CopyObject (COPY/REPLACE) and CreateMultipartUpload,
x-amz-tagging-count, the limits, and Put/Get/DeleteBucketTagging."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def tag_set(tags: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


def tags_of(s3: Any, bucket: str, key: str, **kw: Any) -> dict[str, str]:
    out = s3.get_object_tagging(Bucket=bucket, Key=key, **kw)
    return {t["Key"]: t["Value"] for t in out["TagSet"]}


def test_put_get_delete_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert tags_of(s3, bucket, "k") == {}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"a": "1", "é": "ü"}))
    assert tags_of(s3, bucket, "k") == {"a": "1", "é": "ü"}
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"b": "2"}))  # replaces
    assert tags_of(s3, bucket, "k") == {"b": "2"}
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert tags_of(s3, bucket, "k") == {}
    assert (
        "x-amz-tagging-count"
        not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    )
    with pytest.raises(ClientError) as err:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert error_code(err) == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        s3.put_object_tagging(Bucket=bucket, Key="missing", Tagging=tag_set({"a": "1"}))
    assert error_code(err) == "NoSuchKey"


def test_tagging_by_version(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="gen=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    out = s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1, Tagging=tag_set({"x": "y"}))
    assert out["VersionId"] == v1
    assert tags_of(s3, bucket, "k", VersionId=v1) == {"x": "y"}
    assert tags_of(s3, bucket, "k") == {}
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["VersionId"] == v2
    s3.delete_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert tags_of(s3, bucket, "k", VersionId=v1) == {}
    with pytest.raises(ClientError) as err:
        s3.get_object_tagging(Bucket=bucket, Key="k", VersionId="nope")
    assert error_code(err) == "NoSuchVersion"
    for version in s3.list_object_versions(Bucket=bucket)["Versions"]:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=version["VersionId"])


@pytest.mark.parametrize(
    "tags",
    [
        {f"k{i}": "v" for i in range(11)},
        {"k" * 129: "v"},
        {"k": "v" * 257},
        {"aws:reserved": "v"},
    ],
    ids=["eleven", "long key", "long value", "aws prefix"],
)
def test_tag_limits(s3: Any, bucket: str, tags: dict[str, str]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(tags))
    assert error_code(err) == "InvalidTag"


def test_duplicate_tag_keys(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    body = {"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    with pytest.raises(ClientError) as err:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=body)
    assert error_code(err) == "InvalidTag"
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"x", Tagging="a=1&a=2")
    assert error_code(err) == "InvalidTag"


def test_tagging_header_on_put_copy_and_multipart(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="project=kv&team=storage")
    assert tags_of(s3, bucket, "src") == {"project": "kv", "team": "storage"}
    got = s3.get_object(Bucket=bucket, Key="src")
    assert got["TagCount"] == 2
    # CopyObject: COPY (the default) keeps the source's tags, REPLACE takes the header's.
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    assert tags_of(s3, bucket, "copy") == {"project": "kv", "team": "storage"}
    s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
        Tagging="only=this",
    )
    assert tags_of(s3, bucket, "replaced") == {"only": "this"}
    s3.copy_object(
        Bucket=bucket,
        Key="untagged",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
    )
    assert tags_of(s3, bucket, "untagged") == {}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu", Tagging="via=mpu")
    part = s3.upload_part(
        Bucket=bucket, Key="mpu", UploadId=upload["UploadId"], PartNumber=1, Body=b"p"
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mpu",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert tags_of(s3, bucket, "mpu") == {"via": "mpu"}


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_code(err) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"env": "test", "owner": "me"}))
    got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == {"env": "test", "owner": "me"}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({f"k{i}": "v" for i in range(51)}))
    assert error_code(err) == "InvalidTag"
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_code(err) == "NoSuchTagSet"
