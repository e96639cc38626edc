"""Server-side encryption: SSE-S3 (AES256), SSE-C (customer keys), default bucket encryption."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from conformance.context import Context, expect_eq, expect_error
from conformance.registry import scenario, unsupported

for _client in ("s3fs", "http-sigv2", "http"):
    unsupported("encryption", _client, "covered through boto3, aws-cli, rclone and s3cmd")


@scenario("encryption", "boto3", quick=True)
def sse_s3_put_get(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("sse")
    put = s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"secret", ServerSideEncryption="AES256")
    expect_eq(put.get("ServerSideEncryption"), "AES256", "PutObject answer")
    head = s3.head_object(Bucket=ctx.bucket, Key=key)
    expect_eq(head.get("ServerSideEncryption"), "AES256", "HeadObject")
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key)["Body"].read(), b"secret", "GET")


@scenario("encryption", "boto3", quick=True)
def sse_c_put_get(ctx: Context) -> None:
    s3 = ctx.boto3()
    key, secret = ctx.key("ssec"), os.urandom(32)
    args = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": secret}
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"customer keyed", **args)
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key, **args)["Body"].read(),
              b"customer keyed", "GET with the key")  # fmt: skip
    expect_error(lambda: s3.get_object(Bucket=ctx.bucket, Key=key), "InvalidRequest", 400)
    wrong = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    expect_error(lambda: s3.get_object(Bucket=ctx.bucket, Key=key, **wrong), 403, "AccessDenied")


@scenario("encryption", "boto3")
def bucket_default_encryption(ctx: Context) -> None:
    s3 = ctx.boto3()
    bucket = ctx.new_bucket("enc")
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    got = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    expect_eq(got["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256",
              "stored rule")  # fmt: skip
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    expect_eq(s3.head_object(Bucket=bucket, Key="k").get("ServerSideEncryption"), "AES256",
              "default applied")  # fmt: skip


@scenario("encryption", "aws-s3", quick=True)
def cp_sse(ctx: Context) -> None:
    src = ctx.file("e.txt", b"encrypted by the cli")
    ctx.aws("s3", "cp", "--sse", "AES256", str(src), ctx.s3url(ctx.key("e.txt")))
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("e.txt"))
    expect_eq(head.get("ServerSideEncryption"), "AES256", "SSE header")


@scenario("encryption", "aws-s3api", quick=True)
def put_object_sse_c_cli(ctx: Context) -> None:
    secret = os.urandom(32)
    key = ctx.key("c.txt")
    src = ctx.file("c.txt", b"sse-c via cli")
    b64 = base64.b64encode(secret).decode()
    md5 = base64.b64encode(hashlib.md5(secret).digest()).decode()
    sse = ("--sse-customer-algorithm", "AES256", "--sse-customer-key", b64,
           "--sse-customer-key-md5", md5)  # fmt: skip
    ctx.aws("s3api", "put-object", "--bucket", ctx.bucket, "--key", key, "--body", str(src), *sse)
    out = ctx.tmp / "out"
    ctx.aws("s3api", "get-object", "--bucket", ctx.bucket, "--key", key, *sse, str(out))
    expect_eq(out.read_bytes(), b"sse-c via cli", "decrypted body")


@scenario("encryption", "rclone", quick=True)
def server_side_encryption_flag(ctx: Context) -> None:
    src = ctx.file("r.txt", b"rclone sse")
    ctx.rclone("copyto", "--s3-server-side-encryption", "AES256", str(src),
               ctx.remote(ctx.key("r.txt")))  # fmt: skip
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("r.txt"))
    expect_eq(head.get("ServerSideEncryption"), "AES256", "SSE header")


@scenario("encryption", "s3cmd", quick=True)
def put_server_side_encryption(ctx: Context) -> None:
    src = ctx.file("s.txt", b"s3cmd sse")
    ctx.s3cmd("put", "--server-side-encryption", str(src), ctx.s3url(ctx.key("s.txt")))
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("s.txt"))
    expect_eq(head.get("ServerSideEncryption"), "AES256", "SSE header")


@scenario("encryption", "http-sigv4", quick=True)
def presigned_sse_c_get(ctx: Context) -> None:
    secret = os.urandom(32)
    key = ctx.key("p")
    args: dict[str, Any] = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": secret}
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"browser sse-c", **args)
    url = ctx.presign("get_object", key, **args)
    headers = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(secret).decode(),
        "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(
            hashlib.md5(secret).digest()
        ).decode(),
    }
    status, _, body = ctx.http("GET", url, headers=headers)
    expect_eq((status, body), (200, b"browser sse-c"), "presigned SSE-C GET")
