"""x-amz-expected-bucket-owner and x-amz-source-expected-bucket-owner. Pure.

Every bucket operation may name the account it expects to own the bucket; when another
account owns it the request fails with 403 AccessDenied and nothing happens
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html).
CopyObject and UploadPartCopy may name the source bucket's owner the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth.credentials import account_id
from gateway.errors import S3Error, S3ErrorCode

EXPECTED_OWNER = "x-amz-expected-bucket-owner"
EXPECTED_SOURCE_OWNER = "x-amz-source-expected-bucket-owner"


def check_expected_owner(headers: Mapping[str, str], owner: str, *, header: str) -> None:
    """AccessDenied unless `header` is absent or names the account id of `owner` (the
    owning account's name)."""
    expected = headers.get(header)
    if expected is not None and expected.strip() != account_id(owner):
        raise S3Error(S3ErrorCode.ACCESS_DENIED)
