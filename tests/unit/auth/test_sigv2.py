"""SigV2 header and presigned auth, checked against botocore's HmacV1 signers and s3cmd."""

from __future__ import annotations

import calendar
import time
from email.utils import formatdate
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from S3 import Crypto as s3cmd_crypto
from S3.Config import Config as S3cmdConfig
from S3.SortedDict import SortedDict

from auth import sigv2
from auth.request import PayloadMode, SignedRequest
from gateway.errors import S3ErrorCode
from tests.unit.auth.test_sigv4 import (
    ACCESS_KEY,
    KEYS,
    SECRET_KEY,
    assert_s3_error,
    assert_tamper_detected,
    capture,
    client,
    object_url,
    tampered,
    to_signed,
    verify,
)

CREDENTIALS = Credentials(ACCESS_KEY, SECRET_KEY)

V2_QUERIES = [
    "",
    "uploads",
    "delete",
    "acl",
    "versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY",
    "partNumber=2&uploadId=VXBsb2FkIElE",
    "list-type=2&prefix=a%20b&delimiter=%2F",
    "response-content-type=text%2Fplain&response-content-disposition=attachment%3B%20x",
    "tagging",
]


def sign_header(
    method: str, url: str, headers: dict[str, str] | None = None, auth_path: str | None = None
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=headers or {}, auth_path=auth_path)
    HmacV1Auth(CREDENTIALS).add_auth(request)
    return request


def sign_query(method: str, url: str, headers: dict[str, str] | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=headers or {})
    HmacV1QueryAuth(CREDENTIALS, expires=600).add_auth(request)
    return request


# -- the canonical resource -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "host_bucket", "resource"),
    [
        ("/b/k", (), None, "/b/k"),
        ("/k", (), "b", "/b/k"),
        ("/", (), "b", "/b/"),
        ("", (), None, "/"),
        ("/b/a%20b", (("uploads", ""),), None, "/b/a%20b?uploads"),
        ("/b/k", (("uploadId", "u"), ("partNumber", "2")), None, "/b/k?partNumber=2&uploadId=u"),
        ("/b", (("prefix", "p"), ("acl", ""), ("max-keys", "3")), None, "/b?acl"),
        ("/b/k", (("versionId", "a+b/c"),), None, "/b/k?versionId=a+b/c"),
        ("/b/k", (("response-content-type", "a b"),), None, "/b/k?response-content-type=a b"),
    ],
)
def test_canonical_resource(
    path: str, query: tuple[tuple[str, str], ...], host_bucket: str | None, resource: str
) -> None:
    assert sigv2.canonical_resource(path, query, host_bucket) == resource


def test_canonical_amz_headers_sorted_and_trimmed() -> None:
    headers = {"x-amz-meta-b": " 2 ", "x-amz-acl": "private", "content-type": "x"}
    assert sigv2.canonical_amz_headers(headers) == "x-amz-acl:private\nx-amz-meta-b:2\n"


# -- the AWS documentation examples -----------------------------------------------------

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_aws_doc_example_object_get_virtual_host() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
    date = "Tue, 27 Mar 2007 19:36:42 +0000"
    headers = {
        "host": "johnsmith.s3.amazonaws.com",
        "date": date,
        "authorization": "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
    }
    req = SignedRequest("GET", "/photos/puppy.jpg", (), headers, host_bucket="johnsmith")
    now = float(calendar.timegm((2007, 3, 27, 19, 40, 0)))
    result = verify(req, DOC_SECRET, now)
    assert result.access_key == "AKIAIOSFODNN7EXAMPLE"
    assert result.payload_mode is PayloadMode.UNSIGNED and not result.presigned


def test_aws_doc_example_object_put() -> None:
    headers = {
        "content-type": "image/jpeg",
        "content-length": "94328",
        "date": "Tue, 27 Mar 2007 21:15:45 +0000",
        "authorization": "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=",
    }
    req = SignedRequest("PUT", "/photos/puppy.jpg", (), headers, host_bucket="johnsmith")
    verify(req, DOC_SECRET, float(calendar.timegm((2007, 3, 27, 21, 15, 45))))


def test_aws_doc_example_query_string() -> None:
    query = (
        ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"),
        ("Expires", "1175139620"),
        ("Signature", "NpgCjnDzrM+WFzoENXmpNDUsSn8="),
    )
    req = SignedRequest("GET", "/photos/puppy.jpg", query, {}, host_bucket="johnsmith")
    result = verify(req, DOC_SECRET, 1175139620.0 - 60)
    assert result.presigned and result.expires_at == 1175139620.0
    assert_s3_error(
        S3ErrorCode.EXPIRED_PRESIGNED_REQUEST, lambda: verify(req, DOC_SECRET, 1175139621.0)
    )
    # A "+" left unescaped in the URL decodes to a space: still the same signature.
    spaced = tampered(req, query=(*query[:2], ("Signature", "NpgCjnDzrM WFzoENXmpNDUsSn8=")))
    verify(spaced, DOC_SECRET, 1175139620.0 - 60)


# -- botocore's signers -------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("query", V2_QUERIES)
def test_botocore_hmacv1_header_verifies(key: str, query: str) -> None:
    headers = {
        "Content-Type": "text/plain",
        "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        "x-amz-meta-note": "  note ",
        "X-Amz-Acl": "private",
    }
    signed = sign_header("PUT", object_url(key, query), headers)
    req = to_signed("PUT", signed.url, signed.headers)
    result = verify(req)
    assert result.access_key == ACCESS_KEY and not result.presigned
    assert_tamper_detected(req, "x-amz-meta-note")
    for header in ("content-type", "content-md5", "date"):
        changed = {**req.headers, header: req.headers[header] + "x"}
        assert_s3_error(
            S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, partial(verify, tampered(req, headers=changed))
        )


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("query", V2_QUERIES)
def test_botocore_hmacv1_query_verifies(key: str, query: str) -> None:
    signed = sign_query("GET", object_url(key, query))
    req = to_signed("GET", signed.url, {})
    result = verify(req)
    assert result.presigned and result.expires_at is not None
    assert 0 < result.expires_at - time.time() <= 600
    mismatch = S3ErrorCode.SIGNATURE_DOES_NOT_MATCH
    assert_s3_error(mismatch, lambda: verify(tampered(req, method="DELETE")))
    assert_s3_error(mismatch, lambda: verify(tampered(req, raw_path=req.raw_path + "x")))
    extra = (*req.query, ("uploadId", "other"))
    assert_s3_error(mismatch, lambda: verify(tampered(req, query=extra)))
    assert_s3_error(mismatch, lambda: verify(req, secret="other"))


def test_unsigned_sub_resource_cannot_be_added() -> None:
    signed = sign_header("PUT", object_url("k"))
    req = to_signed("PUT", signed.url, signed.headers)
    for sub in ("retention", "legal-hold", "acl", "tagging"):
        extra = tampered(req, query=((sub, ""),))
        assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, partial(verify, extra))


def test_query_parameters_that_are_not_sub_resources_are_unsigned() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    verify(tampered(req, query=(("max-keys", "5"),)))


def test_uploads_with_equals_sign_verifies() -> None:
    signed = sign_header("POST", object_url("k", "uploads="))
    verify(to_signed("POST", signed.url, signed.headers))


def test_virtual_host_style_signs_the_bucket() -> None:
    url = "http://bkt.s3.test:9000/dir/a%20b"
    signed = sign_header("GET", url, auth_path="/bkt/dir/a%20b")
    req = to_signed("GET", signed.url, signed.headers, host_bucket="bkt")
    verify(req)
    assert_s3_error(
        S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(tampered(req, host_bucket="other"))
    )


def test_presigned_put_moves_signed_headers_into_query() -> None:
    headers = {"Content-Type": "image/png", "x-amz-acl": "public-read", "x-amz-meta-a": "b"}
    signed = sign_query("PUT", object_url("k"), headers)
    assert signed.url is not None and "x-amz-acl=public-read" in signed.url
    req = to_signed("PUT", signed.url, {"Content-Type": "image/png"})
    verify(req)
    wrong_type = tampered(req, headers={**req.headers, "content-type": "text/html"})
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(wrong_type))
    # An x-amz-* header sent along is part of the string to sign, so it cannot be added.
    added = tampered(req, headers={**req.headers, "x-amz-copy-source": "other/key"})
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(added))


def test_skewed_date_is_refused() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    now = time.time()
    verify(req, now=now + 14 * 60)
    for skew in (16 * 60, -16 * 60):
        assert_s3_error(S3ErrorCode.REQUEST_TIME_TOO_SKEWED, partial(verify, req, now=now + skew))


def test_missing_date_is_access_denied() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    no_date = tampered(req, headers={k: v for k, v in req.headers.items() if k != "date"})
    assert_s3_error(S3ErrorCode.ACCESS_DENIED, lambda: verify(no_date))


def test_content_sha256_header_decides_payload_mode() -> None:
    digest = "a" * 64
    signed = sign_header("PUT", object_url("k"), {"x-amz-content-sha256": digest})
    result = verify(to_signed("PUT", signed.url, signed.headers))
    assert result.payload_mode is PayloadMode.SIGNED and result.payload_sha256 == digest
    trailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    signed = sign_header("PUT", object_url("k"), {"x-amz-content-sha256": trailer})
    result = verify(to_signed("PUT", signed.url, signed.headers))
    assert result.payload_mode is PayloadMode.STREAMING_UNSIGNED_TRAILER
    chunked = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    signed = sign_header("PUT", object_url("k"), {"x-amz-content-sha256": chunked})
    assert_s3_error(
        S3ErrorCode.INVALID_REQUEST, lambda: verify(to_signed("PUT", signed.url, signed.headers))
    )


# -- boto3 and s3cmd ----------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_boto3_generate_presigned_url_s3(key: str) -> None:
    url = client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "bkt",
            "Key": key,
            "ResponseContentDisposition": 'attachment; filename="a b+c.txt"',
            "ResponseContentType": "text/plain; charset=utf-8",
        },
        ExpiresIn=300,
    )
    assert "AWSAccessKeyId=" in url
    result = verify(to_signed("GET", url, {}))
    assert result.presigned


def test_boto3_real_requests_with_s3_signature() -> None:
    calls: list[Any] = [
        lambda c: c.put_object(Bucket="bkt", Key="a b/é", Body=b"x", ACL="public-read"),
        lambda c: c.create_multipart_upload(Bucket="bkt", Key="k"),
        lambda c: c.list_objects(Bucket="bkt", Prefix="p q"),
        lambda c: c.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "a"}]}),
    ]
    for call in calls:
        prepared = capture(client("s3"), call)
        assert prepared.headers["Authorization"].startswith(b"AWS ")
        verify(to_signed(prepared.method, prepared.url, prepared.headers))


@pytest.fixture
def s3cmd_config() -> Any:
    config = S3cmdConfig()
    saved = (config.access_key, config.secret_key)
    config.access_key, config.secret_key = ACCESS_KEY, SECRET_KEY
    yield config
    config.access_key, config.secret_key = saved


@pytest.mark.parametrize("key", ["plain", "a b/é+ü.txt", "tilde~x", "../x"])
def test_s3cmd_sign_request_v2(s3cmd_config: Any, key: str) -> None:
    # s3cmd sends x-amz-date (RFC 1123), so the Date line of the string to sign is empty.
    headers = SortedDict(ignore_case=True)
    headers["x-amz-date"] = formatdate(usegmt=True).replace("GMT", "+0000")
    headers["content-type"] = "text/plain"
    headers["x-amz-meta-a"] = "b"
    params = {"uploadId": "abc", "partNumber": "2"}
    signed = s3cmd_crypto.sign_request_v2("PUT", f"/bkt/{key}", params, headers)
    url = f"http://s3.test/bkt/{quote(key, safe='/~')}?partNumber=2&uploadId=abc"
    verify(to_signed("PUT", url, dict(signed.items())))


def test_s3cmd_signurl(s3cmd_config: Any) -> None:
    expiry = int(time.time()) + 300
    url = s3cmd_crypto.sign_url_base_v2(bucket="bkt", object="a b/é.txt", expiry=expiry)
    # s3cmd signs for virtual-host style: http://bkt.<host_base>/<key>
    assert url.startswith("http://bkt.")
    result = verify(to_signed("GET", url, {}, host_bucket="bkt"))
    assert result.expires_at == float(expiry)


def test_s3cmd_sign_request_v4(s3cmd_config: Any) -> None:
    key = "a b/é+ü~.txt"
    headers = SortedDict(ignore_case=True)
    headers["content-type"] = "text/plain"
    params = {"uploadId": "abc", "partNumber": "2"}
    signed = s3cmd_crypto.sign_request_v4(
        "PUT", "s3.test", f"/bkt/{key}", params, "eu-west-1", headers, b"body"
    )
    url = f"http://s3.test/bkt/{quote(key, safe='/~')}?partNumber=2&uploadId=abc"
    result = verify(to_signed("PUT", url, dict(signed.items())))
    assert result.payload_mode is PayloadMode.SIGNED
