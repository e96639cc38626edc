"""auth/presign.py: the AWS documentation's presigned URL example, and URLs that verify
with auth.authenticate until anything signed in them changes."""

from __future__ import annotations

import calendar
from urllib.parse import unquote

import pytest

from auth.authenticate import parse_auth, verify_auth
from auth.presign import presign_v4
from auth.request import PayloadMode, SignedRequest
from gateway.errors import S3Error, S3ErrorCode

# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html (example)
AWS_EXAMPLE_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = float(calendar.timegm((2013, 5, 24, 0, 0, 0)))


def test_presign_v4_matches_the_aws_example() -> None:
    url = presign_v4(
        method="GET",
        host="examplebucket.s3.amazonaws.com",
        raw_path="/test.txt",
        query=[],
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key=SECRET,
        region="us-east-1",
        now=NOW,
        expires=86400,
    )
    assert url.startswith("/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
    assert url.endswith(f"&X-Amz-Signature={AWS_EXAMPLE_SIGNATURE}")


def _request(url: str, method: str = "PUT", host: str = "h:1") -> SignedRequest:
    path, _, query = url.partition("?")
    pairs = tuple(
        (unquote(name), unquote(value))
        for name, _, value in (p.partition("=") for p in query.split("&"))
    )
    return SignedRequest(method, path, pairs, {"host": host})


def test_presigned_urls_verify_until_changed() -> None:
    url = presign_v4(
        method="PUT",
        host="h:1",
        raw_path="/b/a%20b/c",
        query=[("partNumber", "2"), ("uploadId", "u/1+")],
        access_key="KVKEY",
        secret_key="s",
        region="r",
        now=NOW,
        expires=600,
    )
    request = _request(url)
    parsed = parse_auth(request)
    assert parsed is not None and parsed.access_key == "KVKEY"
    result = verify_auth(parsed, request, "s", now=NOW + 599)
    assert result.payload_mode is PayloadMode.UNSIGNED
    for changed in (
        _request(url, method="POST"),
        _request(url, host="other:1"),
        _request(url.replace("/b/a%20b/c", "/b/a%20b/d")),
        _request(url.replace("partNumber=2", "partNumber=3")),
    ):
        with pytest.raises(S3Error) as info:
            verify_auth(parsed, changed, "s", now=NOW)
        assert info.value.code is S3ErrorCode.SIGNATURE_DOES_NOT_MATCH
    with pytest.raises(S3Error) as expired:
        verify_auth(parsed, request, "s", now=NOW + 601)
    assert expired.value.code is S3ErrorCode.EXPIRED_PRESIGNED_REQUEST
