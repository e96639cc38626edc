"""Buckets: CreateBucket, HeadBucket, ListBuckets, GetBucketLocation, DeleteBucket."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("buckets", "http-sigv2", "bucket operations are covered through http-sigv4")
unsupported("buckets", "http", "anonymous callers cannot create buckets")


@scenario("buckets", "boto3", quick=True)
def create_head_list_delete(ctx: Context) -> None:
    s3 = ctx.boto3()
    name = ctx.own_bucket_name()
    s3.create_bucket(Bucket=name)
    s3.head_bucket(Bucket=name)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    expect(name in names, f"{name} missing from ListBuckets")
    location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    expect(location in (None, "", "us-east-1"), f"unexpected location {location!r}")
    s3.delete_bucket(Bucket=name)
    expect_error(lambda: s3.head_bucket(Bucket=name), 404, "NoSuchBucket", "404")


@scenario("buckets", "boto3")
def bucket_errors(ctx: Context) -> None:
    s3 = ctx.boto3()
    name = ctx.new_bucket()
    # Creating a bucket you own: 200 in us-east-1 (S3's legacy rule), 409 elsewhere.
    if ctx.ep.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        expect_error(lambda: s3.create_bucket(Bucket=name), "BucketAlreadyOwnedByYou")
    s3.put_object(Bucket=name, Key="x", Body=b"x")
    expect_error(lambda: s3.delete_bucket(Bucket=name), "BucketNotEmpty")
    s3.delete_object(Bucket=name, Key="x")
    expect_error(lambda: s3.list_objects_v2(Bucket=name + "-none"), "NoSuchBucket")
    expect_error(lambda: s3.create_bucket(Bucket="Invalid_Name"), "InvalidBucketName")


@scenario("buckets", "aws-s3", quick=True)
def mb_ls_rb(ctx: Context) -> None:
    name = ctx.own_bucket_name()
    ctx.aws("s3", "mb", f"s3://{name}")
    out = ctx.aws("s3", "ls").stdout
    expect(name in out, f"{name} missing from `aws s3 ls`")
    ctx.aws("s3", "rb", f"s3://{name}")
    out = ctx.aws("s3", "ls").stdout
    expect(name not in out, f"{name} still listed after rb")


@scenario("buckets", "aws-s3api", quick=True)
def create_head_delete(ctx: Context) -> None:
    name = ctx.own_bucket_name()
    ctx.aws("s3api", "create-bucket", "--bucket", name)
    ctx.aws("s3api", "head-bucket", "--bucket", name)
    listed = ctx.aws_json("s3api", "list-buckets")
    expect(name in [b["Name"] for b in listed["Buckets"]], "bucket not listed")
    ctx.aws("s3api", "get-bucket-location", "--bucket", name)
    ctx.aws("s3api", "delete-bucket", "--bucket", name)
    failed = ctx.aws("s3api", "head-bucket", "--bucket", name, expect_failure=True)
    expect("404" in failed.stderr, f"head-bucket after delete: {failed.stderr.strip()}")


@scenario("buckets", "s3fs", quick=True)
def mkdir_ls_rmdir(ctx: Context) -> None:
    fs = ctx.s3fs()
    name = ctx.own_bucket_name()
    fs.mkdir(name)
    expect(fs.exists(name), "bucket does not exist after mkdir")
    expect(name in [p.rstrip("/") for p in fs.ls("", refresh=True)], "bucket not in ls('')")
    fs.rmdir(name)
    fs.invalidate_cache()
    expect(not fs.exists(name), "bucket still exists after rmdir")


@scenario("buckets", "rclone", quick=True)
def mkdir_lsd_rmdir(ctx: Context) -> None:
    name = ctx.own_bucket_name()
    ctx.rclone("mkdir", f"kv:{name}")
    expect(name in ctx.rclone("lsd", "kv:").stdout, "bucket missing from `rclone lsd kv:`")
    ctx.rclone("rmdir", f"kv:{name}")
    expect(name not in ctx.rclone("lsd", "kv:").stdout, "bucket still listed after rmdir")


@scenario("buckets", "s3cmd", quick=True)
def mb_ls_rb_v4(ctx: Context) -> None:
    name = ctx.own_bucket_name()
    ctx.s3cmd("mb", f"s3://{name}")
    expect(f"s3://{name}" in ctx.s3cmd("ls").stdout, "bucket missing from `s3cmd ls`")
    ctx.s3cmd("rb", f"s3://{name}")
    expect(f"s3://{name}" not in ctx.s3cmd("ls").stdout, "bucket still listed after rb")


@scenario("buckets", "s3cmd")
def mb_ls_rb_v2(ctx: Context) -> None:
    name = ctx.own_bucket_name()
    ctx.s3cmd("mb", f"s3://{name}", v2=True)
    expect(f"s3://{name}" in ctx.s3cmd("ls", v2=True).stdout, "bucket missing (SigV2)")
    ctx.s3cmd("rb", f"s3://{name}", v2=True)


@scenario("buckets", "http-sigv4", quick=True)
def presigned_create_and_list(ctx: Context) -> None:
    name = ctx.own_bucket_name()
    status, _, body = ctx.http("PUT", ctx.presign("create_bucket", None, bucket=name))
    expect_eq(status, 200, f"presigned CreateBucket: {body[:300]!r}")
    status, _, body = ctx.http("GET", ctx.presign("list_objects_v2", None, bucket=name))
    expect_eq(status, 200, "presigned ListObjectsV2")
    expect(b"<ListBucketResult" in body, "no ListBucketResult document")
    status, _, _ = ctx.http("DELETE", ctx.presign("delete_bucket", None, bucket=name))
    expect_eq(status, 204, "presigned DeleteBucket")
