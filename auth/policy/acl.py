"""The ACL model: grants, canned ACLs, x-amz-grant-* headers, and what each action needs.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html: grantees are a
canonical user (an account), an e-mail address (resolved to its account when the ACL is
stored) or a predefined group; permissions READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL;
"Mapping of ACL permissions and access policy permissions" says which actions each one
covers on a bucket and on an object; "Canned ACL" lists the eight canned ACLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from auth.policy.context import GrantLevel, Requester

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
# aws-exec-read grants READ to EC2's canonical user (AWS's published id), as S3 shows it.
EC2_CANONICAL_ID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"


class Permission(Enum):
    READ = "READ"
    WRITE = "WRITE"
    READ_ACP = "READ_ACP"
    WRITE_ACP = "WRITE_ACP"
    FULL_CONTROL = "FULL_CONTROL"


class GranteeType(Enum):
    CANONICAL_USER = "CanonicalUser"
    GROUP = "Group"
    EMAIL = "AmazonCustomerByEmail"


@dataclass(frozen=True)
class Grantee:
    type: GranteeType
    value: str  # canonical id, group URI or e-mail address
    display_name: str | None = None


@dataclass(frozen=True)
class Grant:
    grantee: Grantee
    permission: Permission


@dataclass(frozen=True)
class Acl:
    owner: str  # the owner's canonical id
    grants: tuple[Grant, ...]


class InvalidAcl(ValueError):
    """A canned ACL name or a grant header S3 would refuse (InvalidArgument)."""


CANNED_ACLS = (
    "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
    "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
)  # fmt: skip


def _user(canonical_id: str) -> Grantee:
    return Grantee(GranteeType.CANONICAL_USER, canonical_id)


def _group(uri: str) -> Grantee:
    return Grantee(GranteeType.GROUP, uri)


def canned_acl(name: str, owner: str, bucket_owner: str | None = None) -> Acl:
    """The ACL a canned name stands for. `owner` owns the resource; `bucket_owner` is the
    bucket's owner when the resource is an object (bucket-owner-* grant it access)."""
    full = Grant(_user(owner), Permission.FULL_CONTROL)
    extra: list[Grant] = []
    if name == "public-read":
        extra = [Grant(_group(ALL_USERS), Permission.READ)]
    elif name == "public-read-write":
        extra = [
            Grant(_group(ALL_USERS), Permission.READ),
            Grant(_group(ALL_USERS), Permission.WRITE),
        ]
    elif name == "authenticated-read":
        extra = [Grant(_group(AUTHENTICATED_USERS), Permission.READ)]
    elif name == "aws-exec-read":
        extra = [Grant(_user(EC2_CANONICAL_ID), Permission.READ)]
    elif name in ("bucket-owner-read", "bucket-owner-full-control"):
        # On a bucket (or an object of the bucket's owner) these are just private.
        if bucket_owner is not None and bucket_owner != owner:
            permission = Permission.READ if name == "bucket-owner-read" else Permission.FULL_CONTROL
            extra = [Grant(_user(bucket_owner), permission)]
    elif name == "log-delivery-write":
        extra = [
            Grant(_group(LOG_DELIVERY), Permission.WRITE),
            Grant(_group(LOG_DELIVERY), Permission.READ_ACP),
        ]
    elif name != "private":
        raise InvalidAcl(f"Unknown canned ACL: {name}")
    return Acl(owner, (full, *extra))


GRANT_HEADERS: Mapping[str, Permission] = {
    "x-amz-grant-read": Permission.READ,
    "x-amz-grant-write": Permission.WRITE,
    "x-amz-grant-read-acp": Permission.READ_ACP,
    "x-amz-grant-write-acp": Permission.WRITE_ACP,
    "x-amz-grant-full-control": Permission.FULL_CONTROL,
}
# id="...", emailAddress="...", uri="..." (quotes optional), comma-separated.
_GRANTEE = re.compile(r'\s*(id|emailAddress|uri)\s*=\s*(?:"([^"]*)"|([^,\s]+))\s*(?:,|$)')
_GRANTEE_TYPES = {
    "id": GranteeType.CANONICAL_USER,
    "emailAddress": GranteeType.EMAIL,
    "uri": GranteeType.GROUP,
}
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})


def parse_grantees(value: str) -> tuple[Grantee, ...]:
    """The grantees of one x-amz-grant-* header value."""
    grantees: list[Grantee] = []
    position = 0
    while position < len(value):
        match = _GRANTEE.match(value, position)
        if match is None or match.end() == position:
            raise InvalidAcl(f"Invalid grant header value: {value}")
        kind, quoted, bare = match.group(1), match.group(2), match.group(3)
        grantee = Grantee(_GRANTEE_TYPES[kind], quoted if quoted is not None else bare)
        if grantee.type is GranteeType.GROUP and grantee.value not in GROUPS:
            raise InvalidAcl(f"Invalid group uri: {grantee.value}")
        grantees.append(grantee)
        position = match.end()
    if not grantees:
        raise InvalidAcl("Empty grant header")
    return tuple(grantees)


def acl_from_headers(
    headers: Mapping[str, str], owner: str, bucket_owner: str | None = None
) -> Acl | None:
    """The ACL a request's x-amz-acl or x-amz-grant-* headers set; None if it has neither.

    Both at once is InvalidAcl (S3: "Specifying both Canned ACLs and Header Grants is not
    allowed"). Header grants do not include the owner's FULL_CONTROL: the ACL is exactly
    what they say. E-mail grantees are left for the caller to resolve to an account.
    """
    canned = headers.get("x-amz-acl")
    grant_headers = [h for h in GRANT_HEADERS if h in headers]
    if canned is not None and grant_headers:
        raise InvalidAcl("Specifying both Canned ACLs and Header Grants is not allowed")
    if canned is not None:
        return canned_acl(canned.strip(), owner, bucket_owner)
    if not grant_headers:
        return None
    grants = tuple(
        Grant(grantee, GRANT_HEADERS[h])
        for h in grant_headers
        for grantee in parse_grantees(headers[h])
    )
    return Acl(owner, grants)


# Which ACL permission each action needs (FULL_CONTROL covers all four). Deleting a
# version is the bucket owner's alone (AWS), so no ACL grants s3:DeleteObjectVersion.
BUCKET_PERMISSIONS: Mapping[str, Permission] = {
    "s3:ListBucket": Permission.READ,
    "s3:ListBucketVersions": Permission.READ,
    "s3:ListBucketMultipartUploads": Permission.READ,
    "s3:PutObject": Permission.WRITE,
    "s3:DeleteObject": Permission.WRITE,
    "s3:AbortMultipartUpload": Permission.WRITE,
    "s3:ListMultipartUploadParts": Permission.WRITE,
    "s3:GetBucketAcl": Permission.READ_ACP,
    "s3:PutBucketAcl": Permission.WRITE_ACP,
}
OBJECT_PERMISSIONS: Mapping[str, Permission] = {
    "s3:GetObject": Permission.READ,
    "s3:GetObjectVersion": Permission.READ,
    "s3:GetObjectTorrent": Permission.READ,
    "s3:GetObjectVersionTorrent": Permission.READ,
    "s3:GetObjectAcl": Permission.READ_ACP,
    "s3:GetObjectVersionAcl": Permission.READ_ACP,
    "s3:PutObjectAcl": Permission.WRITE_ACP,
    "s3:PutObjectVersionAcl": Permission.WRITE_ACP,
}


def required_permission(action: str, *, on_object: bool) -> Permission | None:
    """The ACL permission that grants `action`; None when no ACL can grant it.

    Writing and deleting objects is a WRITE on the *bucket's* ACL (`on_object=False`);
    reading an object and its ACL is on the object's ACL.
    """
    table = OBJECT_PERMISSIONS if on_object else BUCKET_PERMISSIONS
    return table.get(action)


def acl_grant(
    action: str, requester: Requester, *, bucket_acl: Acl | None, object_acl: Acl | None
) -> GrantLevel:
    """What the ACLs give `requester` for `action`: the object's ACL for object reads and
    its ACL's own actions, the bucket's ACL for the rest (None: no ACL, or ACLs off)."""
    on_object = action in OBJECT_PERMISSIONS
    acl = object_acl if on_object else bucket_acl
    permission = required_permission(action, on_object=on_object)
    return GrantLevel.NONE if acl is None else grant_level(acl, requester, permission)


def grant_level(acl: Acl, requester: Requester, permission: Permission | None) -> GrantLevel:
    """How far `acl` grants `permission` to `requester` (see GrantLevel).

    Groups reach callers directly; a grant to a canonical id reaches that account's own
    credentials directly and its IAM users only as a delegation (they need their own
    identity Allow too). LogDelivery reaches no caller: our log delivery is internal.
    """
    if permission is None:
        return GrantLevel.NONE
    best = GrantLevel.NONE
    for grant in acl.grants:
        if grant.permission not in (permission, Permission.FULL_CONTROL):
            continue
        best = max(best, _grantee_level(grant.grantee, requester))
    return best


def _grantee_level(grantee: Grantee, requester: Requester) -> GrantLevel:
    if grantee.type is GranteeType.GROUP:
        if grantee.value == ALL_USERS:
            return GrantLevel.PRINCIPAL
        if grantee.value == AUTHENTICATED_USERS and not requester.is_anonymous:
            return GrantLevel.PRINCIPAL
        return GrantLevel.NONE
    if grantee.type is GranteeType.CANONICAL_USER and grantee.value == requester.canonical_id:
        return GrantLevel.ACCOUNT if requester.is_iam else GrantLevel.PRINCIPAL
    return GrantLevel.NONE


def is_public(acl: Acl) -> bool:
    """Whether the ACL grants anything to AllUsers or AuthenticatedUsers (AWS's "public")."""
    return any(
        g.grantee.value in (ALL_USERS, AUTHENTICATED_USERS)
        for g in acl.grants
        if g.grantee.type is GranteeType.GROUP
    )


def without_public_grants(acl: Acl) -> Acl:
    """The ACL as IgnorePublicAcls sees it."""
    kept = tuple(
        g
        for g in acl.grants
        if not (
            g.grantee.type is GranteeType.GROUP
            and g.grantee.value in (ALL_USERS, AUTHENTICATED_USERS)
        )
    )
    return Acl(acl.owner, kept)


def acl_to_json(acl: Acl) -> str:
    """The stored form of an ACL (bucket_configs "acl", versions.acl)."""
    grants = [[g.grantee.type.value, g.grantee.value, g.permission.value] for g in acl.grants]
    return json.dumps({"owner": acl.owner, "grants": grants}, separators=(",", ":"))


def acl_from_json(text: str) -> Acl:
    raw = json.loads(text)
    grants = tuple(
        Grant(Grantee(GranteeType(kind), value), Permission(permission))
        for kind, value, permission in raw["grants"]
    )
    return Acl(raw["owner"], grants)
