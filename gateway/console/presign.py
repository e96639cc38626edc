"""The S3 requests the console may have presigned, and the presigned URL of one.

The table is an allow-list: the console asks for an operation by its AWS name with a
bucket, a key and named parameters, never for an arbitrary method, path or query. Each
built request is resolved by the S3 route table (gateway/routing.py) and must name the
operation asked for, so that no key or parameter can turn it into another one.
Authorization is not decided here: dispatch decides when the browser sends the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auth.presign import presign_v4
from auth.sigv4 import uri_encode
from gateway.errors import S3Error, S3ErrorCode
from gateway.routing import resolve

# Seconds a console URL lives: long enough for one part of an upload on a slow link;
# a URL outlives sign-out by at most this.
URL_SECONDS = 600


@dataclass(frozen=True)
class ConsoleOperation:
    method: str
    target: str  # "service", "bucket" or "object"
    fixed: tuple[tuple[str, str], ...] = ()  # query parameters always sent
    params: tuple[str, ...] = ()  # query parameters the console may set
    required: tuple[str, ...] = ()  # ... of which these must be set
    headers: tuple[str, ...] = ()  # x-amz-* headers the console may set (signed)
    header: str | None = None  # the header that selects the route (routing.Route.header)


_UPLOAD = ("uploadId",)
_VERSION = ("versionId",)
_COPY = "x-amz-copy-source"


def _bucket_config(name: str, subresource: str) -> dict[str, ConsoleOperation]:
    """Get/Put/Delete<name> of a bucket's `?subresource` document (settings.js)."""
    fixed = ((subresource, ""),)
    return {
        f"Get{name}": ConsoleOperation("GET", "bucket", fixed=fixed),
        f"Put{name}": ConsoleOperation("PUT", "bucket", fixed=fixed),
        f"Delete{name}": ConsoleOperation("DELETE", "bucket", fixed=fixed),
    }


OPERATIONS: Mapping[str, ConsoleOperation] = {
    "ListBuckets": ConsoleOperation("GET", "service"),
    "CreateBucket": ConsoleOperation("PUT", "bucket"),
    "DeleteBucket": ConsoleOperation("DELETE", "bucket"),
    "ListObjectsV2": ConsoleOperation(
        "GET",
        "bucket",
        fixed=(("list-type", "2"),),
        params=("prefix", "delimiter", "continuation-token", "max-keys", "start-after"),
    ),
    "ListObjectVersions": ConsoleOperation(
        "GET",
        "bucket",
        fixed=(("versions", ""),),
        params=("prefix", "delimiter", "key-marker", "version-id-marker", "max-keys"),
    ),
    "HeadObject": ConsoleOperation("HEAD", "object", params=_VERSION),
    "GetObject": ConsoleOperation(
        "GET", "object", params=("versionId", "response-content-disposition")
    ),
    "GetObjectTagging": ConsoleOperation(
        "GET", "object", fixed=(("tagging", ""),), params=_VERSION
    ),
    "DeleteObject": ConsoleOperation("DELETE", "object", params=_VERSION),
    "PutObject": ConsoleOperation("PUT", "object"),
    # rename and move: copy, then delete the source (selection.js)
    "CopyObject": ConsoleOperation(
        "PUT", "object", headers=(_COPY, "x-amz-metadata-directive"), header=_COPY
    ),
    "CreateMultipartUpload": ConsoleOperation("POST", "object", fixed=(("uploads", ""),)),
    "UploadPart": ConsoleOperation(
        "PUT", "object", params=("partNumber", "uploadId"), required=("partNumber", "uploadId")
    ),
    "ListParts": ConsoleOperation("GET", "object", params=_UPLOAD, required=_UPLOAD),
    "CompleteMultipartUpload": ConsoleOperation("POST", "object", params=_UPLOAD, required=_UPLOAD),
    "AbortMultipartUpload": ConsoleOperation("DELETE", "object", params=_UPLOAD, required=_UPLOAD),
    # bucket settings (settings.js); PutBucketVersioning only: versioning is never deleted
    "GetBucketVersioning": ConsoleOperation("GET", "bucket", fixed=(("versioning", ""),)),
    "PutBucketVersioning": ConsoleOperation("PUT", "bucket", fixed=(("versioning", ""),)),
    **_bucket_config("BucketCors", "cors"),
    **_bucket_config("BucketEncryption", "encryption"),
    "GetBucketLifecycleConfiguration": ConsoleOperation(
        "GET", "bucket", fixed=(("lifecycle", ""),)
    ),
    "PutBucketLifecycleConfiguration": ConsoleOperation(
        "PUT", "bucket", fixed=(("lifecycle", ""),)
    ),
    "DeleteBucketLifecycle": ConsoleOperation("DELETE", "bucket", fixed=(("lifecycle", ""),)),
    "GetObjectLockConfiguration": ConsoleOperation("GET", "bucket", fixed=(("object-lock", ""),)),
    "PutObjectLockConfiguration": ConsoleOperation("PUT", "bucket", fixed=(("object-lock", ""),)),
    **_bucket_config("BucketPolicy", "policy"),
    "GetBucketPolicyStatus": ConsoleOperation("GET", "bucket", fixed=(("policyStatus", ""),)),
    # an empty configuration removes it: no Delete operation
    "GetBucketNotificationConfiguration": ConsoleOperation(
        "GET", "bucket", fixed=(("notification", ""),)
    ),
    "PutBucketNotificationConfiguration": ConsoleOperation(
        "PUT", "bucket", fixed=(("notification", ""),)
    ),
}


@dataclass(frozen=True)
class ConsoleRequest:
    operation: str
    bucket: str | None
    key: str | None
    params: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Presigned:
    method: str
    url: str  # relative to the endpoint
    headers: Mapping[str, str]  # the browser sends these exactly


def _bad(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_ARGUMENT, message)


def build(req: ConsoleRequest) -> tuple[str, str, list[tuple[str, str]], dict[str, str]]:
    """(method, raw path, query, signed headers) of a console request; InvalidArgument if
    it is not one the console may send."""
    op = OPERATIONS.get(req.operation)
    if op is None:
        raise _bad(f"The console does not send {req.operation!r}")
    if (op.target != "service") != bool(req.bucket):
        raise _bad(f"{req.operation} needs a bucket" if req.bucket is None else "No bucket here")
    if (op.target == "object") != bool(req.key):
        raise _bad(f"{req.operation} needs a key" if not req.key else "No key here")
    unknown = set(req.params) - set(op.params)
    if unknown:
        raise _bad(f"{req.operation} takes no parameter {sorted(unknown)[0]!r}")
    headers = {name.lower(): value for name, value in req.headers.items()}
    strange = set(headers) - set(op.headers)
    if strange:
        raise _bad(f"{req.operation} takes no header {sorted(strange)[0]!r}")
    if op.header is not None and not headers.get(op.header):
        raise _bad(f"{req.operation} needs the header {op.header!r}")
    missing = [name for name in op.required if not req.params.get(name)]
    if missing:
        raise _bad(f"{req.operation} needs {missing[0]!r}")
    path = "/"
    if req.bucket:
        if "/" in req.bucket or not req.bucket.isprintable():
            raise _bad("Not a bucket name")
        path += uri_encode(req.bucket)
        if req.key:
            path += "/" + uri_encode(req.key, keep_slash=True)
    query = [*op.fixed, *((name, req.params[name]) for name in op.params if name in req.params)]
    resolved = resolve(op.method, "console", path, dict(query), tuple(headers), None)
    if resolved.route.operation != req.operation or resolved.key != (req.key or None):
        raise _bad(f"That request would not be {req.operation}")
    return op.method, path, query, headers


def presigned_url(
    req: ConsoleRequest,
    *,
    host: str,
    access_key: str,
    secret_key: str,
    region: str,
    now: float,
    max_expiry: int,
    session_token: str | None = None,
) -> Presigned:
    """The request presigned for `access_key` (and its session's token, if temporary)."""
    method, path, query, headers = build(req)
    url = presign_v4(
        method=method,
        host=host,
        raw_path=path,
        query=query,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        now=now,
        expires=min(URL_SECONDS, max_expiry),
        headers=headers,
        session_token=session_token,
    )
    return Presigned(method, url, headers)
