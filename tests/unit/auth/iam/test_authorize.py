"""auth/iam/authorize.py: accounts manage their IAM; users need an identity-policy Allow."""

from __future__ import annotations

import json

import pytest

from auth.credentials import account_id
from auth.iam.authorize import Caller, authorize
from auth.iam.errors import IamError, IamErrorCode
from gateway.meta.base import IamIdentity

ACCOUNT_ID = account_id("alice")
USERS = f"arn:aws:iam::{ACCOUNT_ID}:user/"


def identity(*statements: dict[str, object]) -> IamIdentity:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return IamIdentity("alice", "bob", "AIDABOB", "/", (("user/bob/inline/p", document),))


def test_account_keys_manage_everything_in_their_account() -> None:
    authorize(Caller("alice"), "DeleteUser", USERS + "anyone")
    authorize(Caller("root", is_root=True), "CreateUser", "arn:aws:iam::1:user/x")


@pytest.mark.parametrize(
    ("statements", "action", "resource", "allowed"),
    [
        ([], "ListUsers", USERS + "*", False),
        (
            [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
            "CreateUser",
            USERS + "x",
            True,
        ),
        (
            [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            "CreateUser",
            USERS + "x",
            False,
        ),
        (
            [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}],
            "ListUsers",
            USERS + "*",
            True,
        ),
        (
            [
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"},
            ],
            "DeleteUser",
            USERS + "x",
            False,
        ),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iam:CreateAccessKey",
                    "Resource": "arn:aws:iam::*:user/${aws:username}",
                }
            ],
            "CreateAccessKey",
            USERS + "bob",
            True,
        ),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "iam:CreateAccessKey",
                    "Resource": "arn:aws:iam::*:user/${aws:username}",
                }
            ],
            "CreateAccessKey",
            USERS + "eve",
            False,
        ),
    ],
)
def test_iam_users_need_an_allow(
    statements: list[dict[str, object]], action: str, resource: str, allowed: bool
) -> None:
    caller = Caller(
        "alice",
        identity(*statements) if statements else IamIdentity("alice", "bob", "AIDABOB", "/", ()),
    )
    if allowed:
        authorize(caller, action, resource)
        return
    with pytest.raises(IamError) as exc:
        authorize(caller, action, resource)
    assert exc.value.code is IamErrorCode.ACCESS_DENIED
    assert f"User: {USERS}bob is not authorized to perform: iam:{action}" in exc.value.message
