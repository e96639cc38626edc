"""(policies, request context) -> decision, as a table. One row per rule of the engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from auth.policy.context import GrantLevel, PolicyContext, Requester
from auth.policy.engine import Decision, Match, NamedPolicy, Policies, Verdict, evaluate
from auth.policy.model import PolicyKind, parse_policy

ALLOW, EXPLICIT, IMPLICIT = Verdict.ALLOW, Verdict.EXPLICIT_DENY, Verdict.IMPLICIT_DENY
A, B = "111111111111", "222222222222"  # account A owns bucket "b"; B is another account
OWNER = Requester.account(A, "canon-a")
ALICE = Requester.user(A, "canon-a", "alice", "AIDAALICE")
OTHER = Requester.account(B, "canon-b")
BOB = Requester.user(B, "canon-b", "bob", "AIDABOB")
ANON = Requester.anonymous()
ADMIN = Requester.account("000000000000", "canon-root", is_admin=True)
ALICE_ARN = "arn:aws:iam::111111111111:user/alice"
BOB_ARN = "arn:aws:iam::222222222222:user/bob"
OBJ = "arn:aws:s3:::b/doc.txt"
BKT = "arn:aws:s3:::b"
GET, PUT, LIST = "s3:GetObject", "s3:PutObject", "s3:ListBucket"


def allow(action: Any = GET, resource: Any = "arn:aws:s3:::b/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = GET, resource: Any = "arn:aws:s3:::b/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@dataclass
class Case:
    name: str
    requester: Requester
    expected: Verdict
    identity: list[dict[str, Any]] = field(default_factory=list)
    bucket: list[dict[str, Any]] | None = None
    acl: GrantLevel = GrantLevel.NONE
    action: str = GET
    resource: str = OBJ
    owner: str | None = A
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    decided_by: tuple[str, ...] | None = None  # the Match sources, when it matters
    version: str = "2012-10-17"


def run(case: Case) -> Decision:
    identity = [
        NamedPolicy(
            f"policy{i}",
            parse_policy(
                json.dumps({"Version": case.version, "Statement": [s]}), PolicyKind.IDENTITY
            ),
        )
        for i, s in enumerate(case.identity)
    ]
    bucket = None
    if case.bucket is not None:
        text = json.dumps({"Version": case.version, "Statement": case.bucket})
        bucket = parse_policy(text, PolicyKind.BUCKET, bucket="b")
    context = PolicyContext(case.requester, case.action, case.resource, case.owner, case.keys)
    return evaluate(context, Policies(tuple(identity), bucket, case.acl))


PUBLIC = {"Principal": "*"}
TLS_ON = {"aws:SecureTransport": ("true",)}
TLS_OFF = {"aws:SecureTransport": ("false",)}

CASES = [
    # -- the account itself, IAM users in their own account, anonymous
    Case(
        "owner account may do anything", OWNER, ALLOW, action="s3:PutBucketVersioning", resource=BKT
    ),
    Case(
        "service action without owner: account",
        OWNER,
        ALLOW,
        action="s3:ListAllMyBuckets",
        resource="*",
        owner=None,
    ),
    Case(
        "service action: user needs a policy",
        ALICE,
        IMPLICIT,
        action="s3:ListAllMyBuckets",
        resource="*",
        owner=None,
    ),
    Case(
        "service action: user with policy",
        ALICE,
        ALLOW,
        [allow("s3:ListAllMyBuckets", "*")],
        action="s3:ListAllMyBuckets",
        resource="*",
        owner=None,
    ),
    Case("user without policies is denied", ALICE, IMPLICIT),
    Case("user allowed by identity policy", ALICE, ALLOW, [allow()], decided_by=("policy0",)),
    Case("user: action wildcard s3:Get*", ALICE, ALLOW, [allow("s3:Get*")]),
    Case("user: action match is case-insensitive", ALICE, ALLOW, [allow("S3:getobject")]),
    Case("user: other action not allowed", ALICE, IMPLICIT, [allow(GET)], action=PUT),
    Case("user: resource must match", ALICE, IMPLICIT, [allow(GET, "arn:aws:s3:::other/*")]),
    Case(
        "user: resource match is case-sensitive",
        ALICE,
        IMPLICIT,
        [allow(GET, "arn:aws:s3:::b/DOC.txt")],
    ),
    Case("user: bucket ARN is not the object ARN", ALICE, IMPLICIT, [allow(GET, BKT)]),
    Case("user: action list", ALICE, ALLOW, [allow([PUT, GET])]),
    Case("anonymous without grant", ANON, IMPLICIT),
    Case("anonymous ignores identity policies", ANON, IMPLICIT, [allow("*", "*")]),
    Case(
        "anonymous allowed by public bucket policy",
        ANON,
        ALLOW,
        bucket=[allow(**PUBLIC)],
        decided_by=("bucket-policy",),
    ),
    Case("anonymous allowed by {AWS: *}", ANON, ALLOW, bucket=[allow(Principal={"AWS": "*"})]),
    Case(
        "anonymous allowed by public-read ACL",
        ANON,
        ALLOW,
        acl=GrantLevel.PRINCIPAL,
        decided_by=("acl",),
    ),
    Case(
        "anonymous: account grant does not reach",
        ANON,
        IMPLICIT,
        bucket=[allow(Principal={"AWS": A})],
    ),
    # -- explicit deny wins
    Case(
        "deny in identity beats identity allow",
        ALICE,
        EXPLICIT,
        [allow(), deny()],
        decided_by=("policy1",),
    ),
    Case(
        "deny in identity beats public bucket policy",
        ALICE,
        EXPLICIT,
        [deny()],
        bucket=[allow(**PUBLIC)],
    ),
    Case(
        "deny in bucket policy beats identity allow",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[deny(**PUBLIC)],
        decided_by=("bucket-policy",),
    ),
    Case("deny in bucket policy binds the owner account", OWNER, EXPLICIT, bucket=[deny(**PUBLIC)]),
    Case(
        "deny in bucket policy beats ACL",
        ANON,
        EXPLICIT,
        bucket=[deny(**PUBLIC)],
        acl=GrantLevel.PRINCIPAL,
    ),
    Case(
        "deny naming another principal does not apply",
        ALICE,
        ALLOW,
        [allow()],
        bucket=[deny(Principal={"AWS": BOB_ARN})],
    ),
    Case(
        "deny naming the account binds its users",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[deny(Principal={"AWS": A})],
    ),
    Case(
        "deny naming the canonical user",
        OWNER,
        EXPLICIT,
        bucket=[deny(Principal={"CanonicalUser": "canon-a"})],
    ),
    Case(
        "deny for other action does not apply",
        ALICE,
        ALLOW,
        [allow()],
        bucket=[deny(PUT, **PUBLIC)],
    ),
    Case("administrator is bound by explicit deny", ADMIN, EXPLICIT, bucket=[deny(**PUBLIC)]),
    Case("administrator acts as owner everywhere", ADMIN, ALLOW),
    # -- the owner can always manage the bucket policy
    Case(
        "owner may get the policy under deny-all",
        OWNER,
        ALLOW,
        bucket=[deny("s3:*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], **PUBLIC)],
        action="s3:GetBucketPolicy",
        resource=BKT,
    ),
    Case(
        "owner may put the policy under deny-all",
        OWNER,
        ALLOW,
        bucket=[deny("s3:*", BKT, **PUBLIC)],
        action="s3:PutBucketPolicy",
        resource=BKT,
    ),
    Case(
        "owner may delete the policy under deny-all",
        OWNER,
        ALLOW,
        bucket=[deny("s3:*", BKT, **PUBLIC)],
        action="s3:DeleteBucketPolicy",
        resource=BKT,
    ),
    Case(
        "owner's IAM user has no such escape",
        ALICE,
        EXPLICIT,
        [allow("s3:*", "*")],
        bucket=[deny("s3:*", BKT, **PUBLIC)],
        action="s3:PutBucketPolicy",
        resource=BKT,
    ),
    Case(
        "other account has no such escape",
        OTHER,
        IMPLICIT,
        action="s3:PutBucketPolicy",
        resource=BKT,
    ),
    # -- NotAction / NotResource / NotPrincipal
    Case(
        "NotAction allows every other action",
        ALICE,
        ALLOW,
        [{"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}],
    ),
    Case(
        "NotAction excludes the listed action",
        ALICE,
        IMPLICIT,
        [{"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "*"}],
    ),
    Case(
        "deny with NotAction blocks the rest",
        ALICE,
        EXPLICIT,
        [allow("s3:*", "*"), {"Effect": "Deny", "NotAction": "s3:List*", "Resource": "*"}],
    ),
    Case(
        "NotResource allows other resources",
        ALICE,
        ALLOW,
        [{"Effect": "Allow", "Action": GET, "NotResource": "arn:aws:s3:::b/secret/*"}],
    ),
    Case(
        "NotResource excludes the listed ones",
        ALICE,
        IMPLICIT,
        [{"Effect": "Allow", "Action": GET, "NotResource": "arn:aws:s3:::b/*"}],
    ),
    Case(
        "deny NotResource outside home",
        ALICE,
        EXPLICIT,
        [
            allow("s3:*", "*"),
            {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/home/*"},
        ],
    ),
    Case(
        "NotPrincipal deny spares the listed account",
        OWNER,
        ALLOW,
        bucket=[deny(NotPrincipal={"AWS": A})],
    ),
    Case(
        "NotPrincipal deny: user needs user and account listed",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[deny(NotPrincipal={"AWS": ALICE_ARN})],
    ),
    Case(
        "NotPrincipal deny spares user and account",
        ALICE,
        ALLOW,
        [allow()],
        bucket=[deny(NotPrincipal={"AWS": [ALICE_ARN, A]})],
    ),
    Case(
        "NotPrincipal deny hits everyone else",
        OTHER,
        EXPLICIT,
        bucket=[deny(NotPrincipal={"AWS": A}), allow(**PUBLIC)],
    ),
    Case(
        "NotPrincipal deny hits anonymous",
        ANON,
        EXPLICIT,
        bucket=[deny(NotPrincipal={"AWS": A}), allow(**PUBLIC)],
    ),
    Case(
        "NotPrincipal allow grants everyone else",
        ANON,
        ALLOW,
        bucket=[allow(NotPrincipal={"AWS": B})],
    ),
    # -- policy variables
    Case(
        "home prefix: own home",
        ALICE,
        ALLOW,
        [allow(GET, "arn:aws:s3:::b/home/${aws:username}/*")],
        resource="arn:aws:s3:::b/home/alice/x",
    ),
    Case(
        "home prefix: someone else's home",
        ALICE,
        IMPLICIT,
        [allow(GET, "arn:aws:s3:::b/home/${aws:username}/*")],
        resource="arn:aws:s3:::b/home/bob/x",
    ),
    Case(
        "variable without value matches nothing",
        OTHER,
        IMPLICIT,
        bucket=[allow(Resource="arn:aws:s3:::b/${aws:username}/*", **PUBLIC)],
        resource="arn:aws:s3:::b//x",
    ),
    Case(
        "variable default value",
        ANON,
        ALLOW,
        bucket=[allow(Resource="arn:aws:s3:::b/${aws:username, 'guest'}/*", **PUBLIC)],
        resource="arn:aws:s3:::b/guest/x",
    ),
    Case(
        "2008 policies keep ${} literal",
        ALICE,
        IMPLICIT,
        [allow(GET, "arn:aws:s3:::b/home/${aws:username}/*")],
        resource="arn:aws:s3:::b/home/alice/x",
        version="2008-10-17",
    ),
    Case(
        "variable in condition: s3:prefix is own home",
        ALICE,
        ALLOW,
        [allow(LIST, BKT, Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}})],
        action=LIST,
        resource=BKT,
        keys={"s3:prefix": ("home/alice/docs",)},
    ),
    Case(
        "variable in condition: other prefix",
        ALICE,
        IMPLICIT,
        [allow(LIST, BKT, Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}})],
        action=LIST,
        resource=BKT,
        keys={"s3:prefix": ("home/bob/",)},
    ),
    Case(
        "variable in condition: value is literal",
        Requester.user(A, "canon-a", "a*", "AIDASTAR"),
        IMPLICIT,
        [allow(LIST, BKT, Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}})],
        action=LIST,
        resource=BKT,
        keys={"s3:prefix": ("home/anything/",)},
    ),
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
        "existing object tag key is case-sensitive",
        ALICE,
        IMPLICIT,
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
    # -- same account: bucket policy and ACL
    Case(
        "same account: bucket policy naming the user",
        ALICE,
        ALLOW,
        bucket=[allow(Principal={"AWS": ALICE_ARN})],
        decided_by=("bucket-policy",),
    ),
    Case(
        "same account: bucket policy naming the account is a delegation",
        ALICE,
        IMPLICIT,
        bucket=[allow(Principal={"AWS": A})],
    ),
    Case(
        "same account: ACL to the account is a delegation", ALICE, IMPLICIT, acl=GrantLevel.ACCOUNT
    ),
    Case("same account: public ACL reaches users", ALICE, ALLOW, acl=GrantLevel.PRINCIPAL),
    # -- cross-account
    Case(
        "cross-account: account granted by bucket policy",
        OTHER,
        ALLOW,
        bucket=[allow(Principal={"AWS": B})],
        decided_by=("account", "bucket-policy"),
    ),
    Case(
        "cross-account: account granted by root ARN",
        OTHER,
        ALLOW,
        bucket=[allow(Principal={"AWS": "arn:aws:iam::222222222222:root"})],
    ),
    Case(
        "cross-account: account granted by canonical id",
        OTHER,
        ALLOW,
        bucket=[allow(Principal={"CanonicalUser": "canon-b"})],
    ),
    Case(
        "cross-account: account granted by ACL",
        OTHER,
        ALLOW,
        acl=GrantLevel.PRINCIPAL,
        decided_by=("account", "acl"),
    ),
    Case("cross-account: account with nothing", OTHER, IMPLICIT),
    Case(
        "cross-account: user needs identity allow",
        BOB,
        IMPLICIT,
        bucket=[allow(Principal={"AWS": B})],
    ),
    Case("cross-account: user needs resource allow", BOB, IMPLICIT, [allow()]),
    Case(
        "cross-account: user with both (account grant)",
        BOB,
        ALLOW,
        [allow()],
        bucket=[allow(Principal={"AWS": B})],
        decided_by=("policy0", "bucket-policy"),
    ),
    Case(
        "cross-account: user with both (user grant)",
        BOB,
        ALLOW,
        [allow()],
        bucket=[allow(Principal={"AWS": BOB_ARN})],
    ),
    Case(
        "cross-account: user named but no identity allow",
        BOB,
        IMPLICIT,
        bucket=[allow(Principal={"AWS": BOB_ARN})],
    ),
    Case(
        "cross-account: user with identity allow and ACL to its account",
        BOB,
        ALLOW,
        [allow()],
        acl=GrantLevel.ACCOUNT,
    ),
    Case(
        "cross-account: user with identity allow and public policy",
        BOB,
        ALLOW,
        [allow()],
        bucket=[allow(**PUBLIC)],
    ),
    Case(
        "cross-account: user, public policy, no identity allow",
        BOB,
        IMPLICIT,
        bucket=[allow(**PUBLIC)],
    ),
    Case(
        "cross-account: grant to another account",
        OTHER,
        IMPLICIT,
        bucket=[allow(Principal={"AWS": "333333333333"})],
    ),
    Case(
        "cross-account: service principals never match",
        OTHER,
        IMPLICIT,
        bucket=[allow(Principal={"Service": "logging.s3.amazonaws.com"})],
    ),
    Case(
        "cross-account: identity deny still wins", BOB, EXPLICIT, [deny()], bucket=[allow(**PUBLIC)]
    ),
    Case(
        "owner's user on another account's bucket", ALICE, IMPLICIT, [allow("s3:*", "*")], owner=B
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_evaluate(case: Case) -> None:
    decision = run(case)
    assert decision.verdict is case.expected, decision.reason
    if case.decided_by is not None:
        assert tuple(m.source for m in decision.matches) == case.decided_by


def test_decision_names_the_deciding_statement() -> None:
    case = Case(
        "sid",
        ALICE,
        EXPLICIT,
        [allow(), {**deny(), "Sid": "NoGet"}],
    )
    decision = run(case)
    assert decision.matches == (Match("policy1", "NoGet", 0),)
    assert not decision.allowed
    assert "policy1" in decision.reason


def test_bucket_policy_statement_index_without_sid() -> None:
    case = Case("index", ANON, ALLOW, bucket=[deny(PUT, **PUBLIC), allow(**PUBLIC)])
    assert run(case).matches == (Match("bucket-policy", None, 1),)
