"""Static website hosting: Put/Get/DeleteBucketWebsite (the website endpoint itself is a
listener of its own, which a generic endpoint does not name: tests/integration covers it)."""

from __future__ import annotations

from conformance.context import Context, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("s3fs", "rclone", "http-sigv4", "http-sigv2"):
    unsupported("website", _client, "no website configuration commands")

CONFIG = {
    "IndexDocument": {"Suffix": "index.html"},
    "ErrorDocument": {"Key": "404.html"},
    "RoutingRules": [
        {"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "new/"}}
    ],
}


@scenario("website", "boto3", quick=True)
def put_get_delete_bucket_website(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("web")
    expect_error(lambda: s3.get_bucket_website(Bucket=bucket), "NoSuchWebsiteConfiguration")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=CONFIG)
    got = s3.get_bucket_website(Bucket=bucket)
    expect_eq(got["IndexDocument"], CONFIG["IndexDocument"], "index document")
    expect_eq(got["RoutingRules"], CONFIG["RoutingRules"], "routing rules")
    expect_error(
        lambda: s3.put_bucket_website(
            Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "a/b.html"}}
        ),
        "InvalidArgument",
    )
    s3.delete_bucket_website(Bucket=bucket)
    expect_error(lambda: s3.get_bucket_website(Bucket=bucket), "NoSuchWebsiteConfiguration")
