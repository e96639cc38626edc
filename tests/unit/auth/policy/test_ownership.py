from __future__ import annotations

import pytest

from auth.policy.acl import Acl, acl_from_headers, canned_acl
from auth.policy.ownership import (
    ObjectOwnership,
    OwnershipError,
    acls_enabled,
    check_acl_write,
    check_create_bucket,
    object_owner,
)

ENFORCED = ObjectOwnership.BUCKET_OWNER_ENFORCED
PREFERRED = ObjectOwnership.BUCKET_OWNER_PREFERRED
WRITER = ObjectOwnership.OBJECT_WRITER
BO, W = "bucket-owner", "writer"


@pytest.mark.parametrize(
    ("ownership", "canned", "owner"),
    [
        (ENFORCED, None, BO),
        (ENFORCED, "private", BO),
        (PREFERRED, None, W),
        (PREFERRED, "bucket-owner-full-control", BO),
        (PREFERRED, "private", W),
        (WRITER, "bucket-owner-full-control", W),
        (WRITER, None, W),
    ],
)
def test_object_owner(ownership: ObjectOwnership, canned: str | None, owner: str) -> None:
    assert object_owner(ownership, BO, W, canned) == owner


def test_acls_enabled() -> None:
    assert not acls_enabled(ENFORCED)
    assert acls_enabled(PREFERRED)
    assert acls_enabled(WRITER)


@pytest.mark.parametrize(
    ("ownership", "acl", "error"),
    [
        (ENFORCED, None, None),
        (ENFORCED, canned_acl("bucket-owner-full-control", BO, BO), None),
        (ENFORCED, canned_acl("private", BO), None),
        (ENFORCED, canned_acl("public-read", BO), OwnershipError.ACL_NOT_SUPPORTED),
        (ENFORCED, canned_acl("bucket-owner-read", W, BO), OwnershipError.ACL_NOT_SUPPORTED),
        (
            ENFORCED,
            acl_from_headers({"x-amz-grant-read": "id=someone"}, BO),
            OwnershipError.ACL_NOT_SUPPORTED,
        ),
        (PREFERRED, canned_acl("public-read", BO), None),
        (WRITER, canned_acl("public-read-write", BO), None),
    ],
)
def test_check_acl_write(
    ownership: ObjectOwnership, acl: Acl | None, error: OwnershipError | None
) -> None:
    assert check_acl_write(ownership, acl, BO) is error


@pytest.mark.parametrize(
    ("ownership", "acl", "error"),
    [
        (ENFORCED, None, None),
        (ENFORCED, canned_acl("private", BO), None),
        (ENFORCED, canned_acl("public-read", BO), OwnershipError.INVALID_BUCKET_ACL),
        (ENFORCED, canned_acl("log-delivery-write", BO), OwnershipError.INVALID_BUCKET_ACL),
        (WRITER, canned_acl("public-read", BO), None),
    ],
)
def test_check_create_bucket(
    ownership: ObjectOwnership, acl: Acl | None, error: OwnershipError | None
) -> None:
    assert check_create_bucket(ownership, acl) is error
