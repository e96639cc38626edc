"""Presigned URLs: SigV4 query auth (X-Amz-*) and SigV2 query auth (AWSAccessKeyId,
Expires, Signature) — expiry, tampering, signed headers, and the clients' presign commands."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario, unsupported

unsupported("presign", "s3fs", "s3fs.url() presigns through botocore (covered by boto3)")
unsupported("presign", "rclone", "rclone link needs a public bucket")
unsupported("presign", "aws-s3api", "presigning is `aws s3 presign`")
unsupported("presign", "http", "presigned URLs are the http-sigv4/v2 columns")


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _flip(value: str) -> str:
    return value[:-1] + ("A" if value[-1] != "A" else "B")


def _rejections(ctx: Context, signature: str) -> None:
    key = ctx.key("secret.txt")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"secret")
    url = ctx.presign("get_object", key, signature=signature)
    query = dict(parse_qsl(urlsplit(url).query))
    sig_name = "X-Amz-Signature" if signature == "s3v4" else "Signature"
    status, _, body = ctx.http("GET", _with_query(url, **{sig_name: _flip(query[sig_name])}))
    expect_eq(status, 403, "tampered signature")
    expect(b"SignatureDoesNotMatch" in body, f"tampered signature error: {body[:300]!r}")
    other = ctx.object_url(ctx.key("other.txt"))
    status, _, _ = ctx.http("GET", other + "?" + urlsplit(url).query)
    expect_eq(status, 403, "a signature used for another key")
    expired = ctx.presign("get_object", key, signature=signature, expires=1)
    import time

    time.sleep(2.1)
    status, _, body = ctx.http("GET", expired)
    expect_eq(status, 403, "expired URL")
    expect(b"AccessDenied" in body, f"expired URL error: {body[:300]!r}")


@scenario("presign", "http-sigv4", quick=True)
def tampered_and_expired_v4(ctx: Context) -> None:
    _rejections(ctx, "s3v4")


@scenario("presign", "http-sigv2", quick=True)
def tampered_and_expired_v2(ctx: Context) -> None:
    _rejections(ctx, "s3")


@scenario("presign", "http-sigv4")
def signed_content_type_enforced(ctx: Context) -> None:
    key = ctx.key("typed")
    url = ctx.presign("put_object", key, ContentType="image/png")
    status, _, _ = ctx.http("PUT", url, b"png", {"Content-Type": "text/html"})
    expect_eq(status, 403, "PUT with a Content-Type other than the signed one")
    status, _, _ = ctx.http("PUT", url, b"png", {"Content-Type": "image/png"})
    expect_eq(status, 200, "PUT with the signed Content-Type")


@scenario("presign", "http-sigv4")
def expiry_limits_v4(ctx: Context) -> None:
    key = ctx.key("x")
    url = ctx.presign("get_object", key, expires=3600)
    status, _, body = ctx.http("GET", _with_query(url, **{"X-Amz-Expires": "604801"}))
    # AWS answers 400 AuthorizationQueryParametersError ("X-Amz-Expires must be less than
    # a week"), before it looks at the signature.
    expect_eq(status, 400, f"X-Amz-Expires over 7 days: {body[:200]!r}")
    expect(b"AuthorizationQueryParametersError" in body, f"error code: {body[:200]!r}")


@scenario("presign", "boto3", quick=True)
def generate_presigned_url_both_versions(ctx: Context) -> None:
    key = ctx.key("shared report ü.pdf")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"%PDF")
    for signature in ("s3v4", "s3"):
        status, _, body = ctx.http("GET", ctx.presign("get_object", key, signature=signature))
        expect_eq((status, body), (200, b"%PDF"), f"GET via {signature} URL")


@scenario("presign", "aws-s3", quick=True)
def aws_s3_presign(ctx: Context) -> None:
    key = ctx.key("cli presign.txt")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"from the cli")
    url = ctx.aws("s3", "presign", ctx.s3url(key), "--expires-in", "300").stdout.strip()
    status, _, body = ctx.http("GET", url)
    expect_eq((status, body), (200, b"from the cli"), f"GET {url}")


@scenario("presign", "s3cmd", quick=True)
def s3cmd_signurl(ctx: Context) -> None:
    key = ctx.key("signed.txt")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"s3cmd signurl")
    url = ctx.s3cmd("signurl", ctx.s3url(key), "+300").stdout.strip().splitlines()[-1]
    # s3cmd signs for host_base; keep its path and query, aim at our endpoint.
    parts = urlsplit(url)
    status, _, body = ctx.http("GET", f"{parts.path}?{parts.query}")
    expect_eq((status, body), (200, b"s3cmd signurl"), f"GET {url}")
