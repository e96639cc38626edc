"""Checksums: Content-MD5, x-amz-checksum-{crc32,crc32c,sha1,sha256} (header and aws-chunked
trailer), GetObject ChecksumMode, bad digests refused."""

from __future__ import annotations

import base64
import hashlib

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("checksums", "s3fs", "s3fs has no checksum options")
unsupported("checksums", "http-sigv2", "SigV2 predates x-amz-checksum-*; Content-MD5 in v4")
unsupported("checksums", "http", "covered through presigned URLs")

ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256")


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@scenario("checksums", "boto3", quick=True)
def put_with_each_algorithm(ctx: Context) -> None:
    s3 = ctx.boto3()
    data = ctx.data(100_000)
    for algorithm in ALGORITHMS:
        key = ctx.key(algorithm)
        # boto3 sends these as aws-chunked bodies with a trailing checksum.
        put = s3.put_object(Bucket=ctx.bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
        sent = put.get(f"Checksum{algorithm}")
        expect(sent, f"no Checksum{algorithm} in the PutObject answer")
        got = s3.get_object(Bucket=ctx.bucket, Key=key, ChecksumMode="ENABLED")
        expect_eq(got.get(f"Checksum{algorithm}"), sent, f"{algorithm} on GET")
        expect_eq(got["Body"].read(), data, "body")  # botocore validates it as it reads


@scenario("checksums", "boto3", quick=True)
def bad_digests_refused(ctx: Context) -> None:
    s3 = ctx.boto3(request_checksum_calculation="when_required")
    key = ctx.key("bad")
    wrong_md5 = _b64(hashlib.md5(b"other").digest())
    expect_error(lambda: s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"data",
                                       ContentMD5=wrong_md5), "BadDigest")  # fmt: skip
    wrong_sha = _b64(hashlib.sha256(b"other").digest())
    expect_error(
        lambda: s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"data", ChecksumSHA256=wrong_sha),
        "BadDigest",
        "InvalidRequest",
    )
    expect_error(lambda: s3.head_object(Bucket=ctx.bucket, Key=key), 404)
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"data",
                  ContentMD5=_b64(hashlib.md5(b"data").digest()))  # fmt: skip


@scenario("checksums", "boto3")
def multipart_checksums(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("mp")
    uid = s3.create_multipart_upload(Bucket=ctx.bucket, Key=key, ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    parts = [ctx.data(5 * 1024 * 1024, "c1"), ctx.data(100, "c2")]
    done = []
    for n, body in enumerate(parts, 1):
        out = s3.upload_part(Bucket=ctx.bucket, Key=key, UploadId=uid, PartNumber=n, Body=body,
                             ChecksumAlgorithm="SHA256")  # fmt: skip
        expect_eq(out.get("ChecksumSHA256"), _b64(hashlib.sha256(body).digest()), f"part {n}")
        done.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]})
    result = s3.complete_multipart_upload(Bucket=ctx.bucket, Key=key, UploadId=uid,
                                          MultipartUpload={"Parts": done})  # fmt: skip
    composite = _b64(hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest())
    expect_eq(result.get("ChecksumSHA256"), f"{composite}-2", "composite checksum")


@scenario("checksums", "aws-s3api", quick=True)
def put_object_checksum_algorithm(ctx: Context) -> None:
    data = ctx.data(20_000)
    src = ctx.file("c.bin", data)
    key = ctx.key("cli")
    put = ctx.aws_json("s3api", "put-object", "--bucket", ctx.bucket, "--key", key,
                       "--body", str(src), "--checksum-algorithm", "SHA256")  # fmt: skip
    expect_eq(put.get("ChecksumSHA256"), _b64(hashlib.sha256(data).digest()), "SHA256")
    head = ctx.aws_json("s3api", "head-object", "--bucket", ctx.bucket, "--key", key,
                        "--checksum-mode", "ENABLED")  # fmt: skip
    expect_eq(head.get("ChecksumSHA256"), put.get("ChecksumSHA256"), "HEAD checksum")


@scenario("checksums", "aws-s3", quick=True)
def cp_checksum_algorithm(ctx: Context) -> None:
    data = ctx.data(20_000)
    src = ctx.file("c.bin", data)
    ctx.aws("s3", "cp", "--checksum-algorithm", "CRC32", str(src), ctx.s3url(ctx.key("c")))
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("c"), ChecksumMode="ENABLED")
    expect(head.get("ChecksumCRC32"), "no CRC32 stored")


@scenario("checksums", "rclone", quick=True)
def md5_check(ctx: Context) -> None:
    src = ctx.tmp / "src"
    src.mkdir()
    (src / "x.bin").write_bytes(ctx.data(30_000))
    ctx.rclone("copy", str(src), ctx.remote(ctx.prefix))
    out = ctx.rclone("md5sum", ctx.remote(ctx.prefix)).stdout
    expect(hashlib.md5(ctx.data(30_000)).hexdigest() in out, f"rclone md5sum:\n{out}")
    ctx.rclone("check", str(src), ctx.remote(ctx.prefix))


@scenario("checksums", "s3cmd", quick=True)
def put_sends_content_md5(ctx: Context) -> None:
    data = ctx.data(30_000)
    src = ctx.file("x.bin", data)
    ctx.s3cmd("put", str(src), ctx.s3url(ctx.key("x.bin")))
    info = ctx.s3cmd("info", ctx.s3url(ctx.key("x.bin"))).stdout
    expect(hashlib.md5(data).hexdigest() in info, f"MD5 not in s3cmd info:\n{info}")


@scenario("checksums", "http-sigv4", quick=True)
def presigned_put_content_md5(ctx: Context) -> None:
    key = ctx.key("p")
    md5 = _b64(hashlib.md5(b"payload").digest())
    url = ctx.presign("put_object", key, ContentMD5=md5)
    status, _, _ = ctx.http("PUT", url, b"tampered", {"Content-MD5": md5})
    expect(status in (400, 403), f"a body not matching Content-MD5 got {status}")
    status, _, body = ctx.http("PUT", url, b"payload", {"Content-MD5": md5})
    expect_eq(status, 200, f"PUT with matching Content-MD5: {body[:200]!r}")
