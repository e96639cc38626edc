from __future__ import annotations

import json
from typing import Any

import pytest

from auth.policy.conditions import ConditionClause, SetOperator
from auth.policy.model import (
    VERSION_2008,
    VERSION_2012,
    Effect,
    MalformedPolicy,
    Policy,
    PolicyKind,
    PolicyTooLarge,
    Principals,
    Statement,
    named_principals,
    parse_policy,
)

BUCKET, IDENTITY = PolicyKind.BUCKET, PolicyKind.IDENTITY
ARN = "arn:aws:s3:::b"


def doc(*statements: dict[str, Any], version: str | None = VERSION_2012) -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        body["Version"] = version
    return json.dumps(body)


def stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"{ARN}/*",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_parse_bucket_policy_full() -> None:
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "P1",
            "Statement": {
                "Sid": "Public",
                "Effect": "Deny",
                "NotPrincipal": {"AWS": ["111122223333", "arn:aws:iam::111122223333:root"]},
                "NotAction": ["s3:Get*", "s3:ListBucket"],
                "NotResource": [ARN, f"{ARN}/*"],
                "Condition": {
                    "ForAnyValue:StringLikeIfExists": {"s3:RequestObjectTagKeys": ["a*", "b"]},
                    "NumericLessThan": {"s3:max-keys": 10},
                    "Bool": {"aws:SecureTransport": False},
                },
            },
        }
    )
    assert parse_policy(text, BUCKET, bucket="b") == Policy(
        statements=(
            Statement(
                effect=Effect.DENY,
                actions=("s3:Get*", "s3:ListBucket"),
                resources=(ARN, f"{ARN}/*"),
                sid="Public",
                not_action=True,
                not_resource=True,
                principals=Principals(aws=("111122223333", "arn:aws:iam::111122223333:root")),
                not_principal=True,
                conditions=(
                    ConditionClause(
                        "ForAnyValue:StringLikeIfExists",
                        "StringLike",
                        "s3:RequestObjectTagKeys",
                        ("a*", "b"),
                        True,
                        SetOperator.FOR_ANY_VALUE,
                    ),
                    ConditionClause("NumericLessThan", "NumericLessThan", "s3:max-keys", ("10",)),
                    ConditionClause("Bool", "Bool", "aws:SecureTransport", ("false",)),
                ),
            ),
        ),
        version=VERSION_2012,
        id="P1",
    )


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", Principals(everyone=True)),
        ({"AWS": "*"}, Principals(everyone=True)),
        ({"AWS": ["*", "111122223333"]}, Principals(everyone=True, aws=("111122223333",))),
        ({"CanonicalUser": "c1"}, Principals(canonical_users=("c1",))),
        (
            {"Service": "logging.s3.amazonaws.com"},
            Principals(services=("logging.s3.amazonaws.com",)),
        ),
        (
            {"Federated": "cognito-identity.amazonaws.com"},
            Principals(federated=("cognito-identity.amazonaws.com",)),
        ),
    ],
)
def test_parse_principal_forms(principal: Any, expected: Principals) -> None:
    policy = parse_policy(doc(stmt(Principal=principal)), BUCKET, bucket="b")
    assert policy.statements[0].principals == expected


def test_identity_policy_without_principal_and_any_service() -> None:
    text = doc({"Effect": "Allow", "Action": ["iam:GetUser", "*"], "Resource": "*"})
    statement = parse_policy(text, IDENTITY).statements[0]
    assert statement.principals is None
    assert statement.actions == ("iam:GetUser", "*")


def test_version_defaults_to_2008_without_variables() -> None:
    policy = parse_policy(doc(stmt(), version=None), BUCKET, bucket="b")
    assert policy.version == VERSION_2008
    assert not policy.expands_variables
    assert parse_policy(doc(stmt()), BUCKET, bucket="b").expands_variables


def test_statement_indexes_and_values_become_strings() -> None:
    text = doc(
        stmt(Sid="A"),
        stmt(Sid="B", Condition={"NumericEquals": {"s3:max-keys": [1, 2.5]}}),
    )
    policy = parse_policy(text, BUCKET, bucket="b")
    assert [s.index for s in policy.statements] == [0, 1]
    assert policy.statements[1].conditions[0].values == ("1", "2.5")


# (kind, document, reason)
MALFORMED: list[tuple[PolicyKind, str, str]] = [
    (BUCKET, "{not json", "This policy contains invalid Json"),
    (BUCKET, "[]", "Policy document must be a JSON object"),
    (
        BUCKET,
        '{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}',
        "Duplicate field Version",
    ),
    (BUCKET, doc(stmt(), version="2020-01-01"), "The policy must contain a valid version string"),
    (BUCKET, json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (BUCKET, doc(), "Statement must be an object or a non-empty list"),
    (BUCKET, json.dumps({"Statement": [stmt()], "Extra": 1}), "Unknown field Extra"),
    (BUCKET, json.dumps({"Statement": [stmt()], "Id": 5}), "Id must be a string"),
    (BUCKET, doc("x"), "Each statement must be a JSON object"),  # type: ignore[arg-type]
    (BUCKET, doc(stmt(Foo=1)), "Unknown field Foo"),
    (BUCKET, doc(stmt(Effect=None)), "Missing required field Effect"),
    (BUCKET, doc(stmt(Effect="allow")), "Invalid effect: allow"),
    (BUCKET, doc(stmt(Sid=3)), "Sid must be a string"),
    (
        BUCKET,
        doc(stmt(Sid="S"), stmt(Sid="S")),
        "Statement IDs (SID) in a single policy must be unique",
    ),
    (BUCKET, doc(stmt(Action=None)), "Missing required field Action"),
    (
        BUCKET,
        doc(stmt(NotAction="s3:PutObject")),
        "Statement cannot have both Action and NotAction",
    ),
    (BUCKET, doc(stmt(Action=[])), "Action must be a non-empty string or list of strings"),
    (BUCKET, doc(stmt(Action="")), "Action must be a non-empty string or list of strings"),
    (BUCKET, doc(stmt(Action="GetObject")), "Policy has invalid action: GetObject"),
    (BUCKET, doc(stmt(Action="iam:GetUser")), "Policy has invalid action: iam:GetUser"),
    (BUCKET, doc(stmt(Action="s3:GetObjects")), "Policy has invalid action: s3:GetObjects"),
    (BUCKET, doc(stmt(Resource=None)), "Missing required field Resource"),
    (BUCKET, doc(stmt(NotResource=ARN)), "Statement cannot have both Resource and NotResource"),
    (BUCKET, doc(stmt(Resource="*")), "Policy has invalid resource"),
    (BUCKET, doc(stmt(Resource="arn:aws:s3:::other/*")), "Policy has invalid resource"),
    (BUCKET, doc(stmt(Resource="arn:aws:s3:::bb/*")), "Policy has invalid resource"),
    (BUCKET, doc(stmt(Principal=None)), "Missing required field Principal"),
    (BUCKET, doc(stmt(NotPrincipal="*")), "Statement cannot have both Principal and NotPrincipal"),
    (BUCKET, doc(stmt(Principal="someone")), "Invalid principal in policy"),
    (BUCKET, doc(stmt(Principal={"Alien": "x"})), "Invalid principal in policy"),
    (BUCKET, doc(stmt(Principal={"AWS": "arn:aws:iam::*:root"})), "Invalid principal in policy"),
    (BUCKET, doc(stmt(Principal={})), "Invalid principal in policy"),
    (BUCKET, doc(stmt(Condition=[])), "Condition must be a JSON object"),
    (
        BUCKET,
        doc(stmt(Condition={"StringEqual": {"s3:prefix": "a"}})),
        "Invalid Condition type : StringEqual",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"NullIfExists": {"s3:prefix": "true"}})),
        "Invalid Condition type : NullIfExists",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"StringEquals": "x"})),
        "Condition StringEquals must map keys to values",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"StringEquals": {"s3:prefix": []}})),
        "Condition StringEquals has no value for s3:prefix",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"StringEquals": {"s3:prefix": {"a": 1}}})),
        "Condition values must be strings, numbers or booleans",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"StringEquals": {"prefix": "a"}})),
        "Policy has an invalid condition key: prefix",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"StringEquals": {"s3:NoSuchKey": "a"}})),
        "Policy has an invalid condition key: s3:NoSuchKey",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"StringEquals": {"ec2:Region": "a"}})),
        "Policy has an invalid condition key: ec2:Region",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})),
        "Invalid Condition value for NumericLessThan: ten",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"DateGreaterThan": {"aws:CurrentTime": "soon"}})),
        "Invalid Condition value for DateGreaterThan: soon",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/99"}})),
        "Invalid Condition value for IpAddress: 10.0.0.0/99",
    ),
    (
        BUCKET,
        doc(stmt(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
        "Invalid Condition value for Bool: yes",
    ),
    (IDENTITY, doc(stmt()), "Policy document should not specify a principal"),
    (
        IDENTITY,
        doc({"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}),
        "Policy has invalid resource: bucket",
    ),
]


@pytest.mark.parametrize(("kind", "text", "reason"), MALFORMED)
def test_malformed_policy_reason(kind: PolicyKind, text: str, reason: str) -> None:
    with pytest.raises(MalformedPolicy) as caught:
        parse_policy(text, kind, bucket="b")
    assert caught.value.reason == reason


def test_bucket_policy_size_limit_is_20_kb() -> None:
    padding = " " * (20 * 1024)
    with pytest.raises(PolicyTooLarge):
        parse_policy(doc(stmt()) + padding, BUCKET, bucket="b")
    fits = doc(stmt())
    parse_policy(fits + " " * (20 * 1024 - len(fits)), BUCKET, bucket="b")


def test_identity_policy_size_counts_characters_without_whitespace() -> None:
    text = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    parse_policy(text + " " * 10_000, IDENTITY, max_chars=2048)
    with pytest.raises(PolicyTooLarge):
        parse_policy(text, IDENTITY, max_chars=len(text.replace(" ", "")) - 1)


def test_bucket_policy_without_bucket_checks_only_the_s3_prefix() -> None:
    parse_policy(doc(stmt(Resource="arn:aws:s3:::any/*")), BUCKET)
    with pytest.raises(MalformedPolicy):
        parse_policy(doc(stmt(Resource="arn:aws:iam::1:root")), BUCKET)


@pytest.mark.parametrize(
    "action", ["s3:*", "s3:Get*", "S3:getobject", "s3:ListBucket", "*", "s3:?etObject"]
)
def test_bucket_policy_accepts_action_forms(action: str) -> None:
    parse_policy(doc(stmt(Action=action)), BUCKET, bucket="b")


@pytest.mark.parametrize(
    "key",
    [
        "aws:SourceIp",
        "AWS:SOURCEIP",
        "s3:prefix",
        "s3:ExistingObjectTag/Project",
        "s3:RequestObjectTag/env",
        "s3:RequestObjectTagKeys",
        "s3:x-amz-grant-read",
        "s3:object-lock-remaining-retention-days",
        "s3:signatureversion",
        "s3:authType",
        "s3:x-amz-content-sha256",
        "s3:VersionId",
        "aws:anything-global",
    ],
)
def test_bucket_policy_accepts_condition_keys(key: str) -> None:
    text = doc(stmt(Condition={"StringEqualsIfExists": {key: "v"}}))
    assert parse_policy(text, BUCKET, bucket="b").statements[0].conditions[0].key == key


def test_named_principals() -> None:
    text = doc(
        stmt(Sid="A", Principal={"AWS": ["111122223333"], "CanonicalUser": "c1"}),
        stmt(Sid="B", Principal=None, NotPrincipal={"AWS": "arn:aws:iam::1:user/u"}),
    )
    assert named_principals(parse_policy(text, BUCKET, bucket="b")) == (
        Principals(aws=("111122223333",), canonical_users=("c1",)),
        Principals(aws=("arn:aws:iam::1:user/u",)),
    )


@pytest.mark.parametrize("text", [b"\xff\xfe{}", "[" * 5000 + "]" * 5000, '{"Statement": [' * 3000])
def test_hostile_json_is_malformed_not_a_crash(text: str | bytes) -> None:
    with pytest.raises(MalformedPolicy):
        parse_policy(text, BUCKET, bucket="b")
