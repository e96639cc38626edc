"""Metadata: Content-Type and the other content headers, x-amz-meta-*, response overrides."""

from __future__ import annotations

import json

from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario, unsupported

unsupported("metadata", "http", "anonymous writes are covered under policy")

META = {"color": "blue", "owner-id": "42"}


@scenario("metadata", "boto3", quick=True)
def content_headers_and_user_metadata(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("meta.html")
    s3.put_object(
        Bucket=ctx.bucket,
        Key=key,
        Body=b"<p>hi</p>",
        ContentType="text/html; charset=utf-8",
        CacheControl="max-age=60",
        ContentDisposition='attachment; filename="x.html"',
        ContentEncoding="identity",
        ContentLanguage="en",
        Expires="Wed, 21 Oct 2037 07:28:00 GMT",
        Metadata=META,
    )
    head = s3.head_object(Bucket=ctx.bucket, Key=key)
    expect_eq(head["ContentType"], "text/html; charset=utf-8", "Content-Type")
    expect_eq(head.get("CacheControl"), "max-age=60", "Cache-Control")
    expect_eq(head.get("ContentDisposition"), 'attachment; filename="x.html"', "Disposition")
    expect_eq(head.get("ContentLanguage"), "en", "Content-Language")
    expect_eq(head.get("Metadata"), META, "user metadata")
    expect("Expires" in head or "ExpiresString" in head, "Expires missing")


@scenario("metadata", "boto3")
def response_header_overrides(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("override.bin")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"x", ContentType="application/octet-stream")
    got = s3.get_object(
        Bucket=ctx.bucket,
        Key=key,
        ResponseContentType="text/plain",
        ResponseContentDisposition="inline",
        ResponseCacheControl="no-cache",
    )
    expect_eq(got["ContentType"], "text/plain", "overridden Content-Type")
    expect_eq(got.get("ContentDisposition"), "inline", "overridden Content-Disposition")
    expect_eq(got.get("CacheControl"), "no-cache", "overridden Cache-Control")


@scenario("metadata", "boto3")
def default_content_type(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("noctype")
    ctx.http("PUT", ctx.presign("put_object", key), b"abc")
    ctype = s3.head_object(Bucket=ctx.bucket, Key=key).get("ContentType")
    expect(ctype in ("binary/octet-stream", "application/octet-stream"), f"default type {ctype}")


@scenario("metadata", "aws-s3", quick=True)
def cp_with_content_type_and_metadata(ctx: Context) -> None:
    src = ctx.file("page.html", b"<p>x</p>")
    key = ctx.key("page.html")
    ctx.aws(
        "s3", "cp", str(src), ctx.s3url(key),
        "--content-type", "text/html", "--cache-control", "max-age=5",
        "--metadata", json.dumps(META),
    )  # fmt: skip
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=key)
    expect_eq(head["ContentType"], "text/html", "Content-Type")
    expect_eq(head.get("CacheControl"), "max-age=5", "Cache-Control")
    expect_eq(head.get("Metadata"), META, "user metadata")


@scenario("metadata", "aws-s3")
def cp_guesses_content_type(ctx: Context) -> None:
    src = ctx.file("pic.png", b"\x89PNG....")
    key = ctx.key("pic.png")
    ctx.aws("s3", "cp", str(src), ctx.s3url(key))
    expect_eq(ctx.admin.head_object(Bucket=ctx.bucket, Key=key)["ContentType"], "image/png", "type")


@scenario("metadata", "aws-s3api", quick=True)
def put_object_metadata(ctx: Context) -> None:
    src = ctx.file("d.json", b"{}")
    key = ctx.key("d.json")
    ctx.aws(
        "s3api", "put-object", "--bucket", ctx.bucket, "--key", key, "--body", str(src),
        "--content-type", "application/json", "--metadata", "color=blue,owner-id=42",
    )  # fmt: skip
    head = ctx.aws_json("s3api", "head-object", "--bucket", ctx.bucket, "--key", key)
    expect_eq(head["ContentType"], "application/json", "Content-Type")
    expect_eq(head.get("Metadata"), META, "user metadata")


@scenario("metadata", "s3fs", quick=True)
def pipe_with_metadata(ctx: Context) -> None:
    fs = ctx.s3fs()
    path = f"{ctx.bucket}/{ctx.key('m.txt')}"
    fs.pipe(path, b"hello", ContentType="text/plain", Metadata=META)
    expect_eq(fs.info(path).get("ContentType"), "text/plain", "ContentType in info()")
    expect_eq(fs.metadata(path), META, "fs.metadata()")
    fs.setxattr(path, copy_kwargs={"ContentType": "text/plain"}, color="red")
    expect_eq(fs.getxattr(path, "color"), "red", "getxattr after setxattr")


@scenario("metadata", "rclone", quick=True)
def metadata_set_and_lsjson(ctx: Context) -> None:
    src = ctx.file("r.txt", b"rclone metadata")
    remote = ctx.remote(ctx.key("r.txt"))
    ctx.rclone(
        "copyto", "-M", "--metadata-set", "color=blue", "--metadata-set", "content-type=text/x-r",
        "--header-upload", "Cache-Control: max-age=7", str(src), remote,
    )  # fmt: skip
    listed = json.loads(ctx.rclone("lsjson", "-M", remote).stdout)
    expect(len(listed) == 1, f"lsjson: {listed}")
    meta = listed[0].get("Metadata", {})
    expect_eq(meta.get("color"), "blue", "user metadata via lsjson -M")
    expect_eq(meta.get("content-type"), "text/x-r", "content-type via lsjson -M")
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("r.txt"))
    expect_eq(head.get("CacheControl"), "max-age=7", "Cache-Control")


@scenario("metadata", "s3cmd", quick=True)
def put_mime_type_and_headers(ctx: Context) -> None:
    src = ctx.file("s.txt", b"s3cmd metadata")
    url = ctx.s3url(ctx.key("s.txt"))
    ctx.s3cmd(
        "put", "--mime-type=text/x-s3cmd", "--no-guess-mime-type",
        "--add-header=Cache-Control:max-age=9", "--add-header=x-amz-meta-color:blue",
        str(src), url,
    )  # fmt: skip
    info = ctx.s3cmd("info", url).stdout
    expect("text/x-s3cmd" in info, f"MIME type missing from s3cmd info:\n{info}")
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("s.txt"))
    expect_eq(head.get("Metadata", {}).get("color"), "blue", "x-amz-meta-color")
    expect_eq(head.get("CacheControl"), "max-age=9", "Cache-Control")


@scenario("metadata", "s3cmd")
def modify_replaces_metadata(ctx: Context) -> None:
    key = ctx.key("mod.txt")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"m", ContentType="text/plain")
    ctx.s3cmd("modify", "--add-header=x-amz-meta-stage:two", ctx.s3url(key))
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=key)
    expect_eq(head.get("Metadata", {}).get("stage"), "two", "metadata after s3cmd modify")


def _presigned_metadata(ctx: Context, signature: str) -> None:
    key = ctx.key("p.txt")
    url = ctx.presign(
        "put_object", key, signature=signature, ContentType="text/plain", Metadata=META
    )
    headers = {"Content-Type": "text/plain", **{f"x-amz-meta-{k}": v for k, v in META.items()}}
    status, _, body = ctx.http("PUT", url, b"presigned with metadata", headers)
    expect_eq(status, 200, f"presigned PUT: {body[:300]!r}")
    status, headers, _ = ctx.http("HEAD", ctx.presign("head_object", key, signature=signature))
    expect_eq(status, 200, "HEAD")
    expect_eq(headers.get("content-type"), "text/plain", "Content-Type")
    expect_eq(headers.get("x-amz-meta-color"), "blue", "x-amz-meta-color")
    url = ctx.presign("get_object", key, signature=signature, ResponseContentType="text/csv")
    status, headers, _ = ctx.http("GET", url)
    expect_eq((status, headers.get("content-type")), (200, "text/csv"), "response-content-type")


@scenario("metadata", "http-sigv4", quick=True)
def presigned_put_with_metadata_v4(ctx: Context) -> None:
    _presigned_metadata(ctx, "s3v4")


@scenario("metadata", "http-sigv2", quick=True)
def presigned_put_with_metadata_v2(ctx: Context) -> None:
    _presigned_metadata(ctx, "s3")
