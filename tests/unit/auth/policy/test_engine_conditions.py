"""The engine table, one row (at least) per condition key family the issue lists."""

from __future__ import annotations

import pytest

from tests.unit.auth.policy.engine_table import (
    ALICE,
    ALLOW,
    ANON,
    BKT,
    BOB,
    EXPLICIT,
    IMPLICIT,
    LIST,
    OTHER,
    PUBLIC,
    PUT,
    TLS_OFF,
    TLS_ON,
    B,
    Case,
    allow,
    check,
    deny,
)

CASES = [
    # -- conditions on request keys (one per key family)
    Case(
        "TLS-only deny over http",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[
            deny(
                "s3:*",
                ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                Condition={"Bool": {"aws:SecureTransport": "false"}},
                **PUBLIC,
            )
        ],
        keys=TLS_OFF,
    ),
    Case(
        "TLS-only deny over https",
        ALICE,
        ALLOW,
        [allow()],
        bucket=[
            deny(
                "s3:*",
                ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                Condition={"Bool": {"aws:SecureTransport": "false"}},
                **PUBLIC,
            )
        ],
        keys=TLS_ON,
    ),
    Case(
        "source IP in range",
        ANON,
        ALLOW,
        bucket=[allow(Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}, **PUBLIC)],
        keys={"aws:SourceIp": ("192.0.2.10",)},
    ),
    Case(
        "source IP out of range",
        ANON,
        IMPLICIT,
        bucket=[allow(Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}, **PUBLIC)],
        keys={"aws:SourceIp": ("198.51.100.1",)},
    ),
    Case(
        "source IPv6 in range",
        ANON,
        ALLOW,
        bucket=[allow(Condition={"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, **PUBLIC)],
        keys={"aws:SourceIp": ("2001:db8::7",)},
    ),
    Case(
        "deny outside IP range",
        ALICE,
        EXPLICIT,
        [allow(), deny("*", "*", Condition={"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}})],
        keys={"aws:SourceIp": ("8.8.8.8",)},
    ),
    Case(
        "current time before deadline",
        ALICE,
        ALLOW,
        [allow(Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})],
        keys={"aws:CurrentTime": ("2026-12-02T16:00:00Z",)},
    ),
    Case(
        "current time after deadline",
        ALICE,
        IMPLICIT,
        [allow(Condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})],
        keys={"aws:CurrentTime": ("2026-12-02T16:00:00Z",)},
    ),
    Case(
        "epoch time",
        ALICE,
        ALLOW,
        [allow(Condition={"NumericGreaterThan": {"aws:EpochTime": 1700000000}})],
        keys={"aws:EpochTime": ("1796000000",)},
    ),
    Case(
        "referer like",
        ANON,
        ALLOW,
        bucket=[
            allow(Condition={"StringLike": {"aws:Referer": "https://example.com/*"}}, **PUBLIC)
        ],
        keys={"aws:Referer": ("https://example.com/page",)},
    ),
    Case(
        "user agent mismatch",
        ANON,
        IMPLICIT,
        bucket=[allow(Condition={"StringEquals": {"aws:UserAgent": "rclone"}}, **PUBLIC)],
        keys={"aws:UserAgent": ("curl/8",)},
    ),
    Case(
        "aws:username from the requester",
        OTHER,
        IMPLICIT,
        bucket=[allow(Condition={"StringEquals": {"aws:username": "bob"}}, **PUBLIC)],
    ),
    Case(
        "aws:username matches bob cross-account",
        BOB,
        ALLOW,
        [allow()],
        bucket=[allow(Condition={"StringEquals": {"aws:username": "bob"}}, **PUBLIC)],
    ),
    Case(
        "aws:userid of a user",
        ALICE,
        ALLOW,
        [allow(Condition={"StringEquals": {"aws:userid": "AIDAALICE"}})],
    ),
    Case(
        "aws:userid of anonymous",
        ANON,
        ALLOW,
        bucket=[allow(Condition={"StringEquals": {"aws:userid": "anonymous"}}, **PUBLIC)],
    ),
    Case(
        "aws:PrincipalType User",
        ALICE,
        ALLOW,
        [allow(Condition={"StringEquals": {"aws:PrincipalType": "User"}})],
    ),
    Case(
        "aws:PrincipalType Anonymous denied",
        ANON,
        EXPLICIT,
        bucket=[
            allow(**PUBLIC),
            deny(Condition={"StringEquals": {"aws:PrincipalType": "Anonymous"}}, **PUBLIC),
        ],
    ),
    Case(
        "requester keys cannot be forged by request keys",
        ANON,
        IMPLICIT,
        bucket=[allow(Condition={"StringEquals": {"aws:username": "alice"}}, **PUBLIC)],
        keys={"aws:username": ("alice",)},
    ),
    Case(
        "s3:prefix",
        ANON,
        ALLOW,
        bucket=[allow(LIST, BKT, Condition={"StringEquals": {"s3:prefix": "public/"}}, **PUBLIC)],
        action=LIST,
        resource=BKT,
        keys={"s3:prefix": ("public/",)},
    ),
    Case(
        "s3:prefix absent",
        ANON,
        IMPLICIT,
        bucket=[allow(LIST, BKT, Condition={"StringEquals": {"s3:prefix": "public/"}}, **PUBLIC)],
        action=LIST,
        resource=BKT,
    ),
    Case(
        "s3:delimiter",
        ANON,
        ALLOW,
        bucket=[allow(LIST, BKT, Condition={"StringEquals": {"s3:delimiter": "/"}}, **PUBLIC)],
        action=LIST,
        resource=BKT,
        keys={"s3:delimiter": ("/",)},
    ),
    Case(
        "s3:max-keys",
        ANON,
        IMPLICIT,
        bucket=[
            allow(LIST, BKT, Condition={"NumericLessThanEquals": {"s3:max-keys": 100}}, **PUBLIC)
        ],
        action=LIST,
        resource=BKT,
        keys={"s3:max-keys": ("1000",)},
    ),
    Case(
        "s3:x-amz-acl required",
        BOB,
        ALLOW,
        [allow(PUT)],
        bucket=[
            allow(
                PUT,
                Principal={"AWS": B},
                Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        ],
        action=PUT,
        keys={"s3:x-amz-acl": ("bucket-owner-full-control",)},
    ),
    Case(
        "s3:x-amz-acl missing",
        BOB,
        IMPLICIT,
        [allow(PUT)],
        bucket=[
            allow(
                PUT,
                Principal={"AWS": B},
                Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        ],
        action=PUT,
    ),
    Case(
        "s3:x-amz-grant-full-control",
        OTHER,
        ALLOW,
        bucket=[
            allow(
                PUT,
                Principal={"AWS": B},
                Condition={"StringEquals": {"s3:x-amz-grant-full-control": "id=canon-a"}},
            )
        ],
        action=PUT,
        keys={"s3:x-amz-grant-full-control": ("id=canon-a",)},
    ),
    Case(
        "s3:x-amz-copy-source",
        ALICE,
        ALLOW,
        [allow(PUT, Condition={"StringLike": {"s3:x-amz-copy-source": "b/public/*"}})],
        action=PUT,
        keys={"s3:x-amz-copy-source": ("b/public/x",)},
    ),
    Case(
        "s3:x-amz-metadata-directive",
        ALICE,
        EXPLICIT,
        [
            allow(PUT),
            deny(PUT, Condition={"StringEquals": {"s3:x-amz-metadata-directive": "REPLACE"}}),
        ],
        action=PUT,
        keys={"s3:x-amz-metadata-directive": ("REPLACE",)},
    ),
    Case(
        "deny unencrypted uploads",
        ALICE,
        EXPLICIT,
        [allow(PUT)],
        bucket=[
            deny(
                PUT,
                Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
                **PUBLIC,
            )
        ],
        action=PUT,
    ),
    Case(
        "encrypted upload passes",
        ALICE,
        ALLOW,
        [allow(PUT)],
        bucket=[
            deny(
                PUT,
                Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
                **PUBLIC,
            )
        ],
        action=PUT,
        keys={"s3:x-amz-server-side-encryption": ("AES256",)},
    ),
    Case(
        "KMS key id",
        ALICE,
        ALLOW,
        [
            allow(
                PUT,
                Condition={
                    "StringEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "k1"}
                },
            )
        ],
        action=PUT,
        keys={"s3:x-amz-server-side-encryption-aws-kms-key-id": ("k1",)},
    ),
    Case(
        "existing object tag",
        ALICE,
        ALLOW,
        [allow(Condition={"StringEquals": {"s3:ExistingObjectTag/classification": "public"}})],
        keys={"s3:ExistingObjectTag/classification": ("public",)},
    ),
    Case(
        "existing object tag key is case-insensitive (IAM)",
        ALICE,
        ALLOW,
        [allow(Condition={"StringEquals": {"s3:ExistingObjectTag/Classification": "public"}})],
        keys={"s3:ExistingObjectTag/classification": ("public",)},
    ),
    Case(
        "request object tag",
        ALICE,
        ALLOW,
        [allow(PUT, Condition={"StringEquals": {"s3:RequestObjectTag/team": "x"}})],
        action=PUT,
        keys={"s3:RequestObjectTag/team": ("x",)},
    ),
    Case(
        "request tag keys: all within set",
        ALICE,
        ALLOW,
        [
            allow(
                PUT,
                Condition={
                    "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "env"]}
                },
            )
        ],
        action=PUT,
        keys={"s3:RequestObjectTagKeys": ("team",)},
    ),
    Case(
        "request tag keys: one outside set",
        ALICE,
        IMPLICIT,
        [
            allow(
                PUT,
                Condition={
                    "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "env"]}
                },
            )
        ],
        action=PUT,
        keys={"s3:RequestObjectTagKeys": ("team", "cost")},
    ),
    Case(
        "request tag keys: any",
        ALICE,
        ALLOW,
        [allow(PUT, Condition={"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "env"}})],
        action=PUT,
        keys={"s3:RequestObjectTagKeys": ("team", "env")},
    ),
    Case(
        "version id",
        ALICE,
        ALLOW,
        [allow("s3:GetObjectVersion", Condition={"StringEquals": {"s3:VersionId": "v1"}})],
        action="s3:GetObjectVersion",
        keys={"s3:VersionId": ("v1",)},
    ),
    Case(
        "object lock remaining days",
        ALICE,
        EXPLICIT,
        [
            allow("s3:PutObjectRetention"),
            deny(
                "s3:PutObjectRetention",
                Condition={"NumericGreaterThan": {"s3:object-lock-remaining-retention-days": 30}},
            ),
        ],
        action="s3:PutObjectRetention",
        keys={"s3:object-lock-remaining-retention-days": ("90",)},
    ),
    Case(
        "object lock mode",
        ALICE,
        ALLOW,
        [allow(PUT, Condition={"StringEquals": {"s3:object-lock-mode": "GOVERNANCE"}})],
        action=PUT,
        keys={"s3:object-lock-mode": ("GOVERNANCE",)},
    ),
    Case(
        "object lock legal hold",
        ALICE,
        ALLOW,
        [
            allow(
                "s3:PutObjectLegalHold",
                Condition={"StringEquals": {"s3:object-lock-legal-hold": "ON"}},
            )
        ],
        action="s3:PutObjectLegalHold",
        keys={"s3:object-lock-legal-hold": ("ON",)},
    ),
    Case(
        "object lock retain until",
        ALICE,
        ALLOW,
        [
            allow(
                PUT,
                Condition={
                    "DateLessThanEquals": {
                        "s3:object-lock-retain-until-date": "2027-01-01T00:00:00Z"
                    }
                },
            )
        ],
        action=PUT,
        keys={"s3:object-lock-retain-until-date": ("2026-06-01T00:00:00Z",)},
    ),
    Case(
        "signature version",
        ANON,
        IMPLICIT,
        bucket=[
            allow(Condition={"StringEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}}, **PUBLIC)
        ],
    ),
    Case(
        "deny SigV2",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[deny(Condition={"StringEquals": {"s3:signatureversion": "AWS"}}, **PUBLIC)],
        keys={"s3:signatureversion": ("AWS",)},
    ),
    Case(
        "deny presigned URLs",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[deny(Condition={"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}, **PUBLIC)],
        keys={"s3:authType": ("REST-QUERY-STRING",)},
    ),
    Case(
        "deny unsigned payloads",
        ALICE,
        EXPLICIT,
        [allow(PUT)],
        bucket=[
            deny(
                PUT,
                Condition={"StringEquals": {"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}},
                **PUBLIC,
            )
        ],
        action=PUT,
        keys={"s3:x-amz-content-sha256": ("UNSIGNED-PAYLOAD",)},
    ),
    Case(
        "IfExists: absent key passes",
        ANON,
        ALLOW,
        bucket=[allow(Condition={"StringEqualsIfExists": {"aws:Referer": "https://a/"}}, **PUBLIC)],
    ),
    Case(
        "IfExists: present key must match",
        ANON,
        IMPLICIT,
        bucket=[allow(Condition={"StringEqualsIfExists": {"aws:Referer": "https://a/"}}, **PUBLIC)],
        keys={"aws:Referer": ("https://b/",)},
    ),
    Case(
        "Null: deny requests without encryption header",
        ALICE,
        EXPLICIT,
        [allow(PUT), deny(PUT, Condition={"Null": {"s3:x-amz-server-side-encryption": "true"}})],
        action=PUT,
    ),
    Case(
        "conditions are ANDed",
        ANON,
        IMPLICIT,
        bucket=[
            allow(
                Condition={
                    "Bool": {"aws:SecureTransport": "true"},
                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                },
                **PUBLIC,
            )
        ],
        keys={**TLS_ON, "aws:SourceIp": ("8.8.8.8",)},
    ),
    Case(
        "keys of one operator are ANDed",
        ANON,
        IMPLICIT,
        bucket=[
            allow(Condition={"StringEquals": {"aws:Referer": "r", "aws:UserAgent": "u"}}, **PUBLIC)
        ],
        keys={"aws:Referer": ("r",)},
    ),
    Case(
        "condition key names are case-insensitive",
        ANON,
        ALLOW,
        bucket=[allow(Condition={"Bool": {"AWS:SECURETRANSPORT": "true"}}, **PUBLIC)],
        keys={"aws:securetransport": ("true",)},
    ),
    # -- variables inside conditions
    Case(
        "unresolved variable: allow does not apply",
        OTHER,
        IMPLICIT,
        bucket=[allow(**PUBLIC, Condition={"StringEquals": {"aws:Referer": "${aws:username}"}})],
        keys={"aws:Referer": ("",)},
    ),
    Case(
        "unresolved variable: deny does not apply",
        OTHER,
        ALLOW,
        bucket=[
            allow(Principal={"AWS": B}),
            deny(**PUBLIC, Condition={"StringNotEquals": {"aws:Referer": "${aws:username}"}}),
        ],
        keys={"aws:Referer": ("x",)},
    ),
    Case(
        "variable with IfExists and absent key",
        OTHER,
        ALLOW,
        bucket=[
            allow(
                Principal={"AWS": B},
                Condition={"StringLikeIfExists": {"s3:prefix": "${aws:username}/*"}},
            )
        ],
    ),
    Case(
        "variable: date against the current time",
        ALICE,
        ALLOW,
        [
            allow(
                Condition={
                    "DateLessThanEquals": {"s3:object-lock-retain-until-date": "${aws:CurrentTime}"}
                }
            )
        ],
        keys={
            "aws:CurrentTime": ("2026-12-02T16:00:00Z",),
            "s3:object-lock-retain-until-date": ("2026-01-01T00:00:00Z",),
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_evaluate_condition(case: Case) -> None:
    check(case)
