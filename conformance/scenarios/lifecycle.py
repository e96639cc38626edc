"""Lifecycle configuration: Put/Get/DeleteBucketLifecycleConfiguration round trips.

(Whether rules fire is a matter of days; the server's own tests move its clock.)"""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("aws-s3", "s3fs", "rclone", "http-sigv4", "http-sigv2", "http"):
    unsupported("lifecycle", _client, "no lifecycle commands")

RULES = {
    "Rules": [
        {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
         "Expiration": {"Days": 30}},
        {"ID": "abort-mpu", "Status": "Enabled", "Filter": {},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
        {"ID": "old-versions", "Status": "Disabled", "Filter": {"Tag": {"Key": "t", "Value": "v"}},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 10}},
    ]
}  # fmt: skip


@scenario("lifecycle", "boto3", quick=True)
def put_get_delete_lifecycle(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("lc")
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket),
                 "NoSuchLifecycleConfiguration")  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=RULES)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expect_eq(sorted(r["ID"] for r in rules), ["abort-mpu", "expire-logs", "old-versions"], "IDs")
    by_id = {r["ID"]: r for r in rules}
    expect_eq(by_id["expire-logs"]["Expiration"], {"Days": 30}, "Expiration")
    s3.delete_bucket_lifecycle(Bucket=bucket)
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket),
                 "NoSuchLifecycleConfiguration")  # fmt: skip


@scenario("lifecycle", "boto3")
def invalid_rules_refused(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("lc")
    bad = {"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}]}
    expect_error(lambda: s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=bad), "InvalidArgument", "MalformedXML")  # fmt: skip


@scenario("lifecycle", "aws-s3api", quick=True)
def lifecycle_cli(ctx: Context) -> None:
    import json

    bucket = ctx.new_bucket("lc")
    ctx.aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket,
            "--lifecycle-configuration", json.dumps(RULES))  # fmt: skip
    out = ctx.aws_json("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket)
    expect_eq(len(out.get("Rules", [])), 3, "rules")


@scenario("lifecycle", "s3cmd", quick=True)
def expire_and_getlifecycle(ctx: Context) -> None:
    bucket = ctx.new_bucket("lc")
    ctx.s3cmd("expire", f"s3://{bucket}", "--expiry-days=14", "--expiry-prefix=tmp/")
    out = ctx.s3cmd("getlifecycle", f"s3://{bucket}").stdout
    expect("<Days>14</Days>" in out, f"s3cmd getlifecycle:\n{out}")
    ctx.s3cmd("dellifecycle", f"s3://{bucket}")
