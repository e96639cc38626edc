"""The ACL a request sets, as S3 accepts or refuses it; and the ACL a resource has.

A request sets an ACL by a canned `x-amz-acl`, by `x-amz-grant-*` headers (both at once is
InvalidRequest) or, for PutBucketAcl and PutObjectAcl, by an AccessControlPolicy body (a
body with either header is UnexpectedContent). Then, in this order:

- Object Ownership (auth.policy.ownership): under BucketOwnerEnforced only an ACL giving
  the bucket owner full control passes (AccessControlListNotSupported), and it is stored
  as nothing, since ACLs are off;
- BlockPublicAcls (auth.policy.public): a public ACL is AccessDenied;
- grantees are resolved (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html):
  an e-mail address becomes its account's canonical id (UnresolvableGrantByEmailAddress,
  AmbiguousGrantByEmailAddress), a canonical id must be an account's ("Invalid id").

Owners are account names here (buckets.owner, versions.owner); ACLs hold canonical ids
(auth.credentials.canonical_id), as S3's Owner/ID does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from auth.credentials import canonical_id
from auth.policy.acl import (
    GRANT_HEADERS,
    Acl,
    Grant,
    Grantee,
    GranteeType,
    InvalidAcl,
    acl_from_headers,
    acl_from_json,
    acl_to_json,
    canned_acl,
)
from auth.policy.ownership import (
    ObjectOwnership,
    OwnershipError,
    acls_enabled,
    check_acl_write,
    check_create_bucket,
    object_owner,
)
from auth.policy.public import PublicAccessBlock
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    OWNERSHIP_CONFIG,
    PUBLIC_ACCESS_BLOCK_CONFIG,
    Bucket,
    MetaStore,
)

OWNERSHIP_HEADER = "x-amz-object-ownership"

_OWNERSHIP_ERRORS = {
    OwnershipError.ACL_NOT_SUPPORTED: S3ErrorCode.ACCESS_CONTROL_LIST_NOT_SUPPORTED,
    OwnershipError.INVALID_BUCKET_ACL: S3ErrorCode.INVALID_BUCKET_ACL_WITH_OBJECT_OWNERSHIP,
}


@dataclass(frozen=True)
class BucketAclSettings:
    """What decides whether a bucket and its objects may be given an ACL."""

    ownership: ObjectOwnership = ObjectOwnership.OBJECT_WRITER
    block: PublicAccessBlock = PublicAccessBlock()

    @property
    def acls_enabled(self) -> bool:
        return acls_enabled(self.ownership)


async def bucket_ownership(meta: MetaStore, bucket: str) -> ObjectOwnership:
    ownership = await meta.get_bucket_config(bucket, OWNERSHIP_CONFIG)
    return ObjectOwnership(ownership) if ownership else ObjectOwnership.OBJECT_WRITER


async def bucket_acl_settings(
    meta: MetaStore, bucket: str, ownership: ObjectOwnership | None = None
) -> BucketAclSettings:
    """The bucket's settings (`ownership`, when the caller has read it already)."""
    if ownership is None:
        ownership = await bucket_ownership(meta, bucket)
    block = await meta.get_bucket_config(bucket, PUBLIC_ACCESS_BLOCK_CONFIG)
    return BucketAclSettings(ownership, PublicAccessBlock.from_json(block))


def ownership_header(headers: Mapping[str, str]) -> ObjectOwnership | None:
    """CreateBucket's x-amz-object-ownership; None when absent (our default: ObjectWriter)."""
    raw = headers.get(OWNERSHIP_HEADER)
    if raw is None:
        return None
    try:
        return ObjectOwnership(raw.strip())
    except ValueError:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Invalid x-amz-object-ownership header",
            ArgumentName=OWNERSHIP_HEADER,
            ArgumentValue=raw,
        ) from None


# -- the request's headers -----------------------------------------------------------------------


def has_acl_headers(headers: Mapping[str, str]) -> bool:
    return "x-amz-acl" in headers or any(h in headers for h in GRANT_HEADERS)


def header_acl(headers: Mapping[str, str], owner: str, bucket_owner: str) -> Acl | None:
    """The ACL x-amz-acl or x-amz-grant-* ask for (None: neither), for a resource `owner`
    owns in a bucket `bucket_owner` owns (account names)."""
    canned = headers.get("x-amz-acl")
    if canned is not None and any(h in headers for h in GRANT_HEADERS):
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Specifying both Canned ACLs and Header Grants is not allowed",
        )
    try:
        return acl_from_headers(headers, canonical_id(owner), canonical_id(bucket_owner))
    except InvalidAcl as exc:
        name = "x-amz-acl" if canned is not None else "x-amz-grant-*"
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            str(exc),
            ArgumentName=name,
            ArgumentValue=canned if canned is not None else "",
        ) from exc


# -- grantees ------------------------------------------------------------------------------------


async def account_names(meta: MetaStore) -> dict[str, str]:
    """Every account by canonical id: its name (DisplayName, and the known ids)."""
    return {canonical_id(u.name): u.name for u in await meta.list_users()}


async def resolve_grantees(meta: MetaStore, acl: Acl) -> Acl:
    """`acl` with e-mail grantees replaced by their accounts' canonical ids; S3Error for a
    grantee that is no account."""
    known: dict[str, str] | None = None
    grants: list[Grant] = []
    for grant in acl.grants:
        grantee = grant.grantee
        if grantee.type is GranteeType.EMAIL:
            grantee = Grantee(GranteeType.CANONICAL_USER, await _by_email(meta, grantee.value))
        elif grantee.type is GranteeType.CANONICAL_USER:
            known = known if known is not None else await account_names(meta)
            if grantee.value not in known:
                raise S3Error(
                    S3ErrorCode.INVALID_ARGUMENT,
                    "Invalid id",
                    ArgumentName="CanonicalUser/ID",
                    ArgumentValue=grantee.value,
                )
        grants.append(Grant(Grantee(grantee.type, grantee.value), grant.permission))
    return replace(acl, grants=tuple(grants))


async def _by_email(meta: MetaStore, email: str) -> str:
    accounts = await meta.accounts_by_email(email)
    if not accounts:
        raise S3Error(S3ErrorCode.UNRESOLVABLE_GRANT_BY_EMAIL_ADDRESS, EmailAddress=email)
    if len(accounts) > 1:
        raise S3Error(S3ErrorCode.AMBIGUOUS_GRANT_BY_EMAIL_ADDRESS, EmailAddress=email)
    return canonical_id(accounts[0])


# -- the rules -----------------------------------------------------------------------------------


def check_acl(settings: BucketAclSettings, acl: Acl | None, bucket_owner: str) -> None:
    """Object Ownership, then BlockPublicAcls, for an ACL set in `bucket_owner`'s bucket."""
    refused = check_acl_write(settings.ownership, acl, canonical_id(bucket_owner))
    if refused is not None:
        raise S3Error(_OWNERSHIP_ERRORS[refused])
    if settings.block.refuses_acl(acl):
        raise S3Error(S3ErrorCode.ACCESS_DENIED)


def stored_acl(settings: BucketAclSettings, acl: Acl | None) -> str | None:
    """What to store: nothing for no ACL, or when ACLs are off (BucketOwnerEnforced)."""
    return None if acl is None or not settings.acls_enabled else acl_to_json(acl)


async def checked_acl(
    meta: MetaStore, settings: BucketAclSettings, acl: Acl | None, bucket_owner: str
) -> str | None:
    """A requested ACL resolved, checked and in its stored form."""
    if acl is None:
        return None
    check_acl(settings, acl, bucket_owner)
    return stored_acl(settings, await resolve_grantees(meta, acl))


# -- writes that create a bucket or an object ----------------------------------------------------


@dataclass(frozen=True)
class CreatedBucketAcl:
    """The bucket configs CreateBucket stores besides the bucket (None: none)."""

    acl: str | None
    ownership: ObjectOwnership | None


async def create_bucket_acl(
    meta: MetaStore, headers: Mapping[str, str], owner: str
) -> CreatedBucketAcl:
    ownership = ownership_header(headers)
    acl = header_acl(headers, owner, owner)
    effective = ownership or ObjectOwnership.OBJECT_WRITER
    refused = check_create_bucket(effective, acl)
    if refused is not None:
        raise S3Error(_OWNERSHIP_ERRORS[refused])
    if acl is not None:
        acl = await resolve_grantees(meta, acl)
    return CreatedBucketAcl(stored_acl(BucketAclSettings(effective), acl), ownership)


@dataclass(frozen=True)
class ObjectWriteAcl:
    """Who owns a new object (account name) and its ACL as stored."""

    owner: str
    acl: str | None


async def object_write_acl(
    meta: MetaStore,
    headers: Mapping[str, str],
    bucket: Bucket,
    writer: str,
    known: BucketAclSettings | None = None,
) -> ObjectWriteAcl:
    """PutObject, CopyObject, CreateMultipartUpload: the new object's owner under the
    bucket's Object Ownership, and the ACL its headers ask for (None: private).

    `known`: the bucket's settings as authorization already read them (no store read)."""
    ownership = known.ownership if known else await bucket_ownership(meta, bucket.name)
    owner = object_owner(ownership, bucket.owner, writer, headers.get("x-amz-acl"))
    acl = header_acl(headers, owner, bucket.owner)
    if acl is None:  # most writes: no public access block to read
        return ObjectWriteAcl(owner, None)
    settings = known or await bucket_acl_settings(meta, bucket.name, ownership)
    return ObjectWriteAcl(owner, await checked_acl(meta, settings, acl, bucket.owner))


# -- what a resource's ACL is --------------------------------------------------------------------


def private_acl(owner: str) -> Acl:
    return canned_acl("private", canonical_id(owner))


def effective_acl(settings: BucketAclSettings, stored: str | None, owner: str) -> Acl:
    """A bucket's or object's ACL as Get*Acl shows it: its owner's full control when none
    is stored or ACLs are off (BucketOwnerEnforced: `owner` is then the bucket's)."""
    if stored is None or not settings.acls_enabled:
        return private_acl(owner)
    return acl_from_json(stored)
