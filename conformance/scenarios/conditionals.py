"""Conditionals: If-Match, If-None-Match, If-(Un)Modified-Since on reads (RFC 9110 13),
conditional writes (PutObject If-None-Match: * and If-Match), copy-source conditions."""

from __future__ import annotations

import datetime

from conformance.context import Context, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("conditionals", "aws-s3", "`aws s3` has no conditional options")
unsupported("conditionals", "rclone", "rclone sends no conditional headers")
unsupported("conditionals", "s3cmd", "s3cmd sends no conditional headers")
unsupported("conditionals", "http", "covered through presigned URLs")

PAST = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
FUTURE = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)


def _http_date(when: datetime.datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


@scenario("conditionals", "boto3", quick=True)
def get_object_conditions(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("cond")
    etag = s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"conditional")["ETag"]
    b, k = ctx.bucket, key
    s3.get_object(Bucket=b, Key=k, IfMatch=etag)
    s3.get_object(Bucket=b, Key=k, IfNoneMatch='"0000"')
    s3.get_object(Bucket=b, Key=k, IfModifiedSince=PAST)
    s3.get_object(Bucket=b, Key=k, IfUnmodifiedSince=FUTURE)
    expect_error(lambda: s3.get_object(Bucket=b, Key=k, IfMatch='"0000"'), "PreconditionFailed")
    expect_error(lambda: s3.get_object(Bucket=b, Key=k, IfNoneMatch=etag), 304, "304")
    expect_error(lambda: s3.get_object(Bucket=b, Key=k, IfModifiedSince=FUTURE), 304, "304")
    expect_error(
        lambda: s3.get_object(Bucket=b, Key=k, IfUnmodifiedSince=PAST), "PreconditionFailed"
    )
    expect_error(lambda: s3.head_object(Bucket=b, Key=k, IfMatch='"0000"'), 412, "412")


@scenario("conditionals", "boto3", quick=True)
def put_object_if_none_match(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("create-only")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"one", IfNoneMatch="*")
    expect_error(
        lambda: s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"two", IfNoneMatch="*"),
        "PreconditionFailed",
        "ConditionalRequestConflict",
    )
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key)["Body"].read(), b"one", "kept the first")


@scenario("conditionals", "boto3")
def put_object_if_match(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("cas")
    etag = s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"v1")["ETag"]
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"v2", IfMatch=etag)
    expect_error(
        lambda: s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"v3", IfMatch=etag),
        "PreconditionFailed",
    )


@scenario("conditionals", "boto3")
def copy_source_conditions(ctx: Context) -> None:
    s3 = ctx.boto3()
    src = ctx.key("src")
    etag = s3.put_object(Bucket=ctx.bucket, Key=src, Body=b"source")["ETag"]
    source = {"Bucket": ctx.bucket, "Key": src}
    s3.copy_object(Bucket=ctx.bucket, Key=ctx.key("ok"), CopySource=source, CopySourceIfMatch=etag)
    expect_error(
        lambda: s3.copy_object(
            Bucket=ctx.bucket, Key=ctx.key("no"), CopySource=source, CopySourceIfNoneMatch=etag
        ),
        "PreconditionFailed",
    )


@scenario("conditionals", "aws-s3api", quick=True)
def get_object_if_match(ctx: Context) -> None:
    key = ctx.key("cond")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"conditional")
    out = str(ctx.tmp / "o")
    base = ("s3api", "get-object", "--bucket", ctx.bucket, "--key", key)
    failed = ctx.aws(*base, "--if-match", '"0000"', out, expect_failure=True)
    expect_eq("PreconditionFailed" in failed.stderr or "412" in failed.stderr, True, "412")
    ctx.aws(*base, "--if-unmodified-since", _http_date(FUTURE), out)


@scenario("conditionals", "s3fs", quick=True)
def pipe_mode_create(ctx: Context) -> None:
    fs = ctx.s3fs()
    path = f"{ctx.bucket}/{ctx.key('once')}"
    fs.pipe(path, b"first", mode="create")
    try:
        fs.pipe(path, b"second", mode="create")
    except FileExistsError:
        pass
    else:
        raise AssertionError("a second mode='create' write succeeded (If-None-Match ignored)")
    expect_eq(fs.cat(path), b"first", "content after refused create")


def _http_conditions(ctx: Context, signature: str) -> None:
    key = ctx.key("cond")
    etag = ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"conditional")["ETag"]
    url = ctx.presign("get_object", key, signature=signature)
    cases = (
        ({"If-Match": etag}, 200),
        ({"If-Match": '"0000"'}, 412),
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-Modified-Since": _http_date(FUTURE)}, 304),
        ({"If-Unmodified-Since": _http_date(PAST)}, 412),
        # RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since; If-Match over
        # If-Unmodified-Since (S3 documents the same precedence).
        ({"If-None-Match": '"0000"', "If-Modified-Since": _http_date(FUTURE)}, 200),
        ({"If-Match": etag, "If-Unmodified-Since": _http_date(PAST)}, 200),
    )
    for headers, expected in cases:
        status, resp_headers, _ = ctx.http("GET", url, headers=headers)
        expect_eq(status, expected, f"GET with {headers}")
        if status == 304:
            expect_eq(resp_headers.get("etag"), etag, "ETag on a 304")


@scenario("conditionals", "http-sigv4", quick=True)
def presigned_conditions_v4(ctx: Context) -> None:
    _http_conditions(ctx, "s3v4")


@scenario("conditionals", "http-sigv2", quick=True)
def presigned_conditions_v2(ctx: Context) -> None:
    _http_conditions(ctx, "s3")
