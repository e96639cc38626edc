"""Lifecycle configuration on the in-process app with boto3: the configuration API and its
validation, and x-amz-expiration on PUT, GET and HEAD. The worker, observed doing its job
on a live gateway with a 2-second lifecycle day, is in
tests/integration/test_lifecycle_worker.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

EXPIRATION = re.compile(r'expiry-date="([^"]+)", rule-id="([^"]*)"')


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def rule(rule_id: str, **actions: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": ""}, **actions}


# -- the configuration API ---------------------------------------------------------------------


def test_configuration_round_trip(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error_code(err) == "NoSuchLifecycleConfiguration"
    rules = [
        {
            "ID": "logs",
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "t", "Value": "1"}]}},
            "Expiration": {"Days": 30},
        },
        {
            "ID": "versions",
            "Status": "Disabled",
            "Filter": {"ObjectSizeGreaterThan": 1024},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
        },
        {
            "Status": "Enabled",
            "Filter": {},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
        },
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[:2] == rules[:2]
    assert got[2]["ID"]  # an id is generated for a rule without one
    assert {k: v for k, v in got[2].items() if k != "ID"} == rules[2]
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error_code(err) == "NoSuchLifecycleConfiguration"


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ([rule("a", Expiration={"Days": 0})], "InvalidArgument"),
        ([rule("a", Expiration={"Days": 1}), rule("a", Expiration={"Days": 2})], "InvalidArgument"),
        ([rule("a", Expiration={"Date": "2030-01-01T12:00:00Z"})], "InvalidArgument"),
        ([rule("a", NoncurrentVersionExpiration={"NoncurrentDays": -1})], "InvalidArgument"),
        ([rule("a")], "InvalidRequest"),
        (
            [rule("a", Transitions=[{"Days": 30, "StorageClass": "GLACIER"}])],
            "NotImplemented",
        ),
        # boto3 sends Date="20220927" as epoch seconds: 1970-08-23T00:55:27Z, not midnight.
        (
            [rule("a", Transitions=[{"Date": "20220927", "StorageClass": "GLACIER"}])],
            "InvalidArgument",
        ),
        (
            [rule("a", Transitions=[{"Days": 10, "StorageClass": "STANDARD_IA"}])],
            "InvalidArgument",
        ),
        (
            [rule("a", Filter={"ObjectSizeLessThan": 10},
                  AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})],
            "InvalidRequest",
        ),
    ],
    ids=["days zero", "duplicate ids", "date not midnight", "noncurrent negative", "no action",
         "transition", "transition date not midnight", "transition to IA too soon",
         "abort with a size filter"],
)  # fmt: skip
def test_configuration_validation(s3: Any, bucket: str, rules: list[Any], code: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}
        )
    assert error_code(err) == code


# -- x-amz-expiration ------------------------------------------------------------------------


def test_expiration_header(s3: Any, bucket: str) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "logs rule",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "logs/"},
                    "Expiration": {"Days": 3},
                }
            ]
        },
    )
    put = s3.put_object(Bucket=bucket, Key="logs/a", Body=b"x")
    for answer in (
        put,
        s3.get_object(Bucket=bucket, Key="logs/a"),
        s3.head_object(Bucket=bucket, Key="logs/a"),
    ):
        match = EXPIRATION.fullmatch(answer["Expiration"])
        assert match is not None, answer["Expiration"]
        assert match.group(1).endswith("00:00:00 GMT")  # real days: midnight UTC
        assert match.group(2) == "logs%20rule"
    assert "Expiration" not in s3.put_object(Bucket=bucket, Key="data/b", Body=b"x")
