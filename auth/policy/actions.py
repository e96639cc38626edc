"""Which IAM actions an S3 operation needs, on which resource ARN. Pure, one table.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
maps each API to its action(s); action names are from
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html.
The table is keyed by the operation names of gateway/routing.py's ROUTES (and of the
operations not routed yet); tests/unit/auth/policy/test_actions.py checks that every
routed operation has a row. Some requests need more than one action: a versionId picks
the `...Version` action, an ACL header on a write also needs s3:PutObjectAcl, a copy
needs s3:GetObject on its source, and so on (`required_actions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qs, unquote

from gateway.values import quick_init


class ResourceKind(Enum):
    SERVICE = "service"  # Resource "*"
    BUCKET = "bucket"  # arn:aws:s3:::bucket
    OBJECT = "object"  # arn:aws:s3:::bucket/key
    # Each object named in the body is authorized on its own (DeleteObjects answers
    # AccessDenied per key): dispatch defers to the handler, which passes the keys.
    PER_KEY = "per-key"


@dataclass(frozen=True)
class ActionRule:
    action: str
    resource: ResourceKind
    version_action: str | None = None  # the action when the request names a versionId


@quick_init
@dataclass(frozen=True)
class RequiredAction:
    action: str
    resource: str  # an ARN, or "*"


_S, _B, _O, _K = (
    ResourceKind.SERVICE,
    ResourceKind.BUCKET,
    ResourceKind.OBJECT,
    ResourceKind.PER_KEY,
)


def _b(action: str) -> ActionRule:
    return ActionRule(f"s3:{action}", _B)


def _o(action: str, version_action: str | None = None) -> ActionRule:
    return ActionRule(f"s3:{action}", _O, f"s3:{version_action}" if version_action else None)


ACTIONS: Mapping[str, ActionRule] = {
    "ListBuckets": ActionRule("s3:ListAllMyBuckets", _S),
    # CreateBucket's resource is the bucket to be (AWS: arn:aws:s3:::bucket).
    "CreateBucket": _b("CreateBucket"),
    "HeadBucket": _b("ListBucket"),
    "DeleteBucket": _b("DeleteBucket"),
    "GetBucketLocation": _b("GetBucketLocation"),
    "ListObjects": _b("ListBucket"),
    "ListObjectsV2": _b("ListBucket"),
    "ListObjectVersions": _b("ListBucketVersions"),
    "ListMultipartUploads": _b("ListBucketMultipartUploads"),
    "DeleteObjects": ActionRule("s3:DeleteObject", _K, "s3:DeleteObjectVersion"),
    "GetBucketVersioning": _b("GetBucketVersioning"),
    "PutBucketVersioning": _b("PutBucketVersioning"),
    "GetBucketTagging": _b("GetBucketTagging"),
    "PutBucketTagging": _b("PutBucketTagging"),
    "DeleteBucketTagging": _b("PutBucketTagging"),
    "GetBucketLifecycleConfiguration": _b("GetLifecycleConfiguration"),
    "PutBucketLifecycleConfiguration": _b("PutLifecycleConfiguration"),
    "DeleteBucketLifecycle": _b("PutLifecycleConfiguration"),
    "GetObjectLockConfiguration": _b("GetBucketObjectLockConfiguration"),
    "PutObjectLockConfiguration": _b("PutBucketObjectLockConfiguration"),
    "GetBucketAcl": _b("GetBucketAcl"),
    "PutBucketAcl": _b("PutBucketAcl"),
    "GetBucketPolicy": _b("GetBucketPolicy"),
    "PutBucketPolicy": _b("PutBucketPolicy"),
    "DeleteBucketPolicy": _b("DeleteBucketPolicy"),
    "GetBucketPolicyStatus": _b("GetBucketPolicyStatus"),
    "GetBucketOwnershipControls": _b("GetBucketOwnershipControls"),
    "PutBucketOwnershipControls": _b("PutBucketOwnershipControls"),
    "DeleteBucketOwnershipControls": _b("PutBucketOwnershipControls"),
    "GetPublicAccessBlock": _b("GetBucketPublicAccessBlock"),
    "PutPublicAccessBlock": _b("PutBucketPublicAccessBlock"),
    "DeletePublicAccessBlock": _b("PutBucketPublicAccessBlock"),
    "GetBucketCors": _b("GetBucketCORS"),
    "PutBucketCors": _b("PutBucketCORS"),
    "DeleteBucketCors": _b("PutBucketCORS"),
    "GetBucketEncryption": _b("GetEncryptionConfiguration"),
    "PutBucketEncryption": _b("PutEncryptionConfiguration"),
    "DeleteBucketEncryption": _b("PutEncryptionConfiguration"),
    "GetBucketNotificationConfiguration": _b("GetBucketNotification"),
    "PutBucketNotificationConfiguration": _b("PutBucketNotification"),
    "GetBucketWebsite": _b("GetBucketWebsite"),
    "PutBucketWebsite": _b("PutBucketWebsite"),
    "DeleteBucketWebsite": _b("DeleteBucketWebsite"),
    "GetBucketLogging": _b("GetBucketLogging"),
    "PutBucketLogging": _b("PutBucketLogging"),
    "GetBucketRequestPayment": _b("GetBucketRequestPayment"),
    "PutBucketRequestPayment": _b("PutBucketRequestPayment"),
    "GetBucketReplication": _b("GetReplicationConfiguration"),
    "PutBucketReplication": _b("PutReplicationConfiguration"),
    "DeleteBucketReplication": _b("PutReplicationConfiguration"),
    "GetBucketAccelerateConfiguration": _b("GetAccelerateConfiguration"),
    "PutBucketAccelerateConfiguration": _b("PutAccelerateConfiguration"),
    # -- objects
    "PutObject": _o("PutObject"),
    "PostObject": _o("PutObject"),
    "CopyObject": _o("PutObject"),
    "GetObject": _o("GetObject", "GetObjectVersion"),
    "HeadObject": _o("GetObject", "GetObjectVersion"),
    "DeleteObject": _o("DeleteObject", "DeleteObjectVersion"),
    "GetObjectAcl": _o("GetObjectAcl", "GetObjectVersionAcl"),
    "PutObjectAcl": _o("PutObjectAcl", "PutObjectVersionAcl"),
    "GetObjectAttributes": _o("GetObjectAttributes", "GetObjectVersionAttributes"),
    "GetObjectTagging": _o("GetObjectTagging", "GetObjectVersionTagging"),
    "PutObjectTagging": _o("PutObjectTagging", "PutObjectVersionTagging"),
    "DeleteObjectTagging": _o("DeleteObjectTagging", "DeleteObjectVersionTagging"),
    "GetObjectRetention": _o("GetObjectRetention"),
    "PutObjectRetention": _o("PutObjectRetention"),
    "GetObjectLegalHold": _o("GetObjectLegalHold"),
    "PutObjectLegalHold": _o("PutObjectLegalHold"),
    "RestoreObject": _o("RestoreObject"),
    "SelectObjectContent": _o("GetObject"),
    "GetObjectTorrent": _o("GetObjectTorrent", "GetObjectVersionTorrent"),
    "CreateMultipartUpload": _o("PutObject"),
    "UploadPart": _o("PutObject"),
    "UploadPartCopy": _o("PutObject"),
    "CompleteMultipartUpload": _o("PutObject"),
    "AbortMultipartUpload": _o("AbortMultipartUpload"),
    "ListParts": _o("ListMultipartUploadParts"),
}

_WRITES = frozenset({"PutObject", "PostObject", "CopyObject", "CreateMultipartUpload"})
_COPIES = frozenset({"CopyObject", "UploadPartCopy"})
_ACL_HEADERS = (
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)
_BYPASS = "x-amz-bypass-governance-retention"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def copy_source(header: str) -> tuple[str, str, str | None] | None:
    """(bucket, key, versionId) of an x-amz-copy-source header, None if it names no object."""
    path, _, query = header.partition("?")
    bucket, slash, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not slash or not key:
        return None
    versions = parse_qs(query).get("versionId")
    return bucket, key, versions[0] if versions else None


def required_actions(
    operation: str,
    bucket: str | None,
    key: str | None = None,
    *,
    version_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    keys: Sequence[tuple[str, str | None]] = (),
) -> tuple[RequiredAction, ...]:
    """Every (action, resource) the request needs; all must be allowed.

    `headers` are lower-case. For a PER_KEY operation (DeleteObjects) pass the
    (key, versionId) pairs of the body in `keys`. Raises KeyError for an operation
    without a row (a route-table test keeps that from happening).
    """
    rule = ACTIONS[operation]
    headers = headers or {}
    if rule.resource is ResourceKind.SERVICE or bucket is None:
        return (RequiredAction(rule.action, "*"),)
    if rule.resource is ResourceKind.PER_KEY:
        return tuple(
            RequiredAction(_versioned(rule, vid), object_arn(bucket, k)) for k, vid in keys
        )
    if rule.resource is ResourceKind.BUCKET or key is None:
        arn = bucket_arn(bucket)
        needed = [RequiredAction(rule.action, arn)]
        if operation == "CreateBucket":
            needed += [RequiredAction(a, arn) for a in _create_bucket_extras(headers)]
        return tuple(needed)
    arn = object_arn(bucket, key)
    needed = [RequiredAction(_versioned(rule, version_id), arn)]
    if operation in _WRITES:
        needed += [RequiredAction(a, arn) for a in _write_extras(headers)]
    if operation in _COPIES and "x-amz-copy-source" in headers:
        source = copy_source(headers["x-amz-copy-source"])
        if source is not None:
            src_bucket, src_key, src_version = source
            action = "s3:GetObjectVersion" if src_version else "s3:GetObject"
            needed.append(RequiredAction(action, object_arn(src_bucket, src_key)))
    if operation in ("DeleteObject", "PutObjectRetention") and _is_true(headers.get(_BYPASS)):
        needed.append(RequiredAction("s3:BypassGovernanceRetention", arn))
    return tuple(needed)


def _versioned(rule: ActionRule, version_id: str | None) -> str:
    return rule.version_action if version_id and rule.version_action else rule.action


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def _write_extras(headers: Mapping[str, str]) -> list[str]:
    extras = []
    if any(h in headers for h in _ACL_HEADERS):
        extras.append("s3:PutObjectAcl")
    if "x-amz-tagging" in headers:
        extras.append("s3:PutObjectTagging")
    if "x-amz-object-lock-mode" in headers or "x-amz-object-lock-retain-until-date" in headers:
        extras.append("s3:PutObjectRetention")
    if "x-amz-object-lock-legal-hold" in headers:
        extras.append("s3:PutObjectLegalHold")
    return extras


def _create_bucket_extras(headers: Mapping[str, str]) -> list[str]:
    extras = []
    if any(h in headers for h in _ACL_HEADERS):
        extras.append("s3:PutBucketAcl")
    if _is_true(headers.get("x-amz-bucket-object-lock-enabled")):
        extras += ["s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"]
    if "x-amz-object-ownership" in headers:
        extras.append("s3:PutBucketOwnershipControls")
    return extras
