"""Object Ownership: who owns a new object, and whether ACLs may be set at all. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
BucketOwnerEnforced (the default for new buckets) disables ACLs: the bucket owner owns
every object and evaluation ignores ACLs; a request that sets an ACL other than one
giving the bucket owner full control is AccessControlListNotSupported.
BucketOwnerPreferred: the bucket owner owns objects written with the
bucket-owner-full-control canned ACL. ObjectWriter: the writing account owns the object.
"""

from __future__ import annotations

from enum import Enum

from auth.policy.acl import Acl, GranteeType, Permission


class ObjectOwnership(Enum):
    BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
    BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
    OBJECT_WRITER = "ObjectWriter"


class OwnershipError(Enum):
    """The S3 error codes these rules produce (the handler raises the S3Error)."""

    ACL_NOT_SUPPORTED = "AccessControlListNotSupported"
    INVALID_BUCKET_ACL = "InvalidBucketAclWithObjectOwnership"


def object_owner(
    ownership: ObjectOwnership, bucket_owner: str, writer: str, canned_acl: str | None
) -> str:
    """The account (canonical id) that owns an object `writer` creates in the bucket."""
    if ownership is ObjectOwnership.BUCKET_OWNER_ENFORCED:
        return bucket_owner
    if (
        ownership is ObjectOwnership.BUCKET_OWNER_PREFERRED
        and canned_acl == "bucket-owner-full-control"
    ):
        return bucket_owner
    return writer


def acls_enabled(ownership: ObjectOwnership) -> bool:
    """Whether ACLs take part in evaluation (the engine gets GrantLevel.NONE otherwise)."""
    return ownership is not ObjectOwnership.BUCKET_OWNER_ENFORCED


def _owner_full_control_only(acl: Acl, bucket_owner: str) -> bool:
    return all(
        g.grantee.type is GranteeType.CANONICAL_USER
        and g.grantee.value == bucket_owner
        and g.permission is Permission.FULL_CONTROL
        for g in acl.grants
    )


def check_acl_write(
    ownership: ObjectOwnership, acl: Acl | None, bucket_owner: str
) -> OwnershipError | None:
    """May a request set `acl` (None: it sets none) on a bucket or object of this bucket?

    Under BucketOwnerEnforced only an ACL granting the bucket owner full control (and
    nothing else) is accepted: `private` on the owner's own objects, and
    `bucket-owner-full-control`, which both reduce to that.
    """
    if acl is None or acls_enabled(ownership):
        return None
    if _owner_full_control_only(acl, bucket_owner):
        return None
    return OwnershipError.ACL_NOT_SUPPORTED


def check_create_bucket(ownership: ObjectOwnership, acl: Acl | None) -> OwnershipError | None:
    """CreateBucket with BucketOwnerEnforced and an ACL other than private is refused."""
    if acl is None or acls_enabled(ownership):
        return None
    if _owner_full_control_only(acl, acl.owner):
        return None
    return OwnershipError.INVALID_BUCKET_ACL
