"""The policy parser (auth.policy.model.parse_policy) as each of its callers uses it.

Input: a control line naming the kind ("bucket", "identity", "trust"; anything else is
"bucket"), then the document. Bucket policies go through PutBucketPolicy's
gateway.s3.bucket_policy.parse_bucket_policy (S3Error only); identity and trust
policies through parse_policy (MalformedPolicy, including PolicyTooLarge).
"""

from __future__ import annotations

from auth.policy.model import MalformedPolicy, PolicyKind, parse_policy
from bench.fuzz.harness import Target
from gateway.errors import S3Error
from gateway.s3.bucket_policy import parse_bucket_policy


def run(data: bytes) -> None:
    control, _, document = data.partition(b"\n")
    kind = control.strip().decode("ascii", "replace")
    if kind == PolicyKind.IDENTITY.value:
        parse_policy(document, PolicyKind.IDENTITY, max_chars=6144)
    elif kind == PolicyKind.TRUST.value:
        parse_policy(document, PolicyKind.TRUST, max_chars=2048)
    else:
        parse_bucket_policy(document, "bucket")


TOKENS = tuple(
    t.encode()
    for t in (
        '"Version": "2012-10-17"',
        '"Statement": ',
        '"Effect": "Allow"',
        '"Effect": "Deny"',
        '"Principal": ',
        '"NotPrincipal": ',
        '"Action": ',
        '"NotAction": ',
        '"Resource": ',
        '"NotResource": ',
        '"Condition": ',
        '"AWS": ',
        '"Federated": ',
        '"CanonicalUser": ',
        '"Service": ',
        "arn:aws:s3:::bucket/*",
        "arn:aws:iam::123456789012:root",
        "s3:GetObject",
        "s3:*",
        "${aws:username}",
        "${*}",
        "ForAllValues:",
        "ForAnyValue:",
        "IfExists",
        "StringLike",
        "NumericLessThan",
        "DateGreaterThan",
        "IpAddress",
        "ArnLike",
        "Bool",
        "Null",
        "BinaryEquals",
        "aws:SourceIp",
        "aws:CurrentTime",
        "s3:max-keys",
        "::/0",
        "1e400",
        "-0",
        "\\ud800",
    )
)


def targets() -> list[Target]:
    return [Target("policy", run, (S3Error, MalformedPolicy), TOKENS)]
