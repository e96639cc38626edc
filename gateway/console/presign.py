"""The S3 requests the console may have presigned, and the presigned URL of one.

The table is an allow-list: the console asks for an operation by its AWS name with a
bucket, a key and named parameters, never for an arbitrary method, path or query. Each
built request is resolved by the S3 route table (gateway/routing.py) and must name the
operation asked for, so that no key or parameter can turn it into another one.
Authorization is not decided here: dispatch decides when the browser sends the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


_UPLOAD = ("uploadId",)
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
    "HeadObject": ConsoleOperation("HEAD", "object", params=("versionId",)),
    "GetObject": ConsoleOperation(
        "GET", "object", params=("versionId", "response-content-disposition")
    ),
    "GetObjectTagging": ConsoleOperation(
        "GET", "object", fixed=(("tagging", ""),), params=("versionId",)
    ),
    "DeleteObject": ConsoleOperation("DELETE", "object", params=("versionId",)),
    "PutObject": ConsoleOperation("PUT", "object"),
    "CreateMultipartUpload": ConsoleOperation("POST", "object", fixed=(("uploads", ""),)),
    "UploadPart": ConsoleOperation(
        "PUT", "object", params=("partNumber", "uploadId"), required=("partNumber", "uploadId")
    ),
    "ListParts": ConsoleOperation("GET", "object", params=_UPLOAD, required=_UPLOAD),
    "CompleteMultipartUpload": ConsoleOperation("POST", "object", params=_UPLOAD, required=_UPLOAD),
    "AbortMultipartUpload": ConsoleOperation("DELETE", "object", params=_UPLOAD, required=_UPLOAD),
}


@dataclass(frozen=True)
class ConsoleRequest:
    operation: str
    bucket: str | None
    key: str | None
    params: Mapping[str, str]


def _bad(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_ARGUMENT, message)


def build(req: ConsoleRequest) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, raw path, query) of a console request; InvalidArgument if it is not one
    the console may send."""
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
    resolved = resolve(op.method, "console", path, dict(query), (), None)
    if resolved.route.operation != req.operation or resolved.key != (req.key or None):
        raise _bad(f"That request would not be {req.operation}")
    return op.method, path, query


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
) -> tuple[str, str]:
    """(method, URL relative to the endpoint) of the request, presigned for `access_key`."""
    method, path, query = build(req)
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
        session_token=session_token,
    )
    return method, url
