"""DeleteObjects (multi-object delete), and the clients' recursive removal built on it."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario, unsupported

unsupported("batch-delete", "http-sigv2", "covered through http-sigv4")
unsupported("batch-delete", "http-sigv4", "DeleteObjects needs a signed Content-MD5 body")
unsupported("batch-delete", "http", "anonymous writes are covered under policy")

NAMES = ("one", "two", "dir/three", "dir/sub/four", "sp ace+ü")


def _fill(ctx: Context) -> list[str]:
    keys = [ctx.key(n) for n in NAMES]
    for key in keys:
        ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"x")
    return keys


def _left(ctx: Context) -> list[str]:
    page = ctx.admin.list_objects_v2(Bucket=ctx.bucket, Prefix=ctx.prefix)
    return [i["Key"] for i in page.get("Contents", [])]


@scenario("batch-delete", "boto3", quick=True)
def delete_objects(ctx: Context) -> None:
    s3 = ctx.boto3()
    keys = _fill(ctx)
    out = s3.delete_objects(
        Bucket=ctx.bucket,
        Delete={"Objects": [{"Key": k} for k in keys] + [{"Key": ctx.key("never-existed")}]},
    )
    deleted = sorted(d["Key"] for d in out.get("Deleted", []))
    expect_eq(deleted, sorted([*keys, ctx.key("never-existed")]), "Deleted entries")
    expect_eq(out.get("Errors", []), [], "Errors")
    expect_eq(_left(ctx), [], "objects left")


@scenario("batch-delete", "boto3")
def delete_objects_quiet(ctx: Context) -> None:
    s3 = ctx.boto3()
    keys = _fill(ctx)
    out = s3.delete_objects(
        Bucket=ctx.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
    )
    expect_eq(out.get("Deleted", []), [], "Quiet mode lists nothing deleted")
    expect_eq(_left(ctx), [], "objects left")


@scenario("batch-delete", "aws-s3", quick=True)
def rm_recursive(ctx: Context) -> None:
    _fill(ctx)
    ctx.aws("s3", "rm", "--recursive", ctx.s3url(ctx.prefix))
    expect_eq(_left(ctx), [], "objects left after aws s3 rm --recursive")


@scenario("batch-delete", "aws-s3api", quick=True)
def delete_objects_cli(ctx: Context) -> None:
    keys = _fill(ctx)
    objects = ",".join("{Key=" + k.replace(" ", "\\ ") + "}" for k in keys if " " not in k)
    ctx.aws("s3api", "delete-objects", "--bucket", ctx.bucket, "--delete", f"Objects=[{objects}]")
    expect_eq(_left(ctx), [k for k in keys if " " in k], "objects left")


@scenario("batch-delete", "s3fs", quick=True)
def rm_recursive_fs(ctx: Context) -> None:
    fs = ctx.s3fs()
    _fill(ctx)
    fs.rm(f"{ctx.bucket}/{ctx.prefix}", recursive=True)
    expect_eq(_left(ctx), [], "objects left after fs.rm(recursive=True)")


@scenario("batch-delete", "rclone", quick=True)
def delete_and_purge(ctx: Context) -> None:
    _fill(ctx)
    ctx.rclone("delete", "--include", "dir/**", ctx.remote(ctx.prefix))
    expect_eq(len(_left(ctx)), 3, "objects left after rclone delete --include")
    ctx.rclone("purge", ctx.remote(ctx.prefix))
    expect_eq(_left(ctx), [], "objects left after rclone purge")


@scenario("batch-delete", "s3cmd", quick=True)
def del_recursive(ctx: Context) -> None:
    _fill(ctx)
    out = ctx.s3cmd("del", "--recursive", "--force", ctx.s3url(ctx.prefix)).stdout
    expect("delete:" in out, f"s3cmd del output:\n{out}")
    expect_eq(_left(ctx), [], "objects left after s3cmd del --recursive")
