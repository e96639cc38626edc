"""Multipart uploads: Create/UploadPart/Complete/Abort/ListParts/ListMultipartUploads,
UploadPartCopy, GetObject partNumber, and each client's own multipart upload path."""

from __future__ import annotations

import hashlib
import json

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("multipart", "http-sigv2", "covered through http-sigv4")
unsupported("multipart", "http", "anonymous writes are covered under policy")

MIB = 1024 * 1024
PART = 5 * MIB  # S3's minimum for every part but the last


def multipart_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f"{digest}-{len(parts)}"


def _big(ctx: Context, tail: int = 1024) -> bytes:
    return ctx.data(PART + tail, "multipart")


@scenario("multipart", "boto3", quick=True)
def create_upload_list_complete(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("mp.bin")
    parts = [ctx.data(PART, "p1"), ctx.data(1234, "p2")]
    up = s3.create_multipart_upload(Bucket=ctx.bucket, Key=key, ContentType="text/x-mp")
    uid = up["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=ctx.bucket, Prefix=ctx.prefix).get("Uploads", [])
    expect_eq([u["UploadId"] for u in listed], [uid], "ListMultipartUploads")
    etags = [
        s3.upload_part(Bucket=ctx.bucket, Key=key, UploadId=uid, PartNumber=n, Body=body)["ETag"]
        for n, body in enumerate(parts, 1)
    ]
    lp = s3.list_parts(Bucket=ctx.bucket, Key=key, UploadId=uid)
    expect_eq([(p["PartNumber"], p["Size"]) for p in lp["Parts"]], [(1, PART), (2, 1234)], "parts")
    done = s3.complete_multipart_upload(
        Bucket=ctx.bucket, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )  # fmt: skip
    expect_eq(done["ETag"].strip('"'), multipart_etag(parts), "multipart ETag")
    got = s3.get_object(Bucket=ctx.bucket, Key=key)
    expect_eq(got["Body"].read(), b"".join(parts), "assembled object")
    expect_eq(got["ContentType"], "text/x-mp", "Content-Type from Create")
    part2 = s3.get_object(Bucket=ctx.bucket, Key=key, PartNumber=2)
    expect_eq(part2["Body"].read(), parts[1], "GET partNumber=2")
    expect_eq(part2.get("PartsCount"), 2, "x-amz-mp-parts-count")


@scenario("multipart", "boto3")
def abort_and_errors(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("aborted")
    uid = s3.create_multipart_upload(Bucket=ctx.bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=ctx.bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"small")[
        "ETag"
    ]
    s3.upload_part(Bucket=ctx.bucket, Key=key, UploadId=uid, PartNumber=2, Body=b"tail")
    # Part 1 is under 5 MiB and not the last: EntityTooSmall.
    parts = s3.list_parts(Bucket=ctx.bucket, Key=key, UploadId=uid)["Parts"]
    expect_error(
        lambda: s3.complete_multipart_upload(
            Bucket=ctx.bucket, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                       for p in parts]},
        ),
        "EntityTooSmall",
    )  # fmt: skip
    expect_error(
        lambda: s3.complete_multipart_upload(
            Bucket=ctx.bucket, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]},
        ),
        "InvalidPart",
    )  # fmt: skip
    _ = etag
    s3.abort_multipart_upload(Bucket=ctx.bucket, Key=key, UploadId=uid)
    expect_error(lambda: s3.list_parts(Bucket=ctx.bucket, Key=key, UploadId=uid), "NoSuchUpload")
    expect_error(lambda: s3.head_object(Bucket=ctx.bucket, Key=key), 404)


@scenario("multipart", "boto3")
def upload_part_copy(ctx: Context) -> None:
    s3 = ctx.boto3()
    src = ctx.key("source")
    data = _big(ctx, 5000)
    s3.put_object(Bucket=ctx.bucket, Key=src, Body=data)
    key = ctx.key("assembled")
    uid = s3.create_multipart_upload(Bucket=ctx.bucket, Key=key)["UploadId"]
    source = {"Bucket": ctx.bucket, "Key": src}
    p1 = s3.upload_part_copy(Bucket=ctx.bucket, Key=key, UploadId=uid, PartNumber=1,
                             CopySource=source, CopySourceRange=f"bytes=0-{PART - 1}")  # fmt: skip
    p2 = s3.upload_part_copy(
        Bucket=ctx.bucket,
        Key=key,
        UploadId=uid,
        PartNumber=2,
        CopySource=source,
        CopySourceRange=f"bytes={PART}-{len(data) - 1}",
    )
    s3.complete_multipart_upload(
        Bucket=ctx.bucket, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
        ]},
    )  # fmt: skip
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key)["Body"].read(), data, "copied parts")


@scenario("multipart", "boto3")
def transfer_manager(ctx: Context) -> None:
    from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

    s3 = ctx.boto3()
    data = _big(ctx, 3 * MIB)
    src = ctx.file("big.bin", data)
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
    s3.upload_file(str(src), ctx.bucket, ctx.key("tm.bin"), Config=config)
    head = s3.head_object(Bucket=ctx.bucket, Key=ctx.key("tm.bin"))
    expect(head["ETag"].strip('"').endswith("-2"), f"not a 2-part upload: {head['ETag']}")
    out = ctx.tmp / "down.bin"
    s3.download_file(ctx.bucket, ctx.key("tm.bin"), str(out), Config=config)
    expect_eq(out.read_bytes(), data, "download_file (ranged, concurrent)")


@scenario("multipart", "aws-s3", quick=True)
def cp_multipart(ctx: Context) -> None:
    data = _big(ctx)
    src = ctx.file("big.bin", data)
    conf = {"multipart_threshold": "5MB", "multipart_chunksize": "5MB"}
    url = ctx.s3url(ctx.key("cli.bin"))
    ctx.aws("s3", "cp", str(src), url, s3=conf)
    etag = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("cli.bin"))["ETag"].strip('"')
    expect_eq(etag, multipart_etag([data[:PART], data[PART:]]), "multipart ETag")
    out = ctx.tmp / "down.bin"
    ctx.aws("s3", "cp", url, str(out), s3=conf)
    expect_eq(out.read_bytes(), data, "download")


@scenario("multipart", "aws-s3api", quick=True)
def low_level_cli(ctx: Context) -> None:
    data = _big(ctx)
    key = ctx.key("api.bin")
    base = ("--bucket", ctx.bucket, "--key", key)
    uid = ctx.aws_json("s3api", "create-multipart-upload", *base)["UploadId"]
    etags = []
    for n, chunk in enumerate((data[:PART], data[PART:]), 1):
        body = ctx.file(f"part{n}", chunk)
        out = ctx.aws_json("s3api", "upload-part", *base, "--upload-id", uid,
                           "--part-number", str(n), "--body", str(body))  # fmt: skip
        etags.append({"PartNumber": n, "ETag": out["ETag"]})
    parts = ctx.aws_json("s3api", "list-parts", *base, "--upload-id", uid)["Parts"]
    expect_eq(len(parts), 2, "list-parts")
    ctx.aws("s3api", "complete-multipart-upload", *base, "--upload-id", uid,
            "--multipart-upload", json.dumps({"Parts": etags}))  # fmt: skip
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=key)["Body"].read()
    expect_eq(got, data, "assembled object")


@scenario("multipart", "s3fs", quick=True)
def open_write_blocks(ctx: Context) -> None:
    fs = ctx.s3fs()
    data = _big(ctx, 2 * MIB)
    path = f"{ctx.bucket}/{ctx.key('fs.bin')}"
    with fs.open(path, "wb", block_size=PART) as fh:
        for i in range(0, len(data), MIB):
            fh.write(data[i : i + MIB])
    etag = fs.info(path)["ETag"].strip('"')
    expect(etag.endswith("-2"), f"not a 2-part upload: {etag}")
    expect_eq(fs.cat(path), data, "read back")


@scenario("multipart", "rclone", quick=True)
def chunked_upload(ctx: Context) -> None:
    data = _big(ctx)
    src = ctx.file("big.bin", data)
    remote = ctx.remote(ctx.key("rc.bin"))
    ctx.rclone("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", str(src), remote)
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("rc.bin"))
    expect(head["ETag"].strip('"').endswith("-2"), f"not a 2-part upload: {head['ETag']}")
    ctx.rclone("check", "--download", str(ctx.tmp), ctx.remote(ctx.prefix),
               "--include", "rc.bin", check=False)  # fmt: skip
    out = ctx.tmp / "down.bin"
    ctx.rclone("copyto", remote, str(out))
    expect_eq(out.read_bytes(), data, "download")


@scenario("multipart", "s3cmd", quick=True)
def put_multipart_chunks(ctx: Context) -> None:
    data = _big(ctx)
    src = ctx.file("big.bin", data)
    url = ctx.s3url(ctx.key("s3cmd.bin"))
    ctx.s3cmd("put", "--multipart-chunk-size-mb=5", str(src), url)
    head = ctx.admin.head_object(Bucket=ctx.bucket, Key=ctx.key("s3cmd.bin"))
    expect(head["ETag"].strip('"').endswith("-2"), f"not a 2-part upload: {head['ETag']}")
    out = ctx.tmp / "down.bin"
    ctx.s3cmd("get", "--force", url, str(out))
    expect_eq(out.read_bytes(), data, "download")


@scenario("multipart", "http-sigv4", quick=True)
def presigned_parts(ctx: Context) -> None:
    """The browser upload pattern: the server presigns each UploadPart for the client."""
    key = ctx.key("browser.bin")
    uid = ctx.admin.create_multipart_upload(Bucket=ctx.bucket, Key=key)["UploadId"]
    data = _big(ctx)
    parts = []
    for n, chunk in enumerate((data[:PART], data[PART:]), 1):
        url = ctx.presign("upload_part", key, UploadId=uid, PartNumber=n)
        status, headers, body = ctx.http("PUT", url, chunk)
        expect_eq(status, 200, f"presigned UploadPart {n}: {body[:200]!r}")
        parts.append({"PartNumber": n, "ETag": headers["etag"]})
    ctx.admin.complete_multipart_upload(
        Bucket=ctx.bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts}
    )
    status, _, body = ctx.http("GET", ctx.presign("get_object", key))
    expect_eq((status, body == data), (200, True), "presigned GET of the assembled object")
