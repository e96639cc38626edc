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
    method, path, query = build(ConsoleRequest(operation, bucket, key, params))
    resolved = resolve(method, "h", path, dict(query), ())
    assert resolved.route.operation == operation
    assert (resolved.bucket, resolved.key) == (bucket, key)


@pytest.mark.parametrize(
    ("operation", "bucket", "key", "params"),
    [
        ("PutBucketPolicy", "b", None, {}),  # not a console operation
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
    _, path, query = build(ConsoleRequest("GetObject", "b", "a b/ü?x=1&y", {}))
    assert path == "/b/a%20b/%C3%BC%3Fx%3D1%26y" and query == []
