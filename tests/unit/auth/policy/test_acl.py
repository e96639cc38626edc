from __future__ import annotations

import pytest

from auth.policy.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    CANNED_ACLS,
    EC2_CANONICAL_ID,
    LOG_DELIVERY,
    Acl,
    Grant,
    Grantee,
    GranteeType,
    InvalidAcl,
    Permission,
    acl_from_headers,
    acl_grant,
    canned_acl,
    grant_level,
    is_public,
    parse_grantees,
    required_permission,
    without_public_grants,
)
from auth.policy.context import GrantLevel, Requester

OWNER, WRITER = "canon-owner", "canon-writer"
USER = Grantee(GranteeType.CANONICAL_USER, OWNER)
ALL = Grantee(GranteeType.GROUP, ALL_USERS)
AUTH = Grantee(GranteeType.GROUP, AUTHENTICATED_USERS)
LOGS = Grantee(GranteeType.GROUP, LOG_DELIVERY)
FULL = Grant(USER, Permission.FULL_CONTROL)
P = Permission


@pytest.mark.parametrize(
    ("name", "grants"),
    [
        ("private", (FULL,)),
        ("public-read", (FULL, Grant(ALL, P.READ))),
        ("public-read-write", (FULL, Grant(ALL, P.READ), Grant(ALL, P.WRITE))),
        ("authenticated-read", (FULL, Grant(AUTH, P.READ))),
        (
            "aws-exec-read",
            (FULL, Grant(Grantee(GranteeType.CANONICAL_USER, EC2_CANONICAL_ID), P.READ)),
        ),
        ("bucket-owner-read", (FULL,)),  # on a bucket: the owner is the bucket owner
        ("bucket-owner-full-control", (FULL,)),
        ("log-delivery-write", (FULL, Grant(LOGS, P.WRITE), Grant(LOGS, P.READ_ACP))),
    ],
)
def test_canned_acl_on_a_bucket(name: str, grants: tuple[Grant, ...]) -> None:
    assert canned_acl(name, OWNER) == Acl(OWNER, grants)


def test_canned_acls_list_all_eight() -> None:
    assert len(CANNED_ACLS) == 8
    for name in CANNED_ACLS:
        canned_acl(name, OWNER)


@pytest.mark.parametrize(
    ("name", "permission"),
    [("bucket-owner-read", P.READ), ("bucket-owner-full-control", P.FULL_CONTROL)],
)
def test_bucket_owner_canned_acls_on_another_accounts_object(
    name: str, permission: Permission
) -> None:
    acl = canned_acl(name, WRITER, bucket_owner=OWNER)
    assert acl == Acl(
        WRITER,
        (
            Grant(Grantee(GranteeType.CANONICAL_USER, WRITER), P.FULL_CONTROL),
            Grant(USER, permission),
        ),
    )


def test_unknown_canned_acl() -> None:
    with pytest.raises(InvalidAcl):
        canned_acl("public", OWNER)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('id="abc"', (Grantee(GranteeType.CANONICAL_USER, "abc"),)),
        ("id=abc", (Grantee(GranteeType.CANONICAL_USER, "abc"),)),
        (
            'emailAddress="a@example.com", uri="http://acs.amazonaws.com/groups/global/AllUsers"',
            (Grantee(GranteeType.EMAIL, "a@example.com"), ALL),
        ),
        (
            'id="a",id="b"',
            (Grantee(GranteeType.CANONICAL_USER, "a"), Grantee(GranteeType.CANONICAL_USER, "b")),
        ),
    ],
)
def test_parse_grantees(value: str, expected: tuple[Grantee, ...]) -> None:
    assert parse_grantees(value) == expected


@pytest.mark.parametrize(
    "value", ["", "name=abc", 'uri="http://example.com/group"', 'id="a" junk', "id="]
)
def test_parse_grantees_rejects(value: str) -> None:
    with pytest.raises(InvalidAcl):
        parse_grantees(value)


def test_acl_from_headers() -> None:
    assert acl_from_headers({}, OWNER) is None
    assert acl_from_headers({"x-amz-acl": "public-read"}, OWNER) == canned_acl("public-read", OWNER)
    headers = {"x-amz-grant-read": f'uri="{ALL_USERS}"', "x-amz-grant-full-control": f"id={OWNER}"}
    assert acl_from_headers(headers, OWNER) == Acl(OWNER, (Grant(ALL, P.READ), FULL))
    with pytest.raises(InvalidAcl):
        acl_from_headers({"x-amz-acl": "private", "x-amz-grant-read": "id=x"}, OWNER)


@pytest.mark.parametrize(
    ("action", "on_object", "permission"),
    [
        ("s3:ListBucket", False, P.READ),
        ("s3:ListBucketVersions", False, P.READ),
        ("s3:ListBucketMultipartUploads", False, P.READ),
        ("s3:PutObject", False, P.WRITE),
        ("s3:DeleteObject", False, P.WRITE),
        ("s3:DeleteObjectVersion", False, None),
        ("s3:GetBucketAcl", False, P.READ_ACP),
        ("s3:PutBucketAcl", False, P.WRITE_ACP),
        ("s3:GetObject", True, P.READ),
        ("s3:GetObjectVersion", True, P.READ),
        ("s3:GetObjectAcl", True, P.READ_ACP),
        ("s3:PutObjectVersionAcl", True, P.WRITE_ACP),
        ("s3:GetObject", False, None),
        ("s3:PutBucketPolicy", False, None),
        ("s3:PutObjectTagging", True, None),
    ],
)
def test_required_permission(action: str, on_object: bool, permission: Permission | None) -> None:
    assert required_permission(action, on_object=on_object) is permission


OWNER_ACCOUNT = Requester.account("111", OWNER)
OWNER_USER = Requester.user("111", OWNER, "alice", "AIDA")
STRANGER = Requester.account("222", "canon-stranger")
ANON = Requester.anonymous()


@pytest.mark.parametrize(
    ("acl_name", "requester", "permission", "level"),
    [
        ("private", OWNER_ACCOUNT, P.READ, GrantLevel.PRINCIPAL),
        ("private", OWNER_ACCOUNT, P.WRITE_ACP, GrantLevel.PRINCIPAL),  # FULL_CONTROL
        ("private", OWNER_USER, P.READ, GrantLevel.ACCOUNT),  # a delegation only
        ("private", STRANGER, P.READ, GrantLevel.NONE),
        ("private", ANON, P.READ, GrantLevel.NONE),
        ("public-read", ANON, P.READ, GrantLevel.PRINCIPAL),
        ("public-read", ANON, P.WRITE, GrantLevel.NONE),
        ("public-read", OWNER_USER, P.READ, GrantLevel.PRINCIPAL),
        ("public-read-write", ANON, P.WRITE, GrantLevel.PRINCIPAL),
        ("authenticated-read", ANON, P.READ, GrantLevel.NONE),
        ("authenticated-read", STRANGER, P.READ, GrantLevel.PRINCIPAL),
        ("log-delivery-write", STRANGER, P.WRITE, GrantLevel.NONE),
        ("public-read", ANON, None, GrantLevel.NONE),
    ],
)
def test_grant_level(
    acl_name: str, requester: Requester, permission: Permission | None, level: GrantLevel
) -> None:
    assert grant_level(canned_acl(acl_name, OWNER), requester, permission) is level


def test_public_acls_and_ignore_public_acls() -> None:
    assert not is_public(canned_acl("private", OWNER))
    assert is_public(canned_acl("public-read", OWNER))
    assert is_public(canned_acl("authenticated-read", OWNER))
    assert not is_public(canned_acl("log-delivery-write", OWNER))
    assert without_public_grants(canned_acl("public-read-write", OWNER)) == canned_acl(
        "private", OWNER
    )


def test_acl_grant_picks_the_bucket_or_the_object_acl() -> None:
    bucket_acl = canned_acl("public-read-write", OWNER)
    object_acl = canned_acl("private", OWNER)
    kwargs = {"bucket_acl": bucket_acl, "object_acl": object_acl}
    assert acl_grant("s3:ListBucket", ANON, **kwargs) is GrantLevel.PRINCIPAL
    assert acl_grant("s3:PutObject", ANON, **kwargs) is GrantLevel.PRINCIPAL
    assert acl_grant("s3:GetObject", ANON, **kwargs) is GrantLevel.NONE  # object ACL
    assert acl_grant("s3:GetObjectAcl", OWNER_ACCOUNT, **kwargs) is GrantLevel.PRINCIPAL
    assert acl_grant("s3:PutBucketPolicy", ANON, **kwargs) is GrantLevel.NONE
    assert acl_grant("s3:GetObject", ANON, bucket_acl=None, object_acl=None) is GrantLevel.NONE


def test_acl_json_round_trip() -> None:
    from auth.policy.acl import acl_from_json, acl_to_json

    acl = canned_acl("public-read-write", "a" * 64)
    assert acl_from_json(acl_to_json(acl)) == acl
