"""The engine's rules as a table: who asks, deny precedence, Not*, variables, accounts."""

from __future__ import annotations

import pytest

from auth.policy.context import GrantLevel, Requester
from auth.policy.engine import Match
from tests.unit.auth.policy.engine_table import (
    ADMIN,
    ALICE,
    ALICE_ARN,
    ALLOW,
    ANON,
    BKT,
    BOB,
    BOB_ARN,
    EXPLICIT,
    GET,
    IMPLICIT,
    LIST,
    OTHER,
    OWNER,
    PUBLIC,
    PUT,
    A,
    B,
    Case,
    allow,
    check,
    deny,
    run,
)

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
    # -- RestrictPublicBuckets: a public policy reaches only the owner's account
    Case(
        "restrict public: anonymous", ANON, IMPLICIT, bucket=[allow(**PUBLIC)], restrict_public=True
    ),
    Case(
        "restrict public: other account",
        OTHER,
        IMPLICIT,
        bucket=[allow(Principal={"AWS": B}), allow(**PUBLIC)],
        restrict_public=True,
    ),
    Case(
        "restrict public: own user still allowed",
        ALICE,
        ALLOW,
        bucket=[allow(**PUBLIC)],
        restrict_public=True,
    ),
    Case(
        "restrict public: non-public policy unaffected",
        OTHER,
        ALLOW,
        bucket=[allow(Principal={"AWS": B})],
        restrict_public=True,
    ),
    Case(
        "restrict public: deny still applies",
        ALICE,
        EXPLICIT,
        [allow()],
        bucket=[deny(**PUBLIC)],
        restrict_public=True,
    ),
    Case(
        "restrict public: ACL unaffected",
        ANON,
        ALLOW,
        bucket=[allow(**PUBLIC)],
        acl=GrantLevel.PRINCIPAL,
        restrict_public=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_evaluate(case: Case) -> None:
    check(case)


def test_decision_names_the_deciding_statement() -> None:
    decision = run(Case("sid", ALICE, EXPLICIT, [allow(), {**deny(), "Sid": "NoGet"}]))
    assert decision.matches == (Match("policy1", "NoGet", 0),)
    assert not decision.allowed
    assert "policy1" in decision.reason


def test_bucket_policy_statement_index_without_sid() -> None:
    case = Case("index", ANON, ALLOW, bucket=[deny(PUT, **PUBLIC), allow(**PUBLIC)])
    assert run(case).matches == (Match("bucket-policy", None, 1),)
