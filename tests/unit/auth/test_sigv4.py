"""SigV4 header and presigned auth, checked against botocore as an independent signer.

Requests are signed by botocore (S3SigV4Auth, S3SigV4QueryAuth, a boto3 client's
generate_presigned_url, and real boto3 calls captured before they hit the network), then
turned into a SignedRequest exactly as the server would see them, and verified.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.credentials import Credentials

from auth import sigv4
from auth.authenticate import parse_auth, verify_auth
from auth.chunked import ChunkedDecoder
from auth.request import AuthResult, PayloadMode, SignedRequest
from gateway.errors import S3Error, S3ErrorCode

ACCESS_KEY = "AKIDKLOUDVAULT01"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://s3.test:9000"

KEYS = [
    "plain.txt",
    "dir/sub dir/with space.txt",
    "ünïcødé/ключ/日本語.bin",
    "100%.txt",
    "a+b=c&d.txt",
    "tilde~x",
    "../x",
    "..",
    "question?mark#hash",
    "semi;colon,comma",
    "!$&'()*:@quotes\"",
    "emoji-😀",
    "trailing/",
]

QUERIES = [
    "",
    "uploads",
    "delete",
    "versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY",
    "partNumber=2&uploadId=VXBsb2FkIElE",
    "list-type=2&prefix=a%20b%2Fc&delimiter=%2F&max-keys=10",
    "tagging&versionId=null",
]


# -- helpers shared by the auth tests -----------------------------------------------------


def to_signed(
    method: str,
    url: str | None,
    headers: Mapping[str, Any] | HTTPHeaders,
    *,
    host_bucket: str | None = None,
) -> SignedRequest:
    """The SignedRequest a server builds from a request line and headers (as dispatch does);
    `url` and `headers` as botocore's AWSRequest holds them once signed."""
    assert url is not None
    parts = urlsplit(url)
    query = []
    for piece in parts.query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            query.append((unquote(name), unquote(value)))
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        text = value.decode() if isinstance(value, bytes) else str(value)
        low = name.lower()
        lowered[low] = f"{lowered[low]},{text}" if low in lowered else text
    lowered.setdefault("host", parts.netloc)
    return SignedRequest(method, parts.path, tuple(query), lowered, host_bucket)


def verify(req: SignedRequest, secret: str = SECRET_KEY, now: float | None = None) -> AuthResult:
    parsed = parse_auth(req)
    assert parsed is not None
    return verify_auth(parsed, req, secret, now=time.time() if now is None else now)


def assert_s3_error(code: S3ErrorCode, fn: Callable[[], object]) -> S3Error:
    with pytest.raises(S3Error) as info:
        fn()
    assert info.value.code is code, (info.value.code, info.value.message)
    return info.value


def object_url(key: str, query: str = "", endpoint: str = ENDPOINT, bucket: str = "bkt") -> str:
    # botocore's serializer quotes keys with safe="/~"; we do the same to build URLs.
    url = f"{endpoint}/{bucket}/{quote(key, safe='/~')}"
    return f"{url}?{query}" if query else url


@functools.cache
def client(signature_version: str, endpoint: str = ENDPOINT, region: str = "us-east-1") -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=region,
        config=Config(signature_version=signature_version, s3={"addressing_style": "path"}),
    )


class _EmptyRaw:
    def stream(self, **kwargs: object) -> Any:
        return iter([b""])


def capture(boto_client: Any, call: Callable[[Any], object]) -> Any:
    """The AWSPreparedRequest a real boto3 call sends; the call gets an empty 200."""
    sent: list[Any] = []

    def before_send(request: Any, **kwargs: object) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, HTTPHeaders(), _EmptyRaw())

    boto_client.meta.events.register("before-send.s3", before_send)
    try:
        call(boto_client)
    finally:
        boto_client.meta.events.unregister("before-send.s3", before_send)
    return sent[-1]


def read_body(prepared: Any) -> bytes:
    body = prepared.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        data: bytes = body.read()
        return data
    return bytes(body)


def sign_header(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    region: str = "us-east-1",
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", region).add_auth(request)
    return request


def sign_query(method: str, url: str, expires: int = 3600, region: str = "us-east-1") -> AWSRequest:
    request = AWSRequest(method=method, url=url)
    S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", region, expires=expires).add_auth(
        request
    )
    return request


def tampered(req: SignedRequest, **changes: Any) -> SignedRequest:
    fields: dict[str, Any] = {
        "method": req.method,
        "raw_path": req.raw_path,
        "query": req.query,
        "headers": dict(req.headers),
        "host_bucket": req.host_bucket,
    }
    fields.update(changes)
    return SignedRequest(**fields)


def assert_tamper_detected(req: SignedRequest, header: str) -> None:
    """Every change to a signed part of `req` must fail with SignatureDoesNotMatch."""
    mismatch = S3ErrorCode.SIGNATURE_DOES_NOT_MATCH
    other_method = "POST" if req.method != "POST" else "PUT"
    assert_s3_error(mismatch, lambda: verify(tampered(req, method=other_method)))
    assert_s3_error(mismatch, lambda: verify(tampered(req, raw_path=req.raw_path + "x")))
    assert_s3_error(mismatch, lambda: verify(tampered(req, raw_path=req.raw_path.upper())))
    extra = (*req.query, ("versionId", "other"))
    assert_s3_error(mismatch, lambda: verify(tampered(req, query=extra)))
    changed = {**req.headers, header: req.headers[header] + "x"}
    assert_s3_error(mismatch, lambda: verify(tampered(req, headers=changed)))
    assert_s3_error(mismatch, lambda: verify(req, secret=SECRET_KEY + "x"))


# -- primitives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keep_slash", "encoded"),
    [
        ("AZaz09-_.~", False, "AZaz09-_.~"),
        ("a b+c", False, "a%20b%2Bc"),
        ("a/b", False, "a%2Fb"),
        (
            "AKID/20261204/us-east-1/s3/aws4_request",
            False,
            "AKID%2F20261204%2Fus-east-1%2Fs3%2Faws4_request",
        ),
        ("a/b", True, "a/b"),
        ("é", False, "%C3%A9"),
        ("%", False, "%25"),
        ("*'()!", False, "%2A%27%28%29%21"),
        ("", False, ""),
        ("a b/c~", True, "a%20b/c~"),
        ("k/\u00e9/x", True, "k/%C3%A9/x"),
    ],
)
def test_uri_encode(text: str, keep_slash: bool, encoded: str) -> None:
    assert sigv4.uri_encode(text, keep_slash=keep_slash) == encoded


def test_canonical_query_sorts_by_encoded_name_then_value() -> None:
    pairs = [("prefix", "b"), ("Z", "1"), ("prefix", "a b"), ("uploads", ""), ("a~", "é")]
    assert sigv4.canonical_query(pairs) == "Z=1&a~=%C3%A9&prefix=a%20b&prefix=b&uploads="


def test_canonical_headers_trims_and_collapses_blanks() -> None:
    headers = {"host": "h", "x-amz-meta-a": "  one   two\tthree  "}
    block = sigv4.canonical_headers(["host", "x-amz-meta-a"], headers)
    assert block == "host:h\nx-amz-meta-a:one two three\n"


def test_canonical_uri_candidates() -> None:
    assert sigv4.canonical_uri_candidates("/b/a%20b") == ["/b/a%20b"]
    assert sigv4.canonical_uri_candidates("") == ["/"]
    assert sigv4.canonical_uri_candidates("/b/a!b") == ["/b/a!b", "/b/a%21b"]


def test_parse_amz_date() -> None:
    assert sigv4.parse_amz_date("20130524T000000Z") == calendar.timegm((2013, 5, 24, 0, 0, 0))
    for bad in ("2013-05-24T00:00:00Z", "20130524T000000", "20131324T000000Z", "x" * 16):
        assert sigv4.parse_amz_date(bad) is None


def _strptime_amz_date(value: str) -> float | None:
    """The reading parse_amz_date's fast path must agree with."""
    if len(value) != 16:
        return None
    try:
        return float(calendar.timegm(time.strptime(value, sigv4.AMZ_DATE_FORMAT)))
    except ValueError:
        return None


@pytest.mark.parametrize(
    "value",
    [
        "20240229T235959Z",  # leap day
        "20230229T000000Z",  # no such day
        "20130431T000000Z",
        "20130524T240000Z",
        "20130524T006000Z",
        "20130524T000060Z",  # leap seconds: strptime takes 60 and 61
        "20130524T000061Z",
        "20130524T000062Z",
        "00000101T000000Z",  # year 0
        "00010101T000000Z",
        "99991231T235959Z",
        "20130524t000000Z",
        "20130524T000000z",
        "2013052\u0664T000000Z",  # a non-ASCII digit
        "+2013052T000000Z",
        " 2013052T000000Z",
    ],
)
def test_parse_amz_date_agrees_with_strptime(value: str) -> None:
    sigv4.parse_amz_date.cache_clear()
    assert sigv4.parse_amz_date(value) == _strptime_amz_date(value)


def test_iter_canonical_uris_computes_the_encoded_form_only_when_asked() -> None:
    forms = sigv4.iter_canonical_uris("/b/a!b")
    assert next(forms) == "/b/a!b"
    assert list(forms) == ["/b/a%21b"]
    assert list(sigv4.iter_canonical_uris("/b/plain")) == ["/b/plain"]


def test_signing_key_is_derived_once_per_scope() -> None:
    sigv4.signing_key.cache_clear()
    first = sigv4.signing_key(AWS_EXAMPLE_SECRET, "20130524", "us-east-1", "s3")
    again = sigv4.signing_key(AWS_EXAMPLE_SECRET, "20130524", "us-east-1", "s3")
    other_day = sigv4.signing_key(AWS_EXAMPLE_SECRET, "20130525", "us-east-1", "s3")
    assert again == first != other_day
    assert sigv4.signing_key.cache_info().hits == 1


# -- the AWS documentation examples -----------------------------------------------------

AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_EXAMPLE_NOW = float(calendar.timegm((2013, 5, 24, 0, 0, 0)))


def test_aws_doc_example_get_object() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
    headers = {
        "host": "examplebucket.s3.amazonaws.com",
        "range": "bytes=0-9",
        "x-amz-content-sha256": sigv4.EMPTY_SHA256,
        "x-amz-date": "20130524T000000Z",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
        "s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    }
    req = SignedRequest("GET", "/test.txt", (), headers)
    result = verify(req, AWS_EXAMPLE_SECRET, AWS_EXAMPLE_NOW)
    assert result.access_key == "AKIAIOSFODNN7EXAMPLE"
    assert result.payload_mode is PayloadMode.SIGNED
    assert result.payload_sha256 == sigv4.EMPTY_SHA256
    assert not result.presigned


def test_aws_doc_example_presigned_get_object() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    query = (
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
        ("X-Amz-Date", "20130524T000000Z"),
        ("X-Amz-Expires", "86400"),
        ("X-Amz-SignedHeaders", "host"),
        ("X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
    )
    req = SignedRequest("GET", "/test.txt", query, {"host": "examplebucket.s3.amazonaws.com"})
    result = verify(req, AWS_EXAMPLE_SECRET, AWS_EXAMPLE_NOW + 3600)
    assert result.presigned and result.payload_mode is PayloadMode.UNSIGNED
    assert result.expires_at == AWS_EXAMPLE_NOW + 86400


# -- botocore's signers -------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("query", QUERIES)
def test_botocore_header_auth_verifies(key: str, query: str) -> None:
    headers = {"x-amz-meta-note": "  spaced   value ", "Content-Type": "text/plain"}
    signed = sign_header("PUT", object_url(key, query), headers, body=b"payload")
    req = to_signed("PUT", signed.url, signed.headers)
    result = verify(req)
    assert result.access_key == ACCESS_KEY
    assert result.payload_mode is PayloadMode.SIGNED
    assert result.payload_sha256 == hashlib.sha256(b"payload").hexdigest()
    assert_tamper_detected(req, "x-amz-meta-note")


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("query", QUERIES)
def test_botocore_presigned_verifies(key: str, query: str) -> None:
    signed = sign_query("GET", object_url(key, query), expires=600)
    req = to_signed("GET", signed.url, {})
    result = verify(req)
    assert result.presigned
    assert result.expires_at is not None and result.expires_at - time.time() <= 600
    assert_tamper_detected(req, "host")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-3", "garage", "local"])
def test_any_region_in_scope_is_accepted(region: str) -> None:
    signed = sign_header("GET", object_url("k"), region=region)
    verify(to_signed("GET", signed.url, signed.headers))
    presigned = sign_query("GET", object_url("k"), region=region)
    verify(to_signed("GET", presigned.url, {}))


def test_header_values_are_compared_after_whitespace_collapse() -> None:
    signed = sign_header("GET", object_url("k"), {"x-amz-meta-a": "one two"})
    req = to_signed("GET", signed.url, signed.headers)
    verify(tampered(req, headers={**req.headers, "x-amz-meta-a": "  one    two "}))


def test_tampered_signature_and_junk_signature() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    auth = req.headers["authorization"]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    for value in (flipped, auth[:-64] + "é" * 64, auth[:-64] + "ZZ"):
        bad = tampered(req, headers={**req.headers, "authorization": value})
        assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, functools.partial(verify, bad))


def test_signature_mismatch_reports_canonical_request_not_secret() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    error = assert_s3_error(
        S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(req, secret="other")
    )
    assert error.fields["AWSAccessKeyId"] == ACCESS_KEY
    assert error.fields["CanonicalRequest"].startswith("GET\n/bkt/k\n")
    assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert all(SECRET_KEY not in value for value in error.fields.values())


def test_unsigned_amz_header_is_refused() -> None:
    signed = sign_header("PUT", object_url("k"), body=b"x")
    req = to_signed("PUT", signed.url, signed.headers)
    extra = tampered(req, headers={**req.headers, "x-amz-acl": "public-read"})
    error = assert_s3_error(S3ErrorCode.ACCESS_DENIED, lambda: verify(extra))
    assert error.fields["HeadersNotSigned"] == "x-amz-acl"


def test_unsigned_host_is_refused() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    auth = req.headers["authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    bad = tampered(req, headers={**req.headers, "authorization": auth})
    error = assert_s3_error(S3ErrorCode.ACCESS_DENIED, lambda: verify(bad))
    assert error.fields["HeadersNotSigned"] == "host"


def test_missing_content_sha256_header_is_invalid_request() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    headers = {k: v for k, v in req.headers.items() if k != "x-amz-content-sha256"}
    error = assert_s3_error(
        S3ErrorCode.INVALID_REQUEST, lambda: verify(tampered(req, headers=headers))
    )
    assert "x-amz-content-sha256" in error.message


def test_date_header_may_replace_x_amz_date() -> None:
    # botocore keeps a Date header the caller set and signs with it instead of X-Amz-Date.
    signed = sign_header("GET", object_url("k"), {"Date": "placeholder"})
    assert "X-Amz-Date" not in signed.headers
    verify(to_signed("GET", signed.url, signed.headers))


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("UNSIGNED-PAYLOAD", PayloadMode.UNSIGNED),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", PayloadMode.STREAMING_SIGNED),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", PayloadMode.STREAMING_SIGNED_TRAILER),
        ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", PayloadMode.STREAMING_UNSIGNED_TRAILER),
        (sigv4.EMPTY_SHA256.upper(), PayloadMode.SIGNED),
    ],
)
def test_payload_modes(value: str, mode: PayloadMode) -> None:
    signed = _sign_with_payload_hash(value)
    result = verify(to_signed("PUT", signed.url, signed.headers))
    assert result.payload_mode is mode
    assert (result.chunk_signer is not None) == (mode.value.startswith("STREAMING-AWS4"))
    if mode is PayloadMode.SIGNED:
        assert result.payload_sha256 == value.lower()
    if result.chunk_signer is not None:
        auth = signed.headers["Authorization"]
        assert result.chunk_signer.seed_signature == auth.rsplit("Signature=", 1)[1]
        assert result.chunk_signer.scope.endswith("/us-east-1/s3/aws4_request")


def _sign_with_payload_hash(value: str) -> AWSRequest:
    """A request botocore signs with `value` as its x-amz-content-sha256."""

    class FixedPayload(S3SigV4Auth):
        def payload(self, request: AWSRequest) -> str:
            return value

    request = AWSRequest(method="PUT", url=object_url("k"), headers={})
    FixedPayload(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    return request


def test_unknown_payload_hash_is_invalid_argument() -> None:
    request = _sign_with_payload_hash("not-a-hash")
    error = assert_s3_error(
        S3ErrorCode.INVALID_ARGUMENT, lambda: verify(to_signed("PUT", request.url, request.headers))
    )
    assert error.fields["ArgumentName"] == "x-amz-content-sha256"


def test_presigned_with_signed_content_sha256_in_query() -> None:
    digest = sigv4.EMPTY_SHA256
    url = object_url("k", f"X-Amz-Content-Sha256={digest}")

    class SignedPayloadQuery(S3SigV4QueryAuth):
        def payload(self, request: AWSRequest) -> str:
            return digest

    request = AWSRequest(method="PUT", url=url)
    SignedPayloadQuery(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    result = verify(to_signed("PUT", request.url, {}))
    assert result.payload_mode is PayloadMode.SIGNED and result.payload_sha256 == digest


def test_presigned_ignores_unsigned_content_sha256_header() -> None:
    request = sign_query("PUT", object_url("k"))
    req = to_signed("PUT", request.url, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert verify(req).payload_mode is PayloadMode.UNSIGNED


# -- boto3: presigned URLs and captured real requests -------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_boto3_generate_presigned_url_s3v4(key: str) -> None:
    s3 = client("s3v4")
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "bkt",
            "Key": key,
            "ResponseContentDisposition": 'attachment; filename="a b+c.txt"',
            "VersionId": "v1",
        },
        ExpiresIn=300,
    )
    req = to_signed("GET", url, {})
    assert verify(req).presigned
    assert_tamper_detected(req, "host")


def test_boto3_presigned_put_with_headers() -> None:
    s3 = client("s3v4")
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": "bkt", "Key": "k", "ContentType": "text/plain"},
        ExpiresIn=60,
    )
    req = to_signed("PUT", url, {"Content-Type": "text/plain"})
    verify(req)


def _calls() -> list[tuple[str, Callable[[Any], object]]]:
    return [
        ("GetObject", lambda c: c.get_object(Bucket="bkt", Key="a b/ç.txt", Range="bytes=0-9")),
        (
            "ListObjectsV2",
            lambda c: c.list_objects_v2(Bucket="bkt", Prefix="a b/+", Delimiter="/", MaxKeys=5),
        ),
        ("CreateMultipartUpload", lambda c: c.create_multipart_upload(Bucket="bkt", Key="k~1")),
        (
            "UploadPart",
            lambda c: c.upload_part(
                Bucket="bkt", Key="k", PartNumber=3, UploadId="u/1+2", Body=b"x"
            ),
        ),
        (
            "DeleteObjects",
            lambda c: c.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "a"}]}),
        ),
        (
            "CopyObject",
            lambda c: c.copy_object(Bucket="bkt", Key="dst", CopySource="src/ké y?versionId=1"),
        ),
        (
            "PutObjectTagging",
            lambda c: c.put_object_tagging(
                Bucket="bkt", Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
            ),
        ),
        (
            "PutObject",
            lambda c: c.put_object(Bucket="bkt", Key="../x", Body=b"hello", Metadata={"m": "v"}),
        ),
    ]


@pytest.mark.parametrize("endpoint", ["http://s3.test:9000", "https://s3.test"])
@pytest.mark.parametrize(("name", "call"), _calls(), ids=[name for name, _ in _calls()])
def test_boto3_real_requests_verify(
    endpoint: str, name: str, call: Callable[[Any], object]
) -> None:
    prepared = capture(client("s3v4", endpoint, "eu-central-1"), call)
    req = to_signed(prepared.method, prepared.url, prepared.headers)
    result = verify(req)
    body = read_body(prepared)
    if result.payload_mode.is_streaming:
        decoder = ChunkedDecoder(
            signer=result.chunk_signer, expect_trailer=result.payload_mode.has_trailer
        )
        payload = b"".join(decoder.feed(body))
        trailers = decoder.finish()
        assert int(req.headers["x-amz-decoded-content-length"]) == len(payload)
        assert req.headers["x-amz-trailer"] in trailers
    elif result.payload_mode is PayloadMode.SIGNED:
        assert hashlib.sha256(body).hexdigest() == result.payload_sha256


def test_boto3_https_put_uses_unsigned_trailer() -> None:
    prepared = capture(
        client("s3v4", "https://s3.test"),
        lambda c: c.put_object(Bucket="bkt", Key="k", Body=b"data" * 1000),
    )
    result = verify(to_signed(prepared.method, prepared.url, prepared.headers))
    assert result.payload_mode is PayloadMode.STREAMING_UNSIGNED_TRAILER
    assert result.chunk_signer is None


@pytest.mark.parametrize("key_length", [0, 1, 32, 64, 65, 200])
@pytest.mark.parametrize("text", ["", "AWS4-HMAC-SHA256\n20130524T000000Z", "é" * 100])
def test_sign_is_hmac_sha256(key_length: int, text: str) -> None:
    key = bytes(range(256))[:key_length] if key_length <= 256 else b""
    expected = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    assert sigv4.sign(key, text) == sigv4.sign(key, text) == expected
