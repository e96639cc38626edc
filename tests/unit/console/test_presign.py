"""gateway/console/presign.py: every console operation builds the request that the S3 route
table resolves to it, and nothing else can be asked for."""

from __future__ import annotations

import pytest

from gateway.console.presign import OPERATIONS, ConsoleRequest, build
from gateway.errors import S3Error, S3ErrorCode
from gateway.routing import resolve


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_resolves_to_itself(operation: str) -> None:
    op = OPERATIONS[operation]
    bucket = None if op.target == "service" else "bkt"
    key = "dir/a b+c?.txt" if op.target == "object" else None
    params = {name: "7" for name in op.required}
    headers = {op.header: "src/k"} if op.header else {}
    method, path, query, signed = build(ConsoleRequest(operation, bucket, key, params, headers))
    assert signed == headers
    resolved = resolve(method, "h", path, dict(query), tuple(signed))
    assert resolved.route.operation == operation
    assert (resolved.bucket, resolved.key) == (bucket, key)


@pytest.mark.parametrize(
    ("operation", "bucket", "key", "params"),
    [
        ("PutBucketAcl", "b", None, {}),  # not a console operation
        ("DeleteObjects", "b", None, {}),
        ("GetObject", "b", None, {}),  # needs a key
        ("ListBuckets", "b", None, {}),  # takes no bucket
        ("CreateBucket", "b", "k", {}),  # takes no key
        ("CreateBucket", "a/b", None, {}),
        ("GetObject", "b", "k", {"acl": ""}),  # a sub-resource it does not take
        ("UploadPart", "b", "k", {"partNumber": "1"}),  # uploadId missing
        ("ListObjectsV2", "b", None, {"uploads": ""}),
    ],
)
def test_other_requests_are_refused(
    operation: str, bucket: str | None, key: str | None, params: dict[str, str]
) -> None:
    with pytest.raises(S3Error) as info:
        build(ConsoleRequest(operation, bucket, key, params))
    assert info.value.code is S3ErrorCode.INVALID_ARGUMENT


def test_keys_are_encoded_in_the_path() -> None:
    _, path, query, _ = build(ConsoleRequest("GetObject", "b", "a b/ü?x=1&y", {}))
    assert path == "/b/a%20b/%C3%BC%3Fx%3D1%26y" and query == []


@pytest.mark.parametrize(
    ("operation", "headers"),
    [
        ("CopyObject", {}),  # the source is what makes it a copy
        ("PutObject", {"x-amz-copy-source": "b/k"}),  # would be CopyObject
        ("GetObject", {"x-amz-acl": "public-read"}),
        ("CopyObject", {"x-amz-copy-source": "b/k", "x-amz-acl": "public-read"}),
    ],
)
def test_headers_outside_the_table_are_refused(operation: str, headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as info:
        build(ConsoleRequest(operation, "b", "k", {}, headers))
    assert info.value.code is S3ErrorCode.INVALID_ARGUMENT


def test_copy_source_is_signed_as_given() -> None:
    request = ConsoleRequest("CopyObject", "b", "new", {}, {"X-Amz-Copy-Source": "/b/old%20name"})
    assert build(request)[3] == {"x-amz-copy-source": "/b/old%20name"}
