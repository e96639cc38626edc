"""gateway.s3.bucket_names: the naming rules as a table."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.bucket_names import is_valid_bucket_name, validate_bucket_name


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("abc", True),
        ("my-bucket.v2", True),
        ("a" * 63, True),
        ("ab", False),  # too short
        ("a" * 64, False),  # too long
        ("My-Bucket", False),  # upper case
        ("-abc", False),
        ("abc-", False),
        ("a..b", False),
        ("a.-b", False),
        ("a-.b", False),
        ("a_b", False),
        ("192.168.1.1", False),  # shaped like an IP address
        ("xn--abc", False),
        ("sthree-abc", False),
        ("amzn-s3-demo-abc", False),
        ("abc-s3alias", False),
        ("abc--ol-s3", False),
        ("abc.mrap", False),
        ("abc--x-s3", False),
        ("abc--table-s3", False),
    ],
)
def test_is_valid_bucket_name(name: str, valid: bool) -> None:
    assert is_valid_bucket_name(name) is valid


def test_validate_bucket_name() -> None:
    validate_bucket_name("fine")
    with pytest.raises(S3Error) as err:
        validate_bucket_name("Not_Fine")
    assert err.value.code is S3ErrorCode.INVALID_BUCKET_NAME
    assert err.value.fields == {"BucketName": "Not_Fine"}
