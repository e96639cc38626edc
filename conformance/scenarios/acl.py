"""ACLs: GetBucketAcl/GetObjectAcl, canned ACLs (x-amz-acl) and what they let anonymous
callers do."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario, unsupported

for _client in ("s3fs", "http-sigv4", "http-sigv2"):
    unsupported("acl", _client, "covered through boto3, aws-cli, s3cmd, rclone and anonymous http")


@scenario("acl", "boto3", quick=True)
def get_acls_owner_full_control(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("acl")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"x")
    for acl in (
        s3.get_bucket_acl(Bucket=ctx.bucket),
        s3.get_object_acl(Bucket=ctx.bucket, Key=key),
    ):
        expect("ID" in acl["Owner"], f"no owner ID: {acl['Owner']}")
        perms = [g["Permission"] for g in acl["Grants"]]
        expect_eq(perms, ["FULL_CONTROL"], "private ACL grants")


@scenario("acl", "boto3")
def put_canned_acls(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("acl")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    uris = [g["Grantee"].get("URI", "") for g in grants]
    expect(any(u.endswith("/global/AllUsers") for u in uris), f"public-read grants: {grants}")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")


@scenario("acl", "aws-s3api", quick=True)
def get_bucket_acl_cli(ctx: Context) -> None:
    out = ctx.aws_json("s3api", "get-bucket-acl", "--bucket", ctx.bucket)
    expect_eq([g["Permission"] for g in out["Grants"]], ["FULL_CONTROL"], "grants")


@scenario("acl", "aws-s3", quick=True)
def cp_acl_public_read(ctx: Context) -> None:
    bucket = ctx.new_bucket("pub")
    src = ctx.file("p.txt", b"public")
    ctx.aws("s3", "cp", "--acl", "public-read", str(src), f"s3://{bucket}/p.txt")
    status, _, body = ctx.http("GET", ctx.object_url("p.txt", bucket))
    expect_eq((status, body), (200, b"public"), "anonymous GET of a public-read object")


@scenario("acl", "s3cmd", quick=True)
def setacl_public(ctx: Context) -> None:
    bucket = ctx.new_bucket("pub")
    ctx.admin.put_object(Bucket=bucket, Key="s.txt", Body=b"made public")
    ctx.s3cmd("setacl", "--acl-public", f"s3://{bucket}/s.txt")
    status, _, body = ctx.http("GET", ctx.object_url("s.txt", bucket))
    expect_eq((status, body), (200, b"made public"), "anonymous GET after setacl --acl-public")


@scenario("acl", "http", quick=True)
def anonymous_denied_on_private(ctx: Context) -> None:
    key = ctx.key("private")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"private")
    status, _, body = ctx.http("GET", ctx.object_url(key))
    expect_eq(status, 403, "anonymous GET of a private object")
    expect(b"AccessDenied" in body, f"error document: {body[:200]!r}")
    status, _, _ = ctx.http("PUT", ctx.object_url(ctx.key("anon-put")), b"x")
    expect_eq(status, 403, "anonymous PUT into a private bucket")


@scenario("acl", "rclone", quick=True)
def copy_with_public_read_acl(ctx: Context) -> None:
    bucket = ctx.new_bucket("pub")
    src = ctx.file("r.txt", b"public via rclone")
    ctx.rclone("copyto", "--s3-acl", "public-read", str(src), ctx.remote("r.txt", bucket))
    status, _, body = ctx.http("GET", ctx.object_url("r.txt", bucket))
    expect_eq((status, body), (200, b"public via rclone"), "anonymous GET after --s3-acl")
