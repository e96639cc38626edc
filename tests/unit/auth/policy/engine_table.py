"""The table format shared by the engine tests: (policies, request context) -> decision."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auth.policy.context import GrantLevel, PolicyContext, Requester
from auth.policy.engine import Decision, NamedPolicy, Policies, Verdict, evaluate
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
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    decided_by: tuple[str, ...] | None = None  # the Match sources, when it matters
    version: str = "2012-10-17"
    restrict_public: bool = False


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
    return evaluate(context, Policies(tuple(identity), bucket, case.acl, case.restrict_public))


PUBLIC = {"Principal": "*"}
TLS_ON = {"aws:SecureTransport": ("true",)}
TLS_OFF = {"aws:SecureTransport": ("false",)}


def check(case: Case) -> None:
    decision = run(case)
    assert decision.verdict is case.expected, decision.reason
    if case.decided_by is not None:
        assert tuple(m.source for m in decision.matches) == case.decided_by
