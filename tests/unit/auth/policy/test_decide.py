from __future__ import annotations

import json

from auth.policy.actions import RequiredAction, required_actions
from auth.policy.context import Requester
from auth.policy.decide import decide
from auth.policy.engine import NamedPolicy, Policies, Verdict
from auth.policy.model import PolicyKind, parse_policy

ALICE = Requester.user("111", "c1", "alice", "AIDA")


def identity(*statements: dict[str, object]) -> Policies:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return Policies((NamedPolicy("inline", parse_policy(text, PolicyKind.IDENTITY)),))


def test_every_required_action_must_be_allowed() -> None:
    headers = {"x-amz-copy-source": "/src/k"}
    required = required_actions("CopyObject", "dst", "k", headers=headers)
    policies = identity({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    decision, refused = decide(ALICE, required, {}, lambda _: ("111", policies))
    assert decision.verdict is Verdict.IMPLICIT_DENY
    assert refused == RequiredAction("s3:GetObject", "arn:aws:s3:::src/k")


def test_all_allowed() -> None:
    required = required_actions("CopyObject", "dst", "k", headers={"x-amz-copy-source": "src/k"})
    policies = identity(
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}
    )
    decision, refused = decide(ALICE, required, {}, lambda _: ("111", policies))
    assert decision.allowed
    assert refused is None


def test_an_explicit_deny_later_wins_over_an_earlier_implicit_deny() -> None:
    required = (
        RequiredAction("s3:PutObject", "arn:aws:s3:::b/k"),
        RequiredAction("s3:PutObjectAcl", "arn:aws:s3:::b/k"),
    )
    policies = identity({"Effect": "Deny", "Action": "s3:PutObjectAcl", "Resource": "*"})
    decision, refused = decide(ALICE, required, {}, lambda _: ("111", policies))
    assert decision.verdict is Verdict.EXPLICIT_DENY
    assert refused == required[1]


def test_each_action_gets_its_own_resource_owner() -> None:
    owner = Requester.account("111", "c1")
    required = required_actions(
        "CopyObject", "mine", "k", headers={"x-amz-copy-source": "theirs/k"}
    )

    def policies_for(needed: RequiredAction) -> tuple[str | None, Policies]:
        return ("222" if "theirs" in needed.resource else "111"), Policies()

    decision, refused = decide(owner, required, {}, policies_for)
    assert decision.verdict is Verdict.IMPLICIT_DENY
    assert refused == RequiredAction("s3:GetObject", "arn:aws:s3:::theirs/k")


def test_nothing_required_is_denied() -> None:
    decision, refused = decide(ALICE, (), {}, lambda _: (None, Policies()))
    assert not decision.allowed
    assert refused is None
