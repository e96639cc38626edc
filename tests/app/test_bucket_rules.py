"""CreateBucket of an owned bucket, ListBuckets paging and x-amz-expected-bucket-owner,
through boto3, as the AWS API reference has them (API_CreateBucket.html,
API_ListBuckets.html, userguide/bucket-owner-condition.html)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from auth.credentials import ROOT_USER, account_id
from gateway.meta.base import Bucket
from tests.app.server import AppServer
from tests.app.test_buckets import code_of, status_of
from tests.support.clients import boto3_client, empty_and_delete_bucket, unique_bucket_name


def test_create_bucket_owned_in_us_east_1_changes_nothing(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    answer = s3.create_bucket(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_create_bucket_owned_elsewhere_is_conflict(
    gateway: AppServer, s3: Any, request: pytest.FixtureRequest
) -> None:
    name = unique_bucket_name(request.node.name)
    # A bucket of another region (as a replica in that region would have created it).
    gateway.call(
        gateway.services.meta.create_bucket(Bucket(name, ROOT_USER, time.time(), "eu-west-1"))
    )
    try:
        with pytest.raises(ClientError) as info:
            s3.create_bucket(Bucket=name)
        assert (code_of(info), status_of(info)) == ("BucketAlreadyOwnedByYou", 409)
    finally:
        s3.delete_bucket(Bucket=name)


def test_list_buckets_paging(app_factory: Any) -> None:
    server = app_factory()
    s3 = boto3_client(server)
    names = [f"page-{i}" for i in range(5)] + ["other-0"]
    for name in names:
        s3.create_bucket(Bucket=name)
    server.call(server.services.meta.create_bucket(Bucket("page-x", ROOT_USER, 0, "eu-west-1")))
    everything = s3.list_buckets()
    assert len(everything["Buckets"]) == 7 and "ContinuationToken" not in everything

    seen: list[str] = []
    kwargs: dict[str, Any] = {"MaxBuckets": 2, "Prefix": "page-", "BucketRegion": "us-east-1"}
    while True:
        page = s3.list_buckets(**kwargs)
        assert page["Prefix"] == "page-" and len(page["Buckets"]) <= 2
        seen += [b["Name"] for b in page["Buckets"]]
        if "ContinuationToken" not in page:
            break
        kwargs["ContinuationToken"] = page["ContinuationToken"]
    assert seen == [f"page-{i}" for i in range(5)]
    regional = s3.list_buckets(BucketRegion="eu-west-1")["Buckets"]
    assert [(b["Name"], b["BucketRegion"]) for b in regional] == [("page-x", "eu-west-1")]
    for bad in ({"MaxBuckets": 10_001}, {"ContinuationToken": "%%%"}):
        with pytest.raises(ClientError) as info:
            s3.list_buckets(**bad)
        assert (code_of(info), status_of(info)) == ("InvalidArgument", 400)


def test_expected_bucket_owner(s3: Any, bucket: str, request: pytest.FixtureRequest) -> None:
    mine, other = account_id(ROOT_USER), account_id("someone-else")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner=mine)
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=mine)
    calls: list[tuple[Any, dict[str, Any]]] = [
        (s3.head_bucket, {}),
        (s3.list_objects_v2, {}),
        (s3.get_object, {"Key": "k"}),
        (s3.put_object, {"Key": "k", "Body": b"y"}),
        (s3.delete_object, {"Key": "k"}),
        (s3.get_bucket_versioning, {}),
        (s3.delete_bucket, {}),
    ]
    for call, kwargs in calls:
        with pytest.raises(ClientError) as info:
            call(Bucket=bucket, ExpectedBucketOwner=other, **kwargs)
        assert status_of(info) == 403, call
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    # CopyObject checks the source bucket's owner too.
    source = {"Bucket": bucket, "Key": "k"}
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=source, ExpectedSourceBucketOwner=other)
    assert (code_of(info), status_of(info)) == ("AccessDenied", 403)
    s3.copy_object(Bucket=bucket, Key="c", CopySource=source, ExpectedSourceBucketOwner=mine)


def test_expected_bucket_owner_of_another_account(gateway: AppServer, s3: Any, bucket: str) -> None:
    """Another account's user naming itself as the owner is refused, even where a policy
    would let it in."""
    access, secret = gateway.create_user("owner-check-user")
    theirs = boto3_client(gateway, access_key=access, secret_key=secret)
    name = unique_bucket_name("owner-check")
    theirs.create_bucket(Bucket=name)
    try:
        theirs.head_bucket(Bucket=name, ExpectedBucketOwner=account_id("owner-check-user"))
        with pytest.raises(ClientError) as info:
            theirs.head_bucket(Bucket=name, ExpectedBucketOwner=account_id(ROOT_USER))
        assert status_of(info) == 403
    finally:
        empty_and_delete_bucket(theirs, name)
