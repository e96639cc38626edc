"""CORS: Put/Get/DeleteBucketCors and the browser's preflight (OPTIONS) and response headers."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("aws-s3", "s3fs", "rclone", "http-sigv4", "http-sigv2"):
    unsupported("cors", _client, "no CORS configuration commands")

ORIGIN = "https://app.example.com"
RULES = {
    "CORSRules": [
        {
            "AllowedOrigins": [ORIGIN],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
}


@scenario("cors", "boto3", quick=True)
def put_get_delete_bucket_cors(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("cors")
    expect_error(lambda: s3.get_bucket_cors(Bucket=bucket), "NoSuchCORSConfiguration")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    expect_eq(rules[0]["AllowedOrigins"], [ORIGIN], "stored rule")
    s3.delete_bucket_cors(Bucket=bucket)
    expect_error(lambda: s3.get_bucket_cors(Bucket=bucket), "NoSuchCORSConfiguration")


@scenario("cors", "aws-s3api", quick=True)
def put_bucket_cors_cli(ctx: Context) -> None:
    import json

    bucket = ctx.new_bucket("cors")
    ctx.aws("s3api", "put-bucket-cors", "--bucket", bucket, "--cors-configuration",
            json.dumps(RULES))  # fmt: skip
    out = ctx.aws_json("s3api", "get-bucket-cors", "--bucket", bucket)
    expect_eq(out["CORSRules"][0]["AllowedMethods"], ["GET", "PUT"], "methods")


@scenario("cors", "s3cmd", quick=True)
def setcors(ctx: Context) -> None:
    bucket = ctx.new_bucket("cors")
    xml = (
        "<CORSConfiguration><CORSRule><AllowedOrigin>" + ORIGIN + "</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
    )
    ctx.s3cmd("setcors", str(ctx.file("cors.xml", xml.encode())), f"s3://{bucket}")
    rules = ctx.admin.get_bucket_cors(Bucket=bucket)["CORSRules"]
    expect_eq(rules[0]["AllowedOrigins"], [ORIGIN], "rule set by s3cmd")
    ctx.s3cmd("delcors", f"s3://{bucket}")


@scenario("cors", "http", quick=True)
def preflight_and_response_headers(ctx: Context) -> None:
    bucket = ctx.new_bucket("cors")
    ctx.admin.put_bucket_cors(Bucket=bucket, CORSConfiguration=RULES)
    ctx.admin.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = ctx.object_url("k", bucket)
    status, headers, _ = ctx.http("OPTIONS", url, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})  # fmt: skip
    expect_eq(status, 200, "preflight")
    expect_eq(headers.get("access-control-allow-origin"), ORIGIN, "Allow-Origin")
    expect("PUT" in headers.get("access-control-allow-methods", ""), "Allow-Methods")
    status, _, _ = ctx.http("OPTIONS", url, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})  # fmt: skip
    expect_eq(status, 403, "preflight from an origin not allowed")
    signed = ctx.presign("get_object", "k", bucket=bucket)
    status, headers, _ = ctx.http("GET", signed, headers={"Origin": ORIGIN})
    expect_eq(headers.get("access-control-allow-origin"), ORIGIN, "Allow-Origin on GET")
