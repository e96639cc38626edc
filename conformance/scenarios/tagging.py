"""Tagging: object tags (Put/Get/DeleteObjectTagging, x-amz-tagging on PUT, tag count on GET)
and bucket tags."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("aws-s3", "rclone", "http-sigv2", "http"):
    unsupported("tagging", _client, "no tagging commands")

TAGS = [{"Key": "project", "Value": "kloudvault"}, {"Key": "tier", "Value": "gold plated"}]


@scenario("tagging", "boto3", quick=True)
def object_tagging(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("t")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"x", Tagging="a=1&b=two%20words")
    got = s3.get_object_tagging(Bucket=ctx.bucket, Key=key)["TagSet"]
    expect_eq(sorted((t["Key"], t["Value"]) for t in got), [("a", "1"), ("b", "two words")], "tags")
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key).get("TagCount"), 2, "x-amz-tagging-count")
    s3.put_object_tagging(Bucket=ctx.bucket, Key=key, Tagging={"TagSet": TAGS})
    got = s3.get_object_tagging(Bucket=ctx.bucket, Key=key)["TagSet"]
    expect_eq(sorted(t["Key"] for t in got), ["project", "tier"], "replaced tags")
    s3.delete_object_tagging(Bucket=ctx.bucket, Key=key)
    expect_eq(s3.get_object_tagging(Bucket=ctx.bucket, Key=key)["TagSet"], [], "after delete")
    too_many = {"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
    expect_error(lambda: s3.put_object_tagging(Bucket=ctx.bucket, Key=key, Tagging=too_many),
                 "BadRequest", "InvalidTag")  # fmt: skip


@scenario("tagging", "boto3")
def bucket_tagging(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("tag")
    expect_error(lambda: s3.get_bucket_tagging(Bucket=bucket), "NoSuchTagSet")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": TAGS})
    expect_eq(len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]), 2, "bucket tags")
    s3.delete_bucket_tagging(Bucket=bucket)


@scenario("tagging", "aws-s3api", quick=True)
def object_tagging_cli(ctx: Context) -> None:
    key = ctx.key("t")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"x")
    ctx.aws("s3api", "put-object-tagging", "--bucket", ctx.bucket, "--key", key,
            "--tagging", "TagSet=[{Key=env,Value=prod}]")  # fmt: skip
    out = ctx.aws_json("s3api", "get-object-tagging", "--bucket", ctx.bucket, "--key", key)
    expect_eq(out.get("TagSet"), [{"Key": "env", "Value": "prod"}], "tags")


@scenario("tagging", "s3fs", quick=True)
def put_get_tags(ctx: Context) -> None:
    fs = ctx.s3fs()
    path = f"{ctx.bucket}/{ctx.key('fs')}"
    fs.pipe(path, b"x")
    fs.put_tags(path, {"env": "test"})
    expect_eq(fs.get_tags(path), {"env": "test"}, "fs.get_tags")


@scenario("tagging", "s3cmd", quick=True)
def settagging(ctx: Context) -> None:
    key = ctx.key("s")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"x")
    ctx.s3cmd("settagging", ctx.s3url(key), "env=prod&team=storage")
    out = ctx.s3cmd("gettagging", ctx.s3url(key)).stdout
    expect("env" in out and "prod" in out, f"s3cmd gettagging:\n{out}")


@scenario("tagging", "http-sigv4", quick=True)
def presigned_put_with_tagging(ctx: Context) -> None:
    key = ctx.key("p")
    url = ctx.presign("put_object", key, Tagging="src=browser")
    status, _, body = ctx.http("PUT", url, b"x", {"x-amz-tagging": "src=browser"})
    expect_eq(status, 200, f"presigned PUT with x-amz-tagging: {body[:200]!r}")
    tags = ctx.admin.get_object_tagging(Bucket=ctx.bucket, Key=key)["TagSet"]
    expect_eq(tags, [{"Key": "src", "Value": "browser"}], "stored tags")
