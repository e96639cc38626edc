"""The route table: one row per S3 operation, and the pure resolve().

A request is (method, host, raw path, query keys, header names). resolve() finds the
bucket and key (path-style `/bucket/key`, or virtual-host style `bucket.<domain>/key`),
the target kind (service, bucket, object), then the most specific row whose method and
target match and whose required query keys and header are all present. Specificity, not
row order, decides; tests/unit/test_routing.py checks that no two rows tie.

A row says everything dispatch and authorization need: the IAM action, whether the
bucket must exist (dispatch looks it up and answers NoSuchBucket), and whether the action
is a service-level one (no bucket owner to match). The handler of each operation is in
gateway.handlers.HANDLERS, a typed map keyed by the row's operation name, so this module
imports no handler and stays testable by table.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

from gateway.errors import S3Error, S3ErrorCode
from gateway.values import quick_init

MAX_KEY_BYTES = 1024


class Target(Enum):
    SERVICE = "service"
    BUCKET = "bucket"
    OBJECT = "object"


@dataclass(frozen=True)
class Route:
    operation: str  # the AWS API name, e.g. "PutObject"
    method: str
    target: Target
    action: str  # IAM action, e.g. "s3:PutObject"
    query: tuple[str, ...] = ()  # query keys that must be present ("k" or "k=v")
    header: str | None = None  # a header that must be present (lower-case)
    # Dispatch looks the addressed bucket up, NoSuchBucket when absent; False for an
    # operation on a bucket that may not exist yet (CreateBucket).
    bucket_must_exist: bool = True
    # Authorized without a bucket owner to match (ListBuckets, CreateBucket).
    service_level: bool = False

    @property
    def looks_up_bucket(self) -> bool:
        return self.target is not Target.SERVICE and self.bucket_must_exist

    @property
    def specificity(self) -> int:
        return len(self.query) + (1 if self.header else 0)


_S, _B, _O = Target.SERVICE, Target.BUCKET, Target.OBJECT
_COPY = "x-amz-copy-source"

ROUTES: tuple[Route, ...] = (
    Route("ListBuckets", "GET", _S, "s3:ListAllMyBuckets", service_level=True),
    # -- buckets
    Route(
        "CreateBucket",
        "PUT",
        _B,
        "s3:CreateBucket",
        bucket_must_exist=False,
        service_level=True,
    ),
    Route("HeadBucket", "HEAD", _B, "s3:ListBucket"),
    Route("DeleteBucket", "DELETE", _B, "s3:DeleteBucket"),
    Route(
        "GetBucketLocation",
        "GET",
        _B,
        "s3:GetBucketLocation",
        ("location",),
    ),
    Route("ListObjects", "GET", _B, "s3:ListBucket"),
    Route(
        "ListObjectsV2",
        "GET",
        _B,
        "s3:ListBucket",
        ("list-type=2",),
    ),
    Route("DeleteObjects", "POST", _B, "s3:DeleteObject", ("delete",)),
    Route(
        "ListMultipartUploads",
        "GET",
        _B,
        "s3:ListBucketMultipartUploads",
        ("uploads",),
    ),
    # -- retention: versioning, tagging, object lock, lifecycle (issue 7)
    Route(
        "ListObjectVersions",
        "GET",
        _B,
        "s3:ListBucketVersions",
        ("versions",),
    ),
    Route(
        "GetBucketVersioning",
        "GET",
        _B,
        "s3:GetBucketVersioning",
        ("versioning",),
    ),
    Route(
        "PutBucketVersioning",
        "PUT",
        _B,
        "s3:PutBucketVersioning",
        ("versioning",),
    ),
    Route(
        "GetBucketTagging",
        "GET",
        _B,
        "s3:GetBucketTagging",
        ("tagging",),
    ),
    Route(
        "PutBucketTagging",
        "PUT",
        _B,
        "s3:PutBucketTagging",
        ("tagging",),
    ),
    Route(
        "DeleteBucketTagging",
        "DELETE",
        _B,
        "s3:PutBucketTagging",
        ("tagging",),
    ),
    Route(
        "GetBucketLifecycleConfiguration",
        "GET",
        _B,
        "s3:GetLifecycleConfiguration",
        ("lifecycle",),
    ),
    Route(
        "PutBucketLifecycleConfiguration",
        "PUT",
        _B,
        "s3:PutLifecycleConfiguration",
        ("lifecycle",),
    ),
    Route(
        "DeleteBucketLifecycle",
        "DELETE",
        _B,
        "s3:PutLifecycleConfiguration",
        ("lifecycle",),
    ),
    Route(
        "GetObjectLockConfiguration",
        "GET",
        _B,
        "s3:GetBucketObjectLockConfiguration",
        ("object-lock",),
    ),
    Route(
        "PutObjectLockConfiguration",
        "PUT",
        _B,
        "s3:PutBucketObjectLockConfiguration",
        ("object-lock",),
    ),
    Route("GetBucketAcl", "GET", _B, "s3:GetBucketAcl", ("acl",)),
    Route("PutBucketAcl", "PUT", _B, "s3:PutBucketAcl", ("acl",)),
    # -- from the browser (issue 12): form uploads and CORS
    # POST Object: the form carries the credentials; its handler authorizes the upload.
    Route("PostObject", "POST", _B, "s3:PutObject"),
    Route(
        "GetBucketNotificationConfiguration",
        "GET",
        _B,
        "s3:GetBucketNotification",
        ("notification",),
    ),
    Route(
        "PutBucketNotificationConfiguration",
        "PUT",
        _B,
        "s3:PutBucketNotification",
        ("notification",),
    ),
    # -- replication (issue 21)
    Route(
        "GetBucketReplication",
        "GET",
        _B,
        "s3:GetReplicationConfiguration",
        ("replication",),
    ),
    Route(
        "PutBucketReplication",
        "PUT",
        _B,
        "s3:PutReplicationConfiguration",
        ("replication",),
    ),
    Route(
        "DeleteBucketReplication",
        "DELETE",
        _B,
        "s3:PutReplicationConfiguration",
        ("replication",),
    ),
    Route("GetBucketCors", "GET", _B, "s3:GetBucketCORS", ("cors",)),
    Route("PutBucketCors", "PUT", _B, "s3:PutBucketCORS", ("cors",)),
    Route("DeleteBucketCors", "DELETE", _B, "s3:PutBucketCORS", ("cors",)),
    Route("GetBucketWebsite", "GET", _B, "s3:GetBucketWebsite", ("website",)),
    Route("PutBucketWebsite", "PUT", _B, "s3:PutBucketWebsite", ("website",)),
    Route("DeleteBucketWebsite", "DELETE", _B, "s3:DeleteBucketWebsite", ("website",)),
    # -- access control configuration (issue 11)
    Route("GetBucketPolicy", "GET", _B, "s3:GetBucketPolicy", ("policy",)),
    Route("PutBucketPolicy", "PUT", _B, "s3:PutBucketPolicy", ("policy",)),
    Route("DeleteBucketPolicy", "DELETE", _B, "s3:DeleteBucketPolicy", ("policy",)),
    Route(
        "GetBucketPolicyStatus",
        "GET",
        _B,
        "s3:GetBucketPolicyStatus",
        ("policyStatus",),
    ),
    Route(
        "GetPublicAccessBlock",
        "GET",
        _B,
        "s3:GetBucketPublicAccessBlock",
        ("publicAccessBlock",),
    ),
    Route(
        "PutPublicAccessBlock",
        "PUT",
        _B,
        "s3:PutBucketPublicAccessBlock",
        ("publicAccessBlock",),
    ),
    Route(
        "DeletePublicAccessBlock",
        "DELETE",
        _B,
        "s3:PutBucketPublicAccessBlock",
        ("publicAccessBlock",),
    ),
    Route(
        "GetBucketOwnershipControls",
        "GET",
        _B,
        "s3:GetBucketOwnershipControls",
        ("ownershipControls",),
    ),
    Route(
        "PutBucketOwnershipControls",
        "PUT",
        _B,
        "s3:PutBucketOwnershipControls",
        ("ownershipControls",),
    ),
    Route(
        "DeleteBucketOwnershipControls",
        "DELETE",
        _B,
        "s3:PutBucketOwnershipControls",
        ("ownershipControls",),
    ),
    Route("GetBucketEncryption", "GET", _B, "s3:GetEncryptionConfiguration", ("encryption",)),
    Route("PutBucketEncryption", "PUT", _B, "s3:PutEncryptionConfiguration", ("encryption",)),
    Route("DeleteBucketEncryption", "DELETE", _B, "s3:PutEncryptionConfiguration", ("encryption",)),
    # -- objects
    Route("PutObject", "PUT", _O, "s3:PutObject"),
    Route("CopyObject", "PUT", _O, "s3:PutObject", header=_COPY),
    Route("GetObject", "GET", _O, "s3:GetObject"),
    Route("HeadObject", "HEAD", _O, "s3:GetObject"),
    Route("DeleteObject", "DELETE", _O, "s3:DeleteObject"),
    Route("GetObjectAcl", "GET", _O, "s3:GetObjectAcl", ("acl",)),
    Route("PutObjectAcl", "PUT", _O, "s3:PutObjectAcl", ("acl",)),
    Route(
        "CreateMultipartUpload",
        "POST",
        _O,
        "s3:PutObject",
        ("uploads",),
    ),
    Route(
        "UploadPart",
        "PUT",
        _O,
        "s3:PutObject",
        ("partNumber", "uploadId"),
    ),
    Route(
        "UploadPartCopy",
        "PUT",
        _O,
        "s3:PutObject",
        ("partNumber", "uploadId"),
        header=_COPY,
    ),
    Route(
        "CompleteMultipartUpload",
        "POST",
        _O,
        "s3:PutObject",
        ("uploadId",),
    ),
    Route(
        "AbortMultipartUpload",
        "DELETE",
        _O,
        "s3:AbortMultipartUpload",
        ("uploadId",),
    ),
    Route(
        "ListParts",
        "GET",
        _O,
        "s3:ListMultipartUploadParts",
        ("uploadId",),
    ),
    Route(
        "GetObjectAttributes",
        "GET",
        _O,
        "s3:GetObjectAttributes",
        ("attributes",),
    ),
    Route(
        "GetObjectTagging",
        "GET",
        _O,
        "s3:GetObjectTagging",
        ("tagging",),
    ),
    Route(
        "PutObjectTagging",
        "PUT",
        _O,
        "s3:PutObjectTagging",
        ("tagging",),
    ),
    Route(
        "DeleteObjectTagging",
        "DELETE",
        _O,
        "s3:DeleteObjectTagging",
        ("tagging",),
    ),
    Route(
        "GetObjectRetention",
        "GET",
        _O,
        "s3:GetObjectRetention",
        ("retention",),
    ),
    Route(
        "PutObjectRetention",
        "PUT",
        _O,
        "s3:PutObjectRetention",
        ("retention",),
    ),
    Route(
        "GetObjectLegalHold",
        "GET",
        _O,
        "s3:GetObjectLegalHold",
        ("legal-hold",),
    ),
    Route(
        "PutObjectLegalHold",
        "PUT",
        _O,
        "s3:PutObjectLegalHold",
        ("legal-hold",),
    ),
)

# Query keys that name a sub-resource (an operation of its own) rather than a parameter.
# A request carrying one that no row of its method and target names is NotImplemented,
# never silently served as the plain operation (GET ?policy must not list objects).
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location",
        "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy",
        "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
        "retention", "select", "tagging", "torrent", "uploadId", "uploads", "versioning",
        "versions", "website",
    }
)  # fmt: skip


def _by_method_and_target(routes: tuple[Route, ...]) -> dict[tuple[str, Target], list[Route]]:
    table: dict[tuple[str, Target], list[Route]] = {}
    for route in routes:
        table.setdefault((route.method, route.target), []).append(route)
    return table


# resolve() looks up the rows of a method and target here rather than scanning ROUTES.
_CANDIDATES = _by_method_and_target(ROUTES)
# Per method and target: the query keys its rows ask for, with every sub-resource, and
# its rows that ask for none. A request whose query holds none of those keys (a plain
# GET or PUT, presigned or not: its X-Amz-* keys are no sub-resource) can only match the
# latter, and the full match (7 µs of every request) is skipped.
_ASKED = {
    where: SUBRESOURCES | {q.partition("=")[0] for r in rows for q in r.query}
    for where, rows in _CANDIDATES.items()
}
_PLAIN = {where: [r for r in rows if not r.query] for where, rows in _CANDIDATES.items()}


@quick_init
@dataclass(frozen=True)
class Resolved:
    route: Route
    bucket: str | None
    key: str | None
    # The bucket came from the Host header (virtual-host style); SigV2 signs it there.
    host_style: bool = False


def is_host_style(host: str, domain: str | None) -> bool:
    return bool(domain) and _strip_port(host).lower().endswith("." + (domain or "").lower())


def split_target(host: str, raw_path: str, domain: str | None) -> tuple[str | None, str | None]:
    """(bucket, key) from the Host header and the raw (still percent-encoded) path.

    Virtual-host style applies when `domain` is set and the host is a sub-domain of it.
    A trailing slash on a bucket path (`PUT /bucket/`) addresses the bucket.
    """
    path = raw_path.split("?", 1)[0]
    hostname = _strip_port(host).lower()
    bucket: str | None = None
    if domain and is_host_style(host, domain):
        bucket = hostname[: -len(domain) - 1]
        rest = path[1:] if path.startswith("/") else path
    else:
        trimmed = path[1:] if path.startswith("/") else path
        if not trimmed:
            return None, None
        first, sep, rest = trimmed.partition("/")
        bucket = unquote(first)
        if not sep:
            rest = ""
    key = unquote(rest, errors="strict") if rest else None
    return bucket or None, key


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _query_matches(required: str, query: Mapping[str, str]) -> bool:
    name, eq, value = required.partition("=")
    if name not in query:
        return False
    return not eq or query[name] == value


def _specificity(route: Route) -> int:
    return route.specificity


def resolve(
    method: str,
    host: str,
    raw_path: str,
    query: Mapping[str, str],
    header_names: Collection[str],
    domain: str | None = None,
) -> Resolved:
    """The operation a request names. `header_names` are lower-case.

    Raises S3Error: KeyTooLongError, MethodNotAllowed (no row for method and target),
    NotImplemented (a sub-resource we do not serve).
    """
    try:
        bucket, key = split_target(host, raw_path, domain)
    except UnicodeDecodeError as exc:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "Key is not valid UTF-8") from exc
    if bucket is None and key is not None:
        # `//bucket/key`: an empty bucket name before the key, not a service-level request.
        raise S3Error(S3ErrorCode.INVALID_BUCKET_NAME, BucketName="")
    if key is not None and len(key.encode()) > MAX_KEY_BYTES:
        raise S3Error(S3ErrorCode.KEY_TOO_LONG, Size=str(len(key.encode())), MaxSizeAllowed="1024")
    target = _O if key is not None else _B if bucket is not None else _S
    candidates = _CANDIDATES.get((method, target), [])
    if not candidates:
        raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=method, ResourceType=target.value)
    plain = _ASKED[method, target].isdisjoint(query)
    matching = [
        r
        for r in (_PLAIN[method, target] if plain else candidates)
        if all(_query_matches(q, query) for q in r.query)
        and (r.header is None or r.header in header_names)
    ]
    best = max(matching, key=_specificity, default=None)
    unserved: frozenset[str] = frozenset()
    if not plain:
        named = {q.partition("=")[0] for q in best.query} if best else set()
        unserved = (SUBRESOURCES & set(query)) - named
    if best is None or unserved:
        if unserved or any(r.query for r in candidates):
            raise S3Error(S3ErrorCode.NOT_IMPLEMENTED)
        raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=method, ResourceType=target.value)
    return Resolved(best, bucket, key, is_host_style(host, domain))
