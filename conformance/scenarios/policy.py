"""Bucket policies: Put/Get/DeleteBucketPolicy, and anonymous access they grant."""

from __future__ import annotations

import json

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("aws-s3", "s3fs", "rclone", "http-sigv4", "http-sigv2"):
    unsupported("policy", _client, "no bucket policy commands")


def public_read(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


@scenario("policy", "boto3", quick=True)
def put_get_delete_bucket_policy(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("pol")
    expect_error(lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy")
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    stored = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    action = stored["Statement"][0]["Action"]
    expect(action in (["s3:GetObject"], "s3:GetObject"), f"stored policy action {action!r}")
    s3.delete_bucket_policy(Bucket=bucket)
    expect_error(lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy")
    expect_error(lambda: s3.put_bucket_policy(Bucket=bucket, Policy="{not json"), "MalformedPolicy")


@scenario("policy", "aws-s3api", quick=True)
def put_bucket_policy_cli(ctx: Context) -> None:
    bucket = ctx.new_bucket("pol")
    ctx.aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", public_read(bucket))
    out = ctx.aws_json("s3api", "get-bucket-policy", "--bucket", bucket)
    expect("PublicRead" in out.get("Policy", ""), f"policy: {out}")


@scenario("policy", "s3cmd", quick=True)
def setpolicy_delpolicy(ctx: Context) -> None:
    bucket = ctx.new_bucket("pol")
    path = ctx.file("policy.json", public_read(bucket).encode())
    ctx.s3cmd("setpolicy", str(path), f"s3://{bucket}")
    info = ctx.s3cmd("info", f"s3://{bucket}").stdout
    expect("PublicRead" in info, f"policy missing from s3cmd info:\n{info}")
    ctx.s3cmd("delpolicy", f"s3://{bucket}")


@scenario("policy", "http", quick=True)
def anonymous_get_allowed_by_policy(ctx: Context) -> None:
    bucket = ctx.new_bucket("pol")
    ctx.admin.put_object(Bucket=bucket, Key="pub.txt", Body=b"public by policy")
    status, _, _ = ctx.http("GET", ctx.object_url("pub.txt", bucket))
    expect_eq(status, 403, "anonymous GET before the policy")
    ctx.admin.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    status, _, body = ctx.http("GET", ctx.object_url("pub.txt", bucket))
    expect_eq((status, body), (200, b"public by policy"), "anonymous GET allowed by policy")
    status, _, _ = ctx.http("PUT", ctx.object_url("nope.txt", bucket), b"x")
    expect_eq(status, 403, "anonymous PUT (not granted)")
    status, _, _ = ctx.http("GET", f"{ctx.ep.endpoint}/{bucket}")
    expect_eq(status, 403, "anonymous listing (not granted)")
