"""Bucket operations through boto3 on a live gateway (http and https)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.credentials import canonical_id


def code_of(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def status_of(info: pytest.ExceptionInfo[ClientError]) -> int:
    return int(info.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_create_list_head_delete_bucket(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in names
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") in (None, "")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket=name)
    assert status_of(info) == 404


def test_create_bucket_with_us_east_1_location_constraint(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    s3.delete_bucket(Bucket=name)


def test_create_bucket_foreign_region_refused(s3: Any) -> None:
    with pytest.raises(ClientError) as info:
        s3.create_bucket(
            Bucket=f"b-{uuid.uuid4().hex[:12]}",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-3"},
        )
    assert code_of(info) == "IllegalLocationConstraintException"


@pytest.mark.parametrize(
    "name", ["ab", "UpperCase", "a..b", "-start", "end-", "192.168.1.1", "a" * 64, "xn--abc"]
)
def test_create_bucket_invalid_name(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket=name)
    assert code_of(info) == "InvalidBucketName"


def test_delete_bucket_not_empty(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(info) == "BucketNotEmpty"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_unknown_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket="no-such-bucket-here-123")
    assert code_of(info) == "NoSuchBucket"
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket="no-such-bucket-here-123")
    assert code_of(info) == "NoSuchBucket"


def test_unimplemented_subresource_is_not_implemented(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert code_of(info) == "NotImplemented"
    assert status_of(info) == 501


def test_bucket_acl_reports_owner(s3: Any, bucket: str) -> None:
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"] == {"ID": canonical_id("root"), "DisplayName": "root"}
