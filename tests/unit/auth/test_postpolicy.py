"""auth/postpolicy.py: POST policy documents, their conditions and the form signatures."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from auth import sigv2, sigv4
from auth.postpolicy import (
    SignatureVersion,
    check_length,
    check_policy,
    form_signature,
    parse_post_policy,
    verify_signature,
)
from gateway.errors import S3Error, S3ErrorCode

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def encode(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def policy_of(*conditions: Any, expiration: str = "2024-05-01T13:00:00.000Z") -> str:
    return encode({"expiration": expiration, "conditions": list(conditions)})


def check(conditions: list[Any], fields: dict[str, str], now: float = NOW) -> None:
    check_policy(parse_post_policy(policy_of(*conditions)), fields, bucket="photos", now=now)


def denied(conditions: list[Any], fields: dict[str, str], now: float = NOW) -> str:
    with pytest.raises(S3Error) as info:
        check(conditions, fields, now)
    assert info.value.code is S3ErrorCode.ACCESS_DENIED
    return info.value.message


BASE = {"key": "user/eric/a.jpg", "policy": "p", "x-amz-signature": "s"}


def test_conditions_that_hold() -> None:
    check(
        [
            {"bucket": "photos"},
            ["starts-with", "$key", "user/eric/"],
            {"acl": "public-read"},
            ["eq", "$Content-Type", "image/jpeg"],
            ["starts-with", "$x-amz-meta-tag", ""],
            ["content-length-range", 1, 10],
        ],
        {**BASE, "acl": "public-read", "content-type": "image/jpeg", "x-amz-meta-tag": "t"},
    )


def test_exact_match_is_case_sensitive() -> None:
    message = denied([{"bucket": "photos"}, {"key": "User/eric/a.jpg"}], BASE)
    assert message == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "User/eric/a.jpg"]'
    )


def test_starts_with_fails() -> None:
    message = denied([["starts-with", "$key", "user/bob/"]], BASE)
    assert 'Policy Condition failed: ["starts-with", "$key", "user/bob/"]' in message


def test_bucket_condition_is_checked() -> None:
    assert "$bucket" in denied([{"bucket": "other"}, ["starts-with", "$key", ""]], BASE)


def test_extra_field_not_in_policy() -> None:
    message = denied([["starts-with", "$key", ""]], {**BASE, "x-amz-meta-extra": "1"})
    assert message == "Invalid according to Policy: Extra input fields: x-amz-meta-extra"


def test_exempt_fields_need_no_condition() -> None:
    fields = {**BASE, "signature": "s", "awsaccesskeyid": "a", "file": "", "x-ignore-me": "1"}
    check([["starts-with", "$key", ""]], fields)


def test_expired() -> None:
    assert denied([["starts-with", "$key", ""]], BASE, now=NOW + 3601) == (
        "Invalid according to Policy: Policy expired."
    )


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("not base64!", "Invalid Policy: Invalid Base64 Encoding."),
        (base64.b64encode(b"{nope").decode(), "Invalid Policy: Invalid JSON."),
        (encode({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (
            encode({"expiration": "2024-05-01T13:00:00Z"}),
            "Invalid Policy: Policy missing conditions.",
        ),
        (
            encode({"expiration": "yesterday", "conditions": []}),
            "Invalid Policy: Invalid 'expiration'",
        ),
        (policy_of(["eq", "key", "x"]), "Invalid Policy: Invalid Condition"),
        (policy_of(["matches", "$key", "x"]), "Invalid Policy: Invalid Condition"),
        (policy_of({"a": "1", "b": "2"}), "Invalid Policy: Invalid Simple-Condition"),
        (policy_of(["content-length-range", 1, 512.0]), "content-length-range"),
        (policy_of(["content-length-range", 1]), "Invalid Policy: Invalid Condition"),
        # Found by fuzzing (bench/fuzz postpolicy): each of these was a 500.
        (policy_of(["content-length-range", "\u00b2", "5"]), "content-length-range"),
        (policy_of(["content-length-range", "1", "\u0663"]), "content-length-range"),
        (base64.b64encode(b"[" * 100_000 + b"]" * 100_000).decode(), "Invalid JSON."),
    ],
)
def test_invalid_policy_documents(encoded: str, message: str) -> None:
    with pytest.raises(S3Error) as info:
        parse_post_policy(encoded)
    assert info.value.code is S3ErrorCode.INVALID_POLICY_DOCUMENT
    assert info.value.message.startswith(message) or message in info.value.message


def test_content_length_range() -> None:
    policy = parse_post_policy(policy_of(["content-length-range", 10, 100]))
    check_length(policy, 5, complete=False)
    check_length(policy, 100, complete=True)
    with pytest.raises(S3Error) as info:
        check_length(policy, 101, complete=False)
    assert info.value.code is S3ErrorCode.ENTITY_TOO_LARGE
    with pytest.raises(S3Error) as info:
        check_length(policy, 9, complete=True)
    assert info.value.code is S3ErrorCode.ENTITY_TOO_SMALL
    check_length(None, 10**12, complete=True)


def test_content_length_range_of_thousands_of_digits_saturates() -> None:
    # int() refuses strings of more than 4300 digits: this was a 500 (found by fuzzing).
    policy = parse_post_policy(policy_of(["content-length-range", "0", "9" * 5000]))
    assert policy.length_range == (0, 10**18)


def test_several_ranges_all_apply() -> None:
    policy = parse_post_policy(
        policy_of(["content-length-range", 0, 100], ["content-length-range", 10, 1000])
    )
    assert policy.length_range == (10, 100)


# -- signatures -------------------------------------------------------------------------------


def v4_fields(policy: str) -> dict[str, str]:
    credential = "AKIAIOSFODNN7EXAMPLE/20240501/us-east-1/s3/aws4_request"
    key = sigv4.signing_key(SECRET, "20240501", "us-east-1", "s3")
    return {
        "policy": policy,
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": "20240501T120000Z",
        "x-amz-signature": sigv4.sign(key, policy),
    }


def test_v4_signature() -> None:
    policy = policy_of(["starts-with", "$key", ""])
    signed = form_signature(v4_fields(policy))
    assert signed is not None and signed.version is SignatureVersion.V4
    assert signed.access_key == "AKIAIOSFODNN7EXAMPLE" and signed.region == "us-east-1"
    verify_signature(signed, policy, SECRET)
    with pytest.raises(S3Error) as info:
        verify_signature(signed, policy_of(["starts-with", "$key", "x"]), SECRET)
    assert info.value.code is S3ErrorCode.SIGNATURE_DOES_NOT_MATCH
    with pytest.raises(S3Error):
        verify_signature(signed, policy, SECRET + "x")


def test_v2_signature_as_the_aws_example() -> None:
    # HTTPPOSTForms.html: signature = Base64(HMAC-SHA1(secret, Base64(policy))).
    policy = policy_of({"bucket": "photos"})
    fields = {"awsaccesskeyid": "AKIAIOSFODNN7EXAMPLE", "policy": policy}
    fields["signature"] = sigv2.sign(SECRET, policy)
    signed = form_signature(fields)
    assert signed is not None and signed.version is SignatureVersion.V2
    verify_signature(signed, policy, SECRET)


def test_anonymous_form() -> None:
    assert form_signature({"key": "k", "acl": "public-read"}) is None


@pytest.mark.parametrize(
    ("drop", "argument"),
    [
        ("x-amz-signature", "x-amz-signature"),
        ("x-amz-date", "x-amz-date"),
        ("policy", "policy"),
        ("x-amz-credential", "x-amz-credential"),
    ],
)
def test_v4_fields_missing(drop: str, argument: str) -> None:
    fields = v4_fields(policy_of())
    del fields[drop]
    with pytest.raises(S3Error) as info:
        form_signature(fields)
    assert info.value.code is S3ErrorCode.INVALID_ARGUMENT
    assert info.value.fields["ArgumentName"] == argument


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-amz-credential", "AKIA/2024/us-east-1/s3/aws4_request"),
        ("x-amz-credential", "AKIA/20240501/us-east-1/ec2/aws4_request"),
        ("x-amz-algorithm", "AWS4-HMAC-SHA1"),
        ("x-amz-date", "2024-05-01"),
    ],
)
def test_v4_fields_malformed(name: str, value: str) -> None:
    fields = {**v4_fields(policy_of()), name: value}
    with pytest.raises(S3Error) as info:
        form_signature(fields)
    assert info.value.code is S3ErrorCode.INVALID_ARGUMENT


def test_policy_without_signature() -> None:
    with pytest.raises(S3Error) as info:
        form_signature({"key": "k", "policy": policy_of()})
    assert info.value.fields["ArgumentName"] == "AWSAccessKeyId"
