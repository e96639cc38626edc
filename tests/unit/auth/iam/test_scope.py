"""auth/iam/scope.py: which requests go to the IAM/STS query APIs."""

from __future__ import annotations

import pytest

from auth.iam.scope import query_api_service

V4 = (
    "AWS4-HMAC-SHA256 Credential=KVX/20240101/us-east-1/{}/aws4_request,"
    " SignedHeaders=host, Signature=ab"
)
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("POST", "/", [], {"authorization": V4.format("iam"), **FORM}, "iam"),
        ("POST", "/", [], {"authorization": V4.format("sts"), **FORM}, "sts"),
        ("GET", "/", [], {"authorization": V4.format("s3")}, None),
        ("GET", "/b", [], {"authorization": V4.format("ec2")}, None),
        ("GET", "/", [("X-Amz-Credential", "KVX/20240101/us-east-1/iam/aws4_request")], {}, "iam"),
        ("GET", "/", [("X-Amz-Credential", "KVX/20240101/us-east-1/s3/aws4_request")], {}, None),
        ("GET", "/", [("Action", "ListUsers")], {}, "iam"),  # unsigned: refused as IAM
        ("POST", "/", [], FORM, "iam"),
        ("POST", "/bucket", [], FORM, None),  # a browser-form POST upload is S3's
        ("GET", "/", [], {}, None),  # anonymous ListBuckets
        ("GET", "/", [("Action", "x")], {"authorization": "AWS KVX:sig"}, None),  # SigV2: S3
    ],
)
def test_query_api_service(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    expected: str | None,
) -> None:
    assert query_api_service(method, path, query, headers) == expected
