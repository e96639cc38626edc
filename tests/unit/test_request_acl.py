"""gateway.request_acl's pure rules: the ACL headers of a request, the ownership header,
the checks of Object Ownership and BlockPublicAcls, and what Get*Acl shows."""

from __future__ import annotations

import pytest

from auth.credentials import canonical_id
from auth.policy.acl import (
    ALL_USERS,
    Acl,
    Grant,
    Grantee,
    GranteeType,
    Permission,
    acl_to_json,
    canned_acl,
)
from auth.policy.ownership import ObjectOwnership
from auth.policy.public import PublicAccessBlock
from gateway.errors import S3Error, S3ErrorCode
from gateway.request_acl import (
    BucketAclSettings,
    check_acl,
    effective_acl,
    has_acl_headers,
    header_acl,
    ownership_header,
    stored_acl,
)

ALICE, BOB = canonical_id("alice"), canonical_id("bob")
ENFORCED = BucketAclSettings(ObjectOwnership.BUCKET_OWNER_ENFORCED)
WRITER = BucketAclSettings()
PUBLIC = canned_acl("public-read", ALICE)


def _code(exc: pytest.ExceptionInfo[S3Error]) -> S3ErrorCode:
    return exc.value.code


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"x-amz-acl": "public-read"}, PUBLIC),
        ({"x-amz-acl": " private "}, canned_acl("private", ALICE)),
        # bucket-owner-* name the bucket's owner when the object is someone else's.
        (
            {"x-amz-acl": "bucket-owner-full-control"},
            Acl(
                ALICE,
                (
                    Grant(Grantee(GranteeType.CANONICAL_USER, ALICE), Permission.FULL_CONTROL),
                    Grant(Grantee(GranteeType.CANONICAL_USER, BOB), Permission.FULL_CONTROL),
                ),
            ),
        ),
        (
            {"x-amz-grant-read": f'uri="{ALL_USERS}", emailAddress="b@example.com"'},
            Acl(
                ALICE,
                (
                    Grant(Grantee(GranteeType.GROUP, ALL_USERS), Permission.READ),
                    Grant(Grantee(GranteeType.EMAIL, "b@example.com"), Permission.READ),
                ),
            ),
        ),
    ],
)
def test_header_acl(headers: dict[str, str], expected: Acl | None) -> None:
    assert header_acl(headers, "alice", "bob") == expected
    assert has_acl_headers(headers) is (expected is not None)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"x-amz-acl": "public"}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-acl": "Public-Read"}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-acl": ""}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-grant-read": ""}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-grant-read": "id"}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-grant-write": "uri=http://example.com/g"}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-grant-read": 'id="a",, id="b"'}, S3ErrorCode.INVALID_ARGUMENT),
        ({"x-amz-acl": "private", "x-amz-grant-read": f"id={BOB}"}, S3ErrorCode.INVALID_REQUEST),
    ],
)
def test_header_acl_refused(headers: dict[str, str], code: S3ErrorCode) -> None:
    with pytest.raises(S3Error) as info:
        header_acl(headers, "alice", "alice")
    assert _code(info) is code


def test_ownership_header() -> None:
    assert ownership_header({}) is None
    assert ownership_header({"x-amz-object-ownership": "BucketOwnerPreferred"}) is (
        ObjectOwnership.BUCKET_OWNER_PREFERRED
    )
    with pytest.raises(S3Error) as info:
        ownership_header({"x-amz-object-ownership": "bucketownerenforced"})
    assert _code(info) is S3ErrorCode.INVALID_ARGUMENT


def test_check_acl_ownership() -> None:
    check_acl(WRITER, PUBLIC, "alice")
    check_acl(ENFORCED, None, "alice")
    check_acl(ENFORCED, canned_acl("private", ALICE), "alice")
    # An object writer's private ACL names the writer, not the bucket owner.
    with pytest.raises(S3Error) as info:
        check_acl(ENFORCED, canned_acl("private", BOB), "alice")
    assert _code(info) is S3ErrorCode.ACCESS_CONTROL_LIST_NOT_SUPPORTED
    with pytest.raises(S3Error) as info:
        check_acl(ENFORCED, PUBLIC, "alice")
    assert _code(info) is S3ErrorCode.ACCESS_CONTROL_LIST_NOT_SUPPORTED


def test_check_acl_block_public_acls() -> None:
    blocked = BucketAclSettings(block=PublicAccessBlock(block_public_acls=True))
    check_acl(blocked, canned_acl("private", ALICE), "alice")
    check_acl(BucketAclSettings(block=PublicAccessBlock(ignore_public_acls=True)), PUBLIC, "a")
    with pytest.raises(S3Error) as info:
        check_acl(blocked, PUBLIC, "alice")
    assert _code(info) is S3ErrorCode.ACCESS_DENIED


def test_stored_and_effective_acl() -> None:
    assert stored_acl(WRITER, None) is None
    assert stored_acl(WRITER, PUBLIC) == acl_to_json(PUBLIC)
    assert stored_acl(ENFORCED, canned_acl("private", ALICE)) is None  # ACLs are off
    assert effective_acl(WRITER, None, "alice") == canned_acl("private", ALICE)
    assert effective_acl(WRITER, acl_to_json(PUBLIC), "alice") == PUBLIC
    # Stored before the bucket went BucketOwnerEnforced: no longer in effect.
    assert effective_acl(ENFORCED, acl_to_json(PUBLIC), "bob") == canned_acl("private", BOB)
