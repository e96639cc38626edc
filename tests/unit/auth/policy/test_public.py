from __future__ import annotations

import json
from typing import Any

import pytest

from auth.policy.acl import canned_acl
from auth.policy.model import PolicyKind, parse_policy
from auth.policy.public import PublicAccessBlock, is_public_policy


def policy(**statement: Any) -> str:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    base.update(statement)
    return json.dumps({"Version": "2012-10-17", "Statement": [base]})


def cond(operator: str, key: str, value: Any) -> dict[str, Any]:
    return {"Condition": {operator: {key: value}}}


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({}, True),
        ({"Principal": {"AWS": "*"}}, True),
        ({"Effect": "Deny"}, False),
        ({"Principal": {"AWS": "111122223333"}}, False),
        ({"Principal": {"CanonicalUser": "abc"}}, False),
        ({"NotPrincipal": {"AWS": "111122223333"}, "Principal": None}, True),
        (cond("IpAddress", "aws:SourceIp", "192.0.2.0/24"), False),
        (cond("IpAddress", "aws:SourceIp", ["192.0.2.0/24", "2001:db8::/48"]), False),
        (cond("IpAddress", "aws:SourceIp", "0.0.0.0/0"), True),
        (cond("IpAddress", "aws:SourceIp", "::/0"), True),
        (cond("NotIpAddress", "aws:SourceIp", "192.0.2.0/24"), True),
        (cond("IpAddressIfExists", "aws:SourceIp", "192.0.2.0/24"), True),
        (cond("StringEquals", "aws:SourceVpc", "vpc-1"), False),
        (cond("StringEquals", "aws:SourceVpce", "vpce-1"), False),
        (cond("StringEquals", "aws:SourceAccount", "111122223333"), False),
        (cond("ArnEquals", "aws:SourceArn", "arn:aws:s3:::logs"), False),
        (cond("StringEquals", "aws:PrincipalOrgID", "o-1"), False),
        (cond("StringEquals", "aws:userid", "AIDAEXAMPLE"), False),
        (cond("StringLike", "aws:userid", "AROAEXAMPLE:*"), True),
        (cond("StringLike", "aws:SourceVpc", "vpc-*"), True),
        (cond("StringNotEquals", "aws:SourceVpc", "vpc-1"), True),
        (cond("StringEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id", "k"), False),
        (cond("Bool", "aws:SecureTransport", "true"), True),
        (cond("StringEquals", "aws:Referer", "https://example.com/"), True),
    ],
)
def test_is_public_policy(statement: dict[str, Any], public: bool) -> None:
    text = policy(**statement)
    data = json.loads(text)
    data["Statement"][0] = {k: v for k, v in data["Statement"][0].items() if v is not None}
    parsed = parse_policy(json.dumps(data), PolicyKind.BUCKET, bucket="b")
    assert is_public_policy(parsed) is public


def test_one_public_statement_makes_the_policy_public() -> None:
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "1"},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::b",
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
        },
    ]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    assert is_public_policy(parse_policy(text, PolicyKind.BUCKET, bucket="b"))


PUBLIC_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ],
    }
)


def test_public_access_block_rules() -> None:
    public_acl = canned_acl("public-read", "owner")
    private_acl = canned_acl("private", "owner")
    policy = parse_policy(PUBLIC_POLICY, PolicyKind.BUCKET, bucket="b")
    nothing = PublicAccessBlock()
    assert not nothing.refuses_acl(public_acl)
    assert not nothing.refuses_policy(policy)
    assert nothing.effective_acl(public_acl) == public_acl
    everything = PublicAccessBlock(True, True, True, True)
    assert everything.refuses_acl(public_acl)
    assert not everything.refuses_acl(private_acl)
    assert not everything.refuses_acl(None)
    assert everything.refuses_policy(policy)
    assert everything.effective_acl(public_acl) == private_acl


def test_public_access_block_json_round_trip() -> None:
    from auth.policy.public import PublicAccessBlock

    block = PublicAccessBlock(block_public_acls=True, restrict_public_buckets=True)
    assert PublicAccessBlock.from_json(block.to_json()) == block
    assert PublicAccessBlock.from_json(None) == PublicAccessBlock()
