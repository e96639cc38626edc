"""Ranges: GetObject with Range (RFC 9110 14.1.2): first-last, suffix, open-ended, 416."""

from __future__ import annotations

from conformance.context import Context, expect, expect_eq, expect_error
from conformance.registry import scenario, unsupported

unsupported("ranges", "aws-s3", "`aws s3 cp` has no byte-range option")
unsupported("ranges", "s3cmd", "s3cmd has no byte-range download")
unsupported("ranges", "http", "ranges over presigned URLs are covered by http-sigv4/v2")

SIZE = 10_000
# (Range header, expected [start, end) of the object)
CASES = (("bytes=0-9", 0, 10), ("bytes=100-199", 100, 200), ("bytes=-50", SIZE - 50, SIZE),
         ("bytes=9990-", 9990, SIZE), ("bytes=9000-20000", 9000, SIZE))  # fmt: skip


def _object(ctx: Context, *, text: bool = False) -> tuple[str, bytes]:
    key, data = ctx.key("ranged.bin"), ctx.data(SIZE, "ranges")
    if text:  # for clients whose output we read as text
        data = data.hex().encode()[:SIZE]
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=data)
    return key, data


@scenario("ranges", "boto3", quick=True)
def get_object_range(ctx: Context) -> None:
    s3 = ctx.boto3()
    key, data = _object(ctx)
    for header, start, end in CASES:
        got = s3.get_object(Bucket=ctx.bucket, Key=key, Range=header)
        expect_eq(got["Body"].read(), data[start:end], f"body for {header}")
        expect_eq(got["ContentRange"], f"bytes {start}-{end - 1}/{SIZE}", f"Content-Range {header}")
        expect_eq(got["ResponseMetadata"]["HTTPStatusCode"], 206, f"status for {header}")
    expect_error(
        lambda: s3.get_object(Bucket=ctx.bucket, Key=key, Range="bytes=20000-"), "InvalidRange"
    )


@scenario("ranges", "boto3")
def head_object_range_and_part(ctx: Context) -> None:
    s3 = ctx.boto3()
    key, _ = _object(ctx)
    head = s3.head_object(Bucket=ctx.bucket, Key=key, Range="bytes=0-99")
    expect_eq(head["ContentLength"], 100, "HEAD with Range: Content-Length")
    part = s3.get_object(Bucket=ctx.bucket, Key=key, PartNumber=1)
    expect_eq(part["ContentLength"], SIZE, "GET partNumber=1 of a single PUT")


@scenario("ranges", "aws-s3api", quick=True)
def get_object_range_cli(ctx: Context) -> None:
    key, data = _object(ctx)
    out = ctx.tmp / "part.bin"
    got = ctx.aws_json(
        "s3api", "get-object", "--bucket", ctx.bucket, "--key", key, "--range", "bytes=100-199",
        str(out),
    )  # fmt: skip
    expect_eq(out.read_bytes(), data[100:200], "ranged body")
    expect_eq(got.get("ContentRange"), f"bytes 100-199/{SIZE}", "ContentRange")


@scenario("ranges", "s3fs", quick=True)
def cat_file_and_seek(ctx: Context) -> None:
    fs = ctx.s3fs()
    key, data = _object(ctx)
    path = f"{ctx.bucket}/{key}"
    expect_eq(fs.cat_file(path, start=100, end=200), data[100:200], "cat_file(start, end)")
    expect_eq(fs.cat_file(path, start=-50), data[-50:], "cat_file(start=-50)")
    with fs.open(path, "rb", block_size=1024, cache_type="none") as fh:
        fh.seek(5000)
        expect_eq(fh.read(300), data[5000:5300], "seek + read")


@scenario("ranges", "rclone", quick=True)
def cat_offset_count(ctx: Context) -> None:
    key, data = _object(ctx, text=True)
    out = ctx.rclone("cat", "--offset", "100", "--count", "100", ctx.remote(key)).stdout
    expect_eq(out.encode(), data[100:200], "rclone cat --offset --count")


def _http_ranges(ctx: Context, signature: str) -> None:
    key, data = _object(ctx)
    url = ctx.presign("get_object", key, signature=signature)
    for header, start, end in CASES:
        status, headers, body = ctx.http("GET", url, headers={"Range": header})
        expect_eq((status, body), (206, data[start:end]), f"GET {header}")
        expect_eq(headers.get("content-range"), f"bytes {start}-{end - 1}/{SIZE}", header)
    status, headers, _ = ctx.http("GET", url, headers={"Range": "bytes=20000-"})
    expect_eq(status, 416, "unsatisfiable range")
    expect(headers.get("content-range") in (None, f"bytes */{SIZE}"), "416 Content-Range")
    status, _, body = ctx.http("GET", url, headers={"Range": "bytes=5-1"})
    expect_eq((status, body), (200, data), "an invalid range is ignored (RFC 9110 14.2)")


@scenario("ranges", "http-sigv4", quick=True)
def presigned_ranges_v4(ctx: Context) -> None:
    _http_ranges(ctx, "s3v4")


@scenario("ranges", "http-sigv2", quick=True)
def presigned_ranges_v2(ctx: Context) -> None:
    _http_ranges(ctx, "s3")
