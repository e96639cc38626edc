"""Copy: CopyObject (metadata directive COPY and REPLACE, across buckets, awkward keys)."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("copy", "http-sigv2", "covered through http-sigv4")
unsupported("copy", "http", "anonymous writes are covered under policy")

SOURCE_KEY = "src dir/ünïcode+source.bin"


def _source(ctx: Context, size: int = 20_000) -> tuple[str, bytes]:
    key, data = ctx.key(SOURCE_KEY), ctx.data(size, "copy")
    ctx.admin.put_object(
        Bucket=ctx.bucket, Key=key, Body=data, ContentType="text/x-src", Metadata={"a": "1"}
    )
    return key, data


@scenario("copy", "boto3", quick=True)
def copy_object_directives(ctx: Context) -> None:
    s3 = ctx.boto3()
    src, data = _source(ctx)
    source = {"Bucket": ctx.bucket, "Key": src}
    s3.copy_object(Bucket=ctx.bucket, Key=ctx.key("copied"), CopySource=source)
    got = s3.get_object(Bucket=ctx.bucket, Key=ctx.key("copied"))
    expect_eq(got["Body"].read(), data, "copied bytes")
    expect_eq(got["ContentType"], "text/x-src", "COPY keeps Content-Type")
    expect_eq(got["Metadata"], {"a": "1"}, "COPY keeps metadata")
    s3.copy_object(
        Bucket=ctx.bucket,
        Key=ctx.key("replaced"),
        CopySource=source,
        MetadataDirective="REPLACE",
        ContentType="text/x-new",
        Metadata={"b": "2"},
    )
    head = s3.head_object(Bucket=ctx.bucket, Key=ctx.key("replaced"))
    expect_eq((head["ContentType"], head["Metadata"]), ("text/x-new", {"b": "2"}), "REPLACE")


@scenario("copy", "boto3")
def copy_in_place_and_errors(ctx: Context) -> None:
    s3 = ctx.boto3()
    src, _ = _source(ctx, 100)
    source = {"Bucket": ctx.bucket, "Key": src}
    # Copying an object onto itself without changing anything is an InvalidRequest.
    expect_error(lambda: s3.copy_object(Bucket=ctx.bucket, Key=src, CopySource=source),
                 "InvalidRequest")  # fmt: skip
    s3.copy_object(
        Bucket=ctx.bucket, Key=src, CopySource=source, MetadataDirective="REPLACE",
        Metadata={"touched": "yes"},
    )  # fmt: skip
    expect_eq(s3.head_object(Bucket=ctx.bucket, Key=src)["Metadata"], {"touched": "yes"}, "meta")
    missing = {"Bucket": ctx.bucket, "Key": ctx.key("missing")}
    expect_error(lambda: s3.copy_object(Bucket=ctx.bucket, Key=ctx.key("x"), CopySource=missing),
                 "NoSuchKey")  # fmt: skip


@scenario("copy", "boto3")
def copy_across_buckets(ctx: Context) -> None:
    s3 = ctx.boto3()
    src, data = _source(ctx)
    other = ctx.new_bucket("dst")
    s3.copy_object(Bucket=other, Key="copy", CopySource={"Bucket": ctx.bucket, "Key": src})
    expect_eq(s3.get_object(Bucket=other, Key="copy")["Body"].read(), data, "cross-bucket copy")


@scenario("copy", "aws-s3", quick=True)
def cp_s3_to_s3(ctx: Context) -> None:
    src, data = _source(ctx)
    ctx.aws("s3", "cp", ctx.s3url(src), ctx.s3url(ctx.key("dst.bin")))
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=ctx.key("dst.bin"))["Body"].read()
    expect_eq(got, data, "server-side copy")
    ctx.aws("s3", "mv", ctx.s3url(ctx.key("dst.bin")), ctx.s3url(ctx.key("moved.bin")))
    expect_error(lambda: ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("dst.bin")), 404)


@scenario("copy", "aws-s3api", quick=True)
def copy_object_cli(ctx: Context) -> None:
    src, data = _source(ctx)
    out = ctx.aws_json(
        "s3api", "copy-object", "--bucket", ctx.bucket, "--key", ctx.key("c"),
        "--copy-source", f"{ctx.bucket}/{src}",
    )  # fmt: skip
    expect("CopyObjectResult" in out, f"no CopyObjectResult: {out}")
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=ctx.key("c"))["Body"].read()
    expect_eq(got, data, "copied bytes")


@scenario("copy", "s3fs", quick=True)
def fs_copy(ctx: Context) -> None:
    fs = ctx.s3fs()
    src, data = _source(ctx)
    fs.copy(f"{ctx.bucket}/{src}", f"{ctx.bucket}/{ctx.key('fs-copy')}")
    expect_eq(fs.cat(f"{ctx.bucket}/{ctx.key('fs-copy')}"), data, "fs.copy")
    fs.mv(f"{ctx.bucket}/{ctx.key('fs-copy')}", f"{ctx.bucket}/{ctx.key('fs-moved')}")
    expect(not fs.exists(f"{ctx.bucket}/{ctx.key('fs-copy')}"), "source remains after mv")


@scenario("copy", "rclone", quick=True)
def server_side_copyto(ctx: Context) -> None:
    src, data = _source(ctx)
    ctx.rclone("copyto", ctx.remote(src), ctx.remote(ctx.key("rc-copy")))
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=ctx.key("rc-copy"))["Body"].read()
    expect_eq(got, data, "rclone server-side copy")
    ctx.rclone("moveto", ctx.remote(ctx.key("rc-copy")), ctx.remote(ctx.key("rc-moved")))


@scenario("copy", "s3cmd", quick=True)
def cp_and_mv(ctx: Context) -> None:
    src, data = _source(ctx)
    ctx.s3cmd("cp", ctx.s3url(src), ctx.s3url(ctx.key("s3cmd-copy")))
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=ctx.key("s3cmd-copy"))["Body"].read()
    expect_eq(got, data, "s3cmd cp")
    ctx.s3cmd("mv", ctx.s3url(ctx.key("s3cmd-copy")), ctx.s3url(ctx.key("s3cmd-moved")))


@scenario("copy", "http-sigv4", quick=True)
def presigned_copy(ctx: Context) -> None:
    src, data = _source(ctx)
    url = ctx.presign(
        "copy_object", ctx.key("p-copy"), CopySource={"Bucket": ctx.bucket, "Key": src}
    )
    # The copy source is a signed header; send exactly what was signed.
    from urllib.parse import quote

    source = quote(f"{ctx.bucket}/{src}", safe="/~")
    status, _, body = ctx.http("PUT", url, b"", {"x-amz-copy-source": source})
    expect_eq(status, 200, f"presigned CopyObject: {body[:300]!r}")
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=ctx.key("p-copy"))["Body"].read()
    expect_eq(got, data, "copied bytes")
