"""parse_auth / verify_auth: scheme detection, malformed credentials, time windows."""

from __future__ import annotations

import random
import time
from functools import partial

import pytest
from botocore.auth import HmacV1Auth

from auth import sigv2
from auth.authenticate import MAX_PRESIGNED_EXPIRES, anonymous_result, parse_auth, verify_auth
from auth.request import PayloadMode, SignedRequest
from gateway.errors import S3Error, S3ErrorCode
from tests.unit.auth.test_sigv2 import sign_header as sign_v2_header
from tests.unit.auth.test_sigv2 import sign_query as sign_v2_query
from tests.unit.auth.test_sigv4 import (
    ACCESS_KEY,
    SECRET_KEY,
    assert_s3_error,
    object_url,
    sign_header,
    sign_query,
    tampered,
    to_signed,
    verify,
)

CREDENTIAL = f"{ACCESS_KEY}/20240102/us-east-1/s3/aws4_request"
V4_HEADER = (
    f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
)
V4_QUERY = (
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Credential", CREDENTIAL),
    ("X-Amz-Date", "20240102T030405Z"),
    ("X-Amz-Expires", "3600"),
    ("X-Amz-SignedHeaders", "host"),
    ("X-Amz-Signature", "0" * 64),
)


def request(
    headers: dict[str, str] | None = None, query: tuple[tuple[str, str], ...] = ()
) -> SignedRequest:
    return SignedRequest("GET", "/bkt/key", query, {"host": "s3.test", **(headers or {})})


def v4_query(**changes: str | None) -> tuple[tuple[str, str], ...]:
    pairs = dict(V4_QUERY) | changes
    return tuple((k, v) for k, v in pairs.items() if v is not None)


# -- scheme detection ---------------------------------------------------------------------


def test_anonymous() -> None:
    assert parse_auth(request()) is None
    assert parse_auth(request({"authorization": "   "})) is None
    assert parse_auth(request(query=(("prefix", "Signature"), ("X-Amz-Date", "x")))) is None
    result = anonymous_result()
    assert result.access_key is None and result.payload_mode is PayloadMode.UNSIGNED
    assert not result.presigned and result.chunk_signer is None


def test_schemes() -> None:
    parsed = parse_auth(request({"authorization": V4_HEADER, "x-amz-date": "20240102T030405Z"}))
    assert parsed is not None and parsed.scheme == "v4-header"
    assert (parsed.access_key, parsed.region, parsed.date) == (ACCESS_KEY, "us-east-1", "20240102")
    assert parsed.signed_headers == ("host", "x-amz-date")

    parsed = parse_auth(request(query=V4_QUERY))
    assert parsed is not None and parsed.scheme == "v4-query" and parsed.expires == 3600

    parsed = parse_auth(
        request({"authorization": "AWS AK:c2ln", "date": "Tue, 02 Jan 2024 03:04:05 GMT"})
    )
    assert parsed is not None and parsed.scheme == "v2-header" and parsed.access_key == "AK"

    v2_query = (("AWSAccessKeyId", "AK"), ("Expires", "1700000000"), ("Signature", "c2ln"))
    parsed = parse_auth(request(query=v2_query))
    assert parsed is not None and parsed.scheme == "v2-query" and parsed.expires == 1700000000


def test_credential_access_key_may_contain_slash() -> None:
    header = V4_HEADER.replace(f"Credential={ACCESS_KEY}/", "Credential=a/b/")
    parsed = parse_auth(request({"authorization": header, "x-amz-date": "20240102T030405Z"}))
    assert parsed is not None and parsed.access_key == "a/b"


def test_scope_services_are_the_entry_points() -> None:
    """S3 routes take only "s3"; the IAM/STS entry takes "iam" and "sts" and nothing else."""
    iam_header = V4_HEADER.replace("/s3/", "/iam/")
    headers = {"authorization": iam_header, "x-amz-date": "20240102T030405Z"}
    with pytest.raises(S3Error) as exc:
        parse_auth(request(headers))
    assert exc.value.code is S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED
    query_api = frozenset({"iam", "sts"})
    parsed = parse_auth(request(headers), services=query_api)
    assert parsed is not None and parsed.service == "iam"
    sts_query = v4_query(**{"X-Amz-Credential": CREDENTIAL.replace("/s3/", "/sts/")})
    parsed = parse_auth(request(query=sts_query), services=query_api)
    assert parsed is not None and parsed.service == "sts"
    with pytest.raises(S3Error):
        parse_auth(request({**headers, "authorization": V4_HEADER}), services=query_api)


def test_header_components_without_spaces() -> None:
    header = V4_HEADER.replace(", ", ",")
    assert parse_auth(request({"authorization": header, "x-amz-date": "20240102T030405Z"}))


@pytest.mark.parametrize(
    ("headers", "query", "code"),
    [
        # two mechanisms at once
        ({"authorization": V4_HEADER}, V4_QUERY, S3ErrorCode.INVALID_ARGUMENT),
        ({"authorization": "AWS a:b"}, (("Signature", "x"),), S3ErrorCode.INVALID_ARGUMENT),
        # unsupported algorithms
        (
            {"authorization": "AWS4-ECDSA-P256-SHA256 Credential=x"},
            (),
            S3ErrorCode.INVALID_ARGUMENT,
        ),
        ({"authorization": "Bearer token"}, (), S3ErrorCode.INVALID_ARGUMENT),
        # malformed SigV4 headers
        (
            {"authorization": "AWS4-HMAC-SHA256 Credential=x", "x-amz-date": "20240102T030405Z"},
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        (
            {"authorization": V4_HEADER.replace("/s3/", "/ec2/"), "x-amz-date": "20240102T030405Z"},
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        (
            {
                "authorization": V4_HEADER.replace("aws4_request", "aws5"),
                "x-amz-date": "20240102T030405Z",
            },
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        (
            {
                "authorization": V4_HEADER.replace("20240102", "2024012"),
                "x-amz-date": "20240102T030405Z",
            },
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        (
            {"authorization": V4_HEADER, "x-amz-date": "20240103T030405Z"},
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        (
            {
                "authorization": V4_HEADER.replace("host;x-amz-date", "host;;x"),
                "x-amz-date": "20240102T030405Z",
            },
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        (
            {"authorization": V4_HEADER + ", Signature=1", "x-amz-date": "20240102T030405Z"},
            (),
            S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED,
        ),
        ({"authorization": V4_HEADER}, (), S3ErrorCode.ACCESS_DENIED),  # no date at all
        ({"authorization": V4_HEADER, "x-amz-date": "2024-01-02"}, (), S3ErrorCode.ACCESS_DENIED),
        # malformed presigned queries
        ({}, v4_query(**{"X-Amz-Expires": None}), S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR),
        (
            {},
            v4_query(**{"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        (
            {},
            v4_query(**{"X-Amz-Date": "20240102"}),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        (
            {},
            v4_query(**{"X-Amz-Date": "20240103T030405Z"}),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        (
            {},
            v4_query(**{"X-Amz-Expires": "soon"}),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        ({}, v4_query(**{"X-Amz-Expires": "-1"}), S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR),
        (
            {},
            v4_query(**{"X-Amz-Expires": "604801"}),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        (
            {},
            v4_query(**{"X-Amz-Credential": "AK/20240102/us-east-1/s3"}),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        (
            {},
            (*V4_QUERY, ("X-Amz-Date", "20240102T030405Z")),
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        ),
        # malformed SigV2
        (
            {"authorization": "AWS nocolon", "date": "Tue, 02 Jan 2024 03:04:05 GMT"},
            (),
            S3ErrorCode.INVALID_ARGUMENT,
        ),
        ({"authorization": "AWS AK:sig"}, (), S3ErrorCode.ACCESS_DENIED),
        ({"authorization": "AWS AK:sig", "date": "yesterday"}, (), S3ErrorCode.ACCESS_DENIED),
        ({}, (("AWSAccessKeyId", "AK"), ("Signature", "s")), S3ErrorCode.ACCESS_DENIED),
        (
            {},
            (("AWSAccessKeyId", "AK"), ("Signature", "s"), ("Expires", "soon")),
            S3ErrorCode.ACCESS_DENIED,
        ),
    ],
)
def test_malformed_auth(
    headers: dict[str, str], query: tuple[tuple[str, str], ...], code: S3ErrorCode
) -> None:
    assert_s3_error(code, lambda: parse_auth(request(headers, query)))


def test_presigned_expires_limit_is_one_week() -> None:
    assert MAX_PRESIGNED_EXPIRES == 604800
    assert parse_auth(request(query=v4_query(**{"X-Amz-Expires": "604800"})))


# -- time ----------------------------------------------------------------------------------


def test_header_auth_clock_skew() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    now = time.time()
    verify(req, now=now + 14 * 60)
    verify(req, now=now - 14 * 60)
    for skew in (16 * 60, -16 * 60):
        error = assert_s3_error(
            S3ErrorCode.REQUEST_TIME_TOO_SKEWED, partial(verify, req, now=now + skew)
        )
        assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_presigned_v4_window() -> None:
    signed = sign_query("GET", object_url("k"), expires=600)
    req = to_signed("GET", signed.url, {})
    now = time.time()
    assert verify(req, now=now + 590).presigned
    error = assert_s3_error(
        S3ErrorCode.EXPIRED_PRESIGNED_REQUEST, lambda: verify(req, now=now + 700)
    )
    assert error.code.code == "AccessDenied" and error.message == "Request has expired"
    assert error.fields["XAmzExpires"] == "600"
    verify(req, now=now - 14 * 60)  # a client clock a little ahead is tolerated
    assert_s3_error(S3ErrorCode.ACCESS_DENIED, lambda: verify(req, now=now - 16 * 60))


def test_a_presigned_url_checked_once_passes_again_and_nothing_else_passes_for_it() -> None:
    """The signature of a presigned URL fetched again (method, path, query, headers, secret
    all the same) is not worked out again; any change is checked afresh."""
    signed = sign_query("GET", object_url("k"), expires=600)
    req = to_signed("GET", signed.url, {})
    now = time.time()
    first = verify(req, now=now)
    assert verify(req, now=now + 1) is first  # from memory
    assert first.chunk_signer is None and first.presigned
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(req, "rotated", now))
    forged = tuple((k, "f" * 64 if k == "X-Amz-Signature" else v) for k, v in req.query)
    assert_s3_error(
        S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
        lambda: verify(SignedRequest(req.method, req.raw_path, forged, req.headers), now=now),
    )
    other_host = SignedRequest(req.method, req.raw_path, req.query, {**req.headers, "host": "x"})
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(other_host, now=now))
    added = {**req.headers, "x-amz-meta-added": "1"}
    unsigned = SignedRequest(req.method, req.raw_path, req.query, added)
    error = assert_s3_error(S3ErrorCode.ACCESS_DENIED, lambda: verify(unsigned, now=now))
    assert error.fields["HeadersNotSigned"] == "x-amz-meta-added"
    other_path = SignedRequest(req.method, "/bkt/other", req.query, req.headers)
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(other_path, now=now))
    assert verify(req, now=now + 2) is first


def test_presigned_v4_expiry_is_checked_before_signature() -> None:
    signed = sign_query("GET", object_url("k"), expires=1)
    req = to_signed("GET", signed.url, {})
    assert_s3_error(
        S3ErrorCode.EXPIRED_PRESIGNED_REQUEST, lambda: verify(req, "wrong", time.time() + 60)
    )


def test_presigned_v2_expiry() -> None:
    signed = sign_v2_query("GET", object_url("k"))
    req = to_signed("GET", signed.url, {})
    expires = float(req.query_value("Expires") or 0)
    assert verify(req, now=expires).expires_at == expires
    assert_s3_error(S3ErrorCode.EXPIRED_PRESIGNED_REQUEST, lambda: verify(req, now=expires + 1))


def test_presigned_lifetime_capped_by_the_operator() -> None:
    """--max-presigned-expiry: V4 by X-Amz-Expires, V2 by how far its Expires date lies."""
    v4 = to_signed("GET", sign_query("GET", object_url("k"), expires=600).url, {})
    v2 = to_signed("GET", sign_v2_query("GET", object_url("k")).url, {})  # expires in 600 s
    now = time.time()
    for req in (v4, v2):
        parsed = parse_auth(req)
        assert parsed is not None
        verify_auth(parsed, req, SECRET_KEY, now=now, max_presigned=600)
    v4_parsed, v2_parsed = parse_auth(v4), parse_auth(v2)
    assert v4_parsed is not None and v2_parsed is not None
    error = assert_s3_error(
        S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
        lambda: verify_auth(v4_parsed, v4, SECRET_KEY, now=now, max_presigned=300),
    )
    assert "300" in error.message
    assert_s3_error(
        S3ErrorCode.ACCESS_DENIED,
        lambda: verify_auth(v2_parsed, v2, SECRET_KEY, now=now, max_presigned=300),
    )
    # The V2 URL comes within the cap as its expiry nears.
    verify_auth(v2_parsed, v2, SECRET_KEY, now=now + 400, max_presigned=300)


# -- odd inputs never escape as anything but S3Error --------------------------------------


def test_non_ascii_signatures_are_mismatches() -> None:
    signed = sign_header("GET", object_url("k"))
    req = to_signed("GET", signed.url, signed.headers)
    auth = req.headers["authorization"]
    bad = tampered(req, headers={**req.headers, "authorization": auth[:-64] + "ü" * 64})
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(bad))
    v2 = request(
        {
            "authorization": "AWS AK:ü",
            "date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        }
    )
    parsed = parse_auth(v2)
    assert parsed is not None
    assert_s3_error(
        S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify_auth(parsed, v2, "s", now=time.time())
    )


def test_surrogate_escaped_header_values_do_not_crash() -> None:
    # aiohttp decodes non-UTF-8 header bytes with surrogateescape.
    signed = sign_header("GET", object_url("k"), {"x-amz-meta-a": "b"})
    req = to_signed("GET", signed.url, signed.headers)
    odd = tampered(req, headers={**req.headers, "x-amz-meta-a": "\udce9\ud800"})
    assert_s3_error(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH, lambda: verify(odd))


def test_sub_resource_list_covers_the_clients() -> None:
    # A client signing a sub-resource we leave out could never verify.
    assert set(HmacV1Auth.QSAOfInterest) <= sigv2.SUBRESOURCES
    # s3cmd 2.4: SUBRESOURCES_TO_INCLUDE in S3/Crypto.py sign_request_v2
    s3cmd = {"acl", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
             "requestPayment", "tagging", "torrent", "uploadId", "uploads", "versionId",
             "versioning", "versions", "website", "delete", "cors", "restore"}  # fmt: skip
    assert s3cmd <= sigv2.SUBRESOURCES


def test_mutated_credentials_raise_only_s3_errors() -> None:
    rng = random.Random(11)
    v4 = sign_header("PUT", object_url("k", "uploads"), {"x-amz-meta-a": "b"}, body=b"x")
    v4_req = to_signed("PUT", v4.url, v4.headers)
    presigned = to_signed("GET", sign_query("GET", object_url("k")).url, {})
    v2 = sign_v2_header("GET", object_url("k"))
    v2_req = to_signed("GET", v2.url, v2.headers)
    v2_presigned = to_signed("GET", sign_v2_query("GET", object_url("k")).url, {})
    alphabet = "0123456789abcdef,;=/: -+é\udce9AWS4" + "9" * 5

    def mutate(text: str) -> str:
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(chars) + 1)
            action = rng.randrange(4)
            if action == 0 and chars:
                del chars[min(pos, len(chars) - 1)]
            elif action == 1:
                chars.insert(pos, rng.choice(alphabet))
            elif action == 2:
                chars[pos:] = []
            else:
                chars.insert(pos, "9" * rng.choice([1, 20, 5000]))
        return "".join(chars)

    for _ in range(2000):
        base = rng.choice([v4_req, presigned, v2_req, v2_presigned])
        headers = dict(base.headers)
        query = list(base.query)
        if query and rng.random() < 0.5:
            index = rng.randrange(len(query))
            query[index] = (query[index][0], mutate(query[index][1]))
        else:
            name = rng.choice(sorted(headers))
            headers[name] = mutate(headers[name])
        req = tampered(base, headers=headers, query=tuple(query))
        try:
            parsed = parse_auth(req)
            if parsed is not None:
                verify_auth(parsed, req, "secret", now=time.time() + rng.choice([0, 1e6]))
        except S3Error:
            pass
