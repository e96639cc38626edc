"""auth/sts/trust.py: who may assume a role (trust policy and the caller's own side)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth.policy.context import Requester
from auth.policy.engine import NamedPolicy
from auth.policy.model import MalformedPolicy, PolicyKind, parse_policy
from auth.sts.trust import may_assume, web_identity_may_assume

HOME, AWAY = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{HOME}:role/reader"
PROVIDER = f"arn:aws:iam::{HOME}:oidc-provider/idp.example.com"


def trust(principal: Any, effect: str = "Allow", **extra: Any) -> Any:
    statement = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole", **extra}
    return parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": [statement]}), PolicyKind.TRUST
    )


def identity(effect: str = "Allow", resource: str = "*") -> list[NamedPolicy]:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": "sts:AssumeRole", "Resource": resource}],
    }
    return [NamedPolicy("user/p", parse_policy(json.dumps(document), PolicyKind.IDENTITY))]


def user(account: str, name: str = "bob") -> Requester:
    return Requester.user(account, "c" * 64, name, "AIDABOB")


def account(account_id: str) -> Requester:
    return Requester.account(account_id, "c" * 64)


@pytest.mark.parametrize(
    ("principal", "requester", "policies", "allowed"),
    [
        # Naming the user itself is enough in the role's own account...
        ({"AWS": f"arn:aws:iam::{HOME}:user/bob"}, user(HOME), [], True),
        ({"AWS": f"arn:aws:iam::{HOME}:user/eve"}, user(HOME), [], False),
        # ...naming its account delegates to the user's identity policies.
        ({"AWS": HOME}, user(HOME), [], False),
        ({"AWS": f"arn:aws:iam::{HOME}:root"}, user(HOME), identity(), True),
        ({"AWS": HOME}, user(HOME), identity(resource=f"arn:aws:iam::{HOME}:role/other"), False),
        # Across accounts both sides must allow, even when the user itself is named.
        ({"AWS": f"arn:aws:iam::{AWAY}:user/bob"}, user(AWAY), [], False),
        ({"AWS": f"arn:aws:iam::{AWAY}:user/bob"}, user(AWAY), identity(), True),
        ({"AWS": AWAY}, user(AWAY), identity(), True),
        ({"AWS": HOME}, user(AWAY), identity(), False),
        # An account's own credentials allow their own side.
        ({"AWS": AWAY}, account(AWAY), [], True),
        ({"AWS": HOME}, account(AWAY), [], False),
        ("*", account(AWAY), [], True),
        # An explicit Deny on the caller's side wins over a trust that names it.
        ({"AWS": f"arn:aws:iam::{HOME}:user/bob"}, user(HOME), identity("Deny"), False),
        # Anonymous callers never get a role through an AWS principal.
        ({"AWS": HOME}, Requester.anonymous(), [], False),
    ],
)
def test_may_assume(principal: Any, requester: Requester, policies: Any, allowed: bool) -> None:
    assert may_assume(requester, trust(principal), ROLE, HOME, identity=policies)[0] is allowed


def test_trust_deny_wins() -> None:
    policy = parse_policy(
        json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
                    {"Effect": "Deny", "Principal": {"AWS": AWAY}, "Action": "sts:*"},
                ]
            }
        ),
        PolicyKind.TRUST,
    )
    assert may_assume(account(AWAY), policy, ROLE, HOME)[0] is False
    assert may_assume(account(HOME), policy, ROLE, HOME)[0] is True


def test_role_session_names_its_role() -> None:
    session = Requester.role_session(HOME, "c" * 64, "builder", "AROAX", "ci")
    assert session.arn == f"arn:aws:sts::{HOME}:assumed-role/builder/ci"
    role_arn = f"arn:aws:iam::{HOME}:role/builder"
    # A trust policy naming the caller's role reaches its sessions (role chaining).
    assert may_assume(session, trust({"AWS": role_arn}), ROLE, HOME)[0] is True
    keys = session.principal_keys()
    assert keys["aws:principaltype"] == ("AssumedRole",)
    assert keys["aws:principalarn"] == (role_arn,)
    assert keys["aws:userid"] == ("AROAX:ci",)


def test_trust_condition_on_external_id() -> None:
    policy = trust({"AWS": AWAY}, Condition={"StringEquals": {"sts:ExternalId": "s3cr3t"}})
    keys = {"sts:externalid": ("s3cr3t",)}
    assert may_assume(account(AWAY), policy, ROLE, HOME, keys=keys)[0] is True
    assert may_assume(account(AWAY), policy, ROLE, HOME)[0] is False


@pytest.mark.parametrize(
    ("claims", "allowed"),
    [
        ({"idp.example.com:sub": ("alice",), "idp.example.com:aud": ("app",)}, True),
        ({"idp.example.com:sub": ("mallory",), "idp.example.com:aud": ("app",)}, False),
        ({"idp.example.com:sub": ("alice",), "idp.example.com:aud": ("other",)}, False),
    ],
)
def test_web_identity_conditions_on_claims(
    claims: dict[str, tuple[str, ...]], allowed: bool
) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {"idp.example.com:sub": "alice", "idp.example.com:aud": "app"}
        },
    }
    policy = parse_policy(json.dumps({"Statement": [statement]}), PolicyKind.TRUST)
    assert web_identity_may_assume(policy, ROLE, HOME, PROVIDER, claims) is allowed
    other = PROVIDER.replace("idp.example.com", "evil.example.com")
    assert web_identity_may_assume(policy, ROLE, HOME, other, claims) is False


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
        {"Effect": "Allow", "Action": "sts:AssumeRole"},
    ],
)
def test_malformed_trust_policies(statement: dict[str, Any]) -> None:
    with pytest.raises(MalformedPolicy):
        parse_policy(json.dumps({"Statement": [statement]}), PolicyKind.TRUST)
