from __future__ import annotations

import itertools

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.routing import ROUTES, SUBRESOURCES, Target, resolve, split_target

H = "127.0.0.1:7373"

# (method, host, raw path, query, headers, domain) -> (operation, bucket, key)
CASES = [
    ("GET", H, "/", {}, (), None, ("ListBuckets", None, None)),
    ("PUT", H, "/b1", {}, (), None, ("CreateBucket", "b1", None)),
    ("PUT", H, "/b1/", {}, (), None, ("CreateBucket", "b1", None)),
    ("HEAD", H, "/b1", {}, (), None, ("HeadBucket", "b1", None)),
    ("DELETE", H, "/b1", {}, (), None, ("DeleteBucket", "b1", None)),
    ("GET", H, "/b1", {"location": ""}, (), None, ("GetBucketLocation", "b1", None)),
    ("GET", H, "/b1", {}, (), None, ("ListObjects", "b1", None)),
    ("GET", H, "/b1", {"prefix": "a", "marker": "x"}, (), None, ("ListObjects", "b1", None)),
    ("GET", H, "/b1", {"list-type": "2"}, (), None, ("ListObjectsV2", "b1", None)),
    ("GET", H, "/b1/", {"list-type": "2"}, (), None, ("ListObjectsV2", "b1", None)),
    ("POST", H, "/b1", {"delete": ""}, (), None, ("DeleteObjects", "b1", None)),
    ("POST", H, "/b1", {}, ("content-type",), None, ("PostObject", "b1", None)),
    ("GET", H, "/b1", {"cors": ""}, (), None, ("GetBucketCors", "b1", None)),
    ("PUT", H, "/b1", {"cors": ""}, (), None, ("PutBucketCors", "b1", None)),
    ("DELETE", H, "/b1", {"cors": ""}, (), None, ("DeleteBucketCors", "b1", None)),
    (
        "GET",
        H,
        "/b1",
        {"notification": ""},
        (),
        None,
        ("GetBucketNotificationConfiguration", "b1", None),
    ),
    (
        "PUT",
        H,
        "/b1",
        {"notification": ""},
        (),
        None,
        ("PutBucketNotificationConfiguration", "b1", None),
    ),
    ("GET", H, "/b1", {"replication": ""}, (), None, ("GetBucketReplication", "b1", None)),
    ("PUT", H, "/b1", {"replication": ""}, (), None, ("PutBucketReplication", "b1", None)),
    (
        "DELETE",
        H,
        "/b1",
        {"replication": ""},
        (),
        None,
        ("DeleteBucketReplication", "b1", None),
    ),
    ("GET", H, "/b1", {"uploads": ""}, (), None, ("ListMultipartUploads", "b1", None)),
    ("PUT", H, "/b1/k", {}, (), None, ("PutObject", "b1", "k")),
    ("PUT", H, "/b1/k", {"x-id": "PutObject"}, (), None, ("PutObject", "b1", "k")),
    ("PUT", H, "/b1/k", {}, ("x-amz-copy-source",), None, ("CopyObject", "b1", "k")),
    ("GET", H, "/b1/a/b/c.txt", {}, (), None, ("GetObject", "b1", "a/b/c.txt")),
    ("GET", H, "/b1/k", {"partNumber": "1"}, (), None, ("GetObject", "b1", "k")),
    ("HEAD", H, "/b1/k", {}, (), None, ("HeadObject", "b1", "k")),
    ("DELETE", H, "/b1/k", {}, (), None, ("DeleteObject", "b1", "k")),
    ("POST", H, "/b1/k", {"uploads": ""}, (), None, ("CreateMultipartUpload", "b1", "k")),
    (
        "PUT",
        H,
        "/b1/k",
        {"partNumber": "2", "uploadId": "u"},
        (),
        None,
        ("UploadPart", "b1", "k"),
    ),
    (
        "PUT",
        H,
        "/b1/k",
        {"partNumber": "2", "uploadId": "u"},
        ("x-amz-copy-source",),
        None,
        ("UploadPartCopy", "b1", "k"),
    ),
    ("POST", H, "/b1/k", {"uploadId": "u"}, (), None, ("CompleteMultipartUpload", "b1", "k")),
    ("DELETE", H, "/b1/k", {"uploadId": "u"}, (), None, ("AbortMultipartUpload", "b1", "k")),
    ("GET", H, "/b1/k", {"uploadId": "u"}, (), None, ("ListParts", "b1", "k")),
    ("GET", H, "/b1", {"acl": ""}, (), None, ("GetBucketAcl", "b1", None)),
    ("PUT", H, "/b1", {"acl": ""}, ("x-amz-acl",), None, ("PutBucketAcl", "b1", None)),
    ("GET", H, "/b1/k", {"acl": "", "versionId": "v"}, (), None, ("GetObjectAcl", "b1", "k")),
    ("PUT", H, "/b1/k", {"acl": ""}, (), None, ("PutObjectAcl", "b1", "k")),
    # keys are decoded once and never normalized
    ("GET", H, "/b1/..%2Fx", {}, (), None, ("GetObject", "b1", "../x")),
    ("GET", H, "/b1/../x", {}, (), None, ("GetObject", "b1", "../x")),
    ("GET", H, "/b1/a%20b%25c", {}, (), None, ("GetObject", "b1", "a b%c")),
    ("GET", H, "/b1/foo/", {}, (), None, ("GetObject", "b1", "foo/")),
    ("GET", H, "/b1//double", {}, (), None, ("GetObject", "b1", "/double")),
    ("GET", H, "/b1/%E2%82%AC", {}, (), None, ("GetObject", "b1", "\u20ac")),
    # virtual-host style
    ("GET", "b1.s3.local:7373", "/", {}, (), "s3.local", ("ListObjects", "b1", None)),
    ("GET", "b1.s3.local", "/k/x", {}, (), "s3.local", ("GetObject", "b1", "k/x")),
    ("GET", "s3.local:7373", "/b2/k", {}, (), "s3.local", ("GetObject", "b2", "k")),
    ("PUT", "B1.S3.LOCAL", "/", {}, (), "s3.local", ("CreateBucket", "b1", None)),
]


@pytest.mark.parametrize(("method", "host", "path", "query", "headers", "domain", "want"), CASES)
def test_resolve(
    method: str,
    host: str,
    path: str,
    query: dict[str, str],
    headers: tuple[str, ...],
    domain: str | None,
    want: tuple[str, str | None, str | None],
) -> None:
    got = resolve(method, host, path, query, headers, domain)
    assert (got.route.operation, got.bucket, got.key) == want


@pytest.mark.parametrize(
    ("method", "path", "query", "code"),
    [
        ("POST", "/", {}, S3ErrorCode.METHOD_NOT_ALLOWED),
        ("PATCH", "/b1/k", {}, S3ErrorCode.METHOD_NOT_ALLOWED),
        ("GET", "/b1", {"accelerate": ""}, S3ErrorCode.NOT_IMPLEMENTED),
        ("GET", "/b1/k", {"torrent": ""}, S3ErrorCode.NOT_IMPLEMENTED),
        ("PUT", "/b1", {"logging": ""}, S3ErrorCode.NOT_IMPLEMENTED),
        ("POST", "/b1", {"restore": ""}, S3ErrorCode.NOT_IMPLEMENTED),
        ("DELETE", "/b1", {"notification": ""}, S3ErrorCode.NOT_IMPLEMENTED),
        ("GET", "/b1/" + "k" * 1025, {}, S3ErrorCode.KEY_TOO_LONG),
        ("GET", "/b1/%FF", {}, S3ErrorCode.INVALID_ARGUMENT),
    ],
)
def test_resolve_errors(method: str, path: str, query: dict[str, str], code: S3ErrorCode) -> None:
    with pytest.raises(S3Error) as info:
        resolve(method, H, path, query, ())
    assert info.value.code is code


def test_key_of_exactly_1024_bytes_is_allowed() -> None:
    key = "\u00e9" * 512  # 2 bytes each in UTF-8
    assert resolve("GET", H, "/b1/" + key, {}, ()).key == key


def test_no_two_rows_tie() -> None:
    """Specificity decides: rows with the same method and target must differ in constraints."""
    for a, b in itertools.combinations(ROUTES, 2):
        if (a.method, a.target) == (b.method, b.target):
            assert (set(a.query), a.header) != (set(b.query), b.header), (a, b)


def test_every_operation_once() -> None:
    names = [r.operation for r in ROUTES]
    assert len(names) == len(set(names))


def test_service_target_without_path() -> None:
    assert split_target(H, "", None) == (None, None)
    assert split_target(H, "/", None) == (None, None)
    assert resolve("GET", H, "/", {}, ()).route.target is Target.SERVICE


def _full_match(method: str, target: Target, query: dict[str, str], headers: set[str]) -> str:
    """What resolve answered before its shortcut for queries that name no sub-resource:
    every row of the method and target matched against the query."""
    rows = [r for r in ROUTES if (r.method, r.target) == (method, target)]
    if not rows:
        return "MethodNotAllowed"

    def asks(q: str) -> bool:
        name, eq, value = q.partition("=")
        return name in query and (not eq or query[name] == value)

    matching = [
        r
        for r in rows
        if all(asks(q) for q in r.query) and (r.header is None or r.header in headers)
    ]
    best = max(matching, key=lambda r: r.specificity, default=None)
    named = {q.partition("=")[0] for q in best.query} if best else set()
    if best is None or (SUBRESOURCES & set(query)) - named:
        return (
            "NotImplemented"
            if set(query) & SUBRESOURCES or any(r.query for r in rows)
            else ("MethodNotAllowed")
        )
    return best.operation


_QUERIES: list[dict[str, str]] = [
    {},
    {"X-Amz-Date": "20261205T000000Z", "X-Amz-Signature": "ab"},
    {"versionId": "v"},
    {"partNumber": "1"},
    {"uploadId": "u"},
    {"uploadId": "u", "partNumber": "1"},
    {"list-type": "2"},
    {"unknown": ""},
    {"tagging": ""},
    {"acl": "", "versionId": "v"},
    {"torrent": ""},
    {"website": ""},
]


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE", "HEAD"])
@pytest.mark.parametrize("path", ["/", "/b1", "/b1/k"])
def test_the_shortcut_for_plain_queries_answers_as_the_full_match(method: str, path: str) -> None:
    target = Target.SERVICE if path == "/" else Target.BUCKET if path == "/b1" else Target.OBJECT
    header_sets = [set(), {"x-amz-copy-source"}, {"content-type"}, {"x-amz-copy-source", "range"}]
    for query, headers in itertools.product(_QUERIES, header_sets):
        try:
            got = resolve(method, H, path, query, headers).route.operation
        except S3Error as err:
            got = err.code.code
        assert got == _full_match(method, target, query, headers), (query, headers)
