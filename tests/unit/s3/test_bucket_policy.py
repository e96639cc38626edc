"""gateway.s3.bucket_policy: what S3 stores for a PutBucketPolicy body, and the
MalformedPolicy reasons it answers."""

from __future__ import annotations

import json

import pytest

from auth.policy.model import MAX_BUCKET_POLICY_BYTES, Effect
from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.bucket_policy import parse_bucket_policy

STATEMENT = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::b/*",
}


def _doc(**statement: object) -> bytes:
    return json.dumps({"Version": "2012-10-17", "Statement": [{**STATEMENT, **statement}]}).encode()


def test_valid_policy_is_kept_as_sent() -> None:
    body = b'\n  {"Version": "2012-10-17",\n "Statement": ' + json.dumps(STATEMENT).encode() + b"}"
    text, policy = parse_bucket_policy(body, "b")
    assert text == body.decode()
    assert policy.statements[0].effect is Effect.ALLOW


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "Policies must be valid JSON and the first byte must be '{'"),
        (b"[]", "Policies must be valid JSON and the first byte must be '{'"),
        (b'{"Statement": ', "This policy contains invalid Json"),
        (b'{"Statement": "\xff"}', "This policy contains invalid Json"),
        (_doc(Resource="arn:aws:s3:::other/*"), "Policy has invalid resource"),
        (_doc(Action="s3:Fly"), "Policy has invalid action: s3:Fly"),
        (json.dumps({"Statement": [{"Effect": "Allow"}]}).encode(), "Missing required field"),
    ],
)
def test_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(S3Error) as err:
        parse_bucket_policy(body, "b")
    assert err.value.code is S3ErrorCode.MALFORMED_POLICY
    assert err.value.status == 400
    assert err.value.message.startswith(reason)


def test_too_large() -> None:
    padded = _doc(Sid="x" * MAX_BUCKET_POLICY_BYTES)
    with pytest.raises(S3Error) as err:
        parse_bucket_policy(padded, "b")
    assert err.value.code is S3ErrorCode.MALFORMED_POLICY
    assert "20 KB" in err.value.message
