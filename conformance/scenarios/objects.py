"""Objects: PutObject, GetObject, HeadObject, DeleteObject, with awkward keys and sizes."""

from __future__ import annotations

from functools import partial

from conformance.context import Context, expect, expect_eq, expect_error, md5_hex
from conformance.registry import scenario, unsupported

# Keys a real client sends: spaces, unicode, reserved URL characters, deep paths.
KEYS = ("plain.txt", "dir/sub dir/with space.bin", "unicodé/ключ/日本.txt", "a+b=c&d;e,f@g$h.dat")

unsupported("objects", "http", "anonymous writes are covered under policy")


@scenario("objects", "boto3", quick=True)
def put_get_head_delete(ctx: Context) -> None:
    s3 = ctx.boto3()
    for i, name in enumerate(KEYS):
        key, data = ctx.key(name), ctx.data(1000 + i * 777, name)
        put = s3.put_object(Bucket=ctx.bucket, Key=key, Body=data)
        expect_eq(put["ETag"].strip('"'), md5_hex(data), f"ETag of {name}")
        expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key)["Body"].read(), data, f"GET {name}")
        head = s3.head_object(Bucket=ctx.bucket, Key=key)
        expect_eq(head["ContentLength"], len(data), f"HEAD length of {name}")
        s3.delete_object(Bucket=ctx.bucket, Key=key)
        expect_error(partial(s3.head_object, Bucket=ctx.bucket, Key=key), 404, "404")


@scenario("objects", "boto3")
def empty_and_missing(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("empty")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"")
    got = s3.get_object(Bucket=ctx.bucket, Key=key)
    expect_eq(got["Body"].read(), b"", "empty body")
    expect_eq(got["ETag"].strip('"'), md5_hex(b""), "ETag of an empty object")
    expect_error(lambda: s3.get_object(Bucket=ctx.bucket, Key=ctx.key("nope")), "NoSuchKey")
    # Deleting a missing key succeeds (204), as S3 does.
    s3.delete_object(Bucket=ctx.bucket, Key=ctx.key("nope"))


@scenario("objects", "boto3")
def overwrite(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("over")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"first")
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=b"second version")
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key)["Body"].read(), b"second version", "GET")


@scenario("objects", "boto3")
def sigv2_put_get(ctx: Context) -> None:
    s3 = ctx.boto3(signature_version="s3")
    key, data = ctx.key("v2 obj+x.bin"), ctx.data(3000)
    s3.put_object(Bucket=ctx.bucket, Key=key, Body=data)
    expect_eq(s3.get_object(Bucket=ctx.bucket, Key=key)["Body"].read(), data, "GET (SigV2)")


@scenario("objects", "aws-s3", quick=True)
def cp_up_down_rm(ctx: Context) -> None:
    data = ctx.data(70_000)
    src = ctx.file("in.bin", data)
    for name in KEYS[:1] if ctx.quick else KEYS[:3]:
        url = ctx.s3url(ctx.key(name))
        ctx.aws("s3", "cp", str(src), url)
        out = ctx.tmp / "out.bin"
        ctx.aws("s3", "cp", url, str(out))
        expect_eq(out.read_bytes(), data, f"downloaded {name}")
        ctx.aws("s3", "rm", url)
    listing = ctx.aws("s3", "ls", ctx.s3url(ctx.prefix), check=False).stdout
    expect(listing.strip() == "", f"objects left after rm: {listing!r}")


@scenario("objects", "aws-s3")
def cp_stdin_stdout(ctx: Context) -> None:
    data = b"streamed through a pipe\n" * 100
    url = ctx.s3url(ctx.key("pipe.txt"))
    ctx.aws("s3", "cp", "-", url, input=data.decode())
    out = ctx.aws("s3", "cp", url, "-").stdout
    expect_eq(out.encode(), data, "stdout download")


@scenario("objects", "aws-s3api", quick=True)
def put_get_head_delete_object(ctx: Context) -> None:
    data = ctx.data(12345)
    src = ctx.file("in.bin", data)
    key = ctx.key(KEYS[2])
    put = ctx.aws_json(
        "s3api", "put-object", "--bucket", ctx.bucket, "--key", key, "--body", str(src)
    )
    expect_eq(put["ETag"].strip('"'), md5_hex(data), "ETag")
    out = ctx.tmp / "out.bin"
    got = ctx.aws_json("s3api", "get-object", "--bucket", ctx.bucket, "--key", key, str(out))
    expect_eq(out.read_bytes(), data, "get-object body")
    expect_eq(got["ContentLength"], len(data), "get-object ContentLength")
    head = ctx.aws_json("s3api", "head-object", "--bucket", ctx.bucket, "--key", key)
    expect_eq(head["ContentLength"], len(data), "head-object ContentLength")
    ctx.aws("s3api", "delete-object", "--bucket", ctx.bucket, "--key", key)
    failed = ctx.aws(
        "s3api", "get-object", "--bucket", ctx.bucket, "--key", key, str(out), expect_failure=True
    )
    expect("NoSuchKey" in failed.stderr, f"after delete: {failed.stderr.strip()}")


@scenario("objects", "s3fs", quick=True)
def pipe_cat_info_rm(ctx: Context) -> None:
    fs = ctx.s3fs()
    for name in KEYS:
        path = f"{ctx.bucket}/{ctx.key(name)}"
        data = ctx.data(5000, name)
        fs.pipe(path, data)
        expect_eq(fs.cat(path), data, f"cat {name}")
        expect_eq(fs.info(path)["size"], len(data), f"info size of {name}")
        with fs.open(path, "rb") as fh:
            expect_eq(fh.read(), data, f"open/read {name}")
        fs.rm(path)
        expect(not fs.exists(path), f"{name} exists after rm")


@scenario("objects", "rclone", quick=True)
def copyto_cat_deletefile(ctx: Context) -> None:
    data = ctx.data(40_000)
    src = ctx.file("in.bin", data)
    for name in KEYS:
        remote = ctx.remote(ctx.key(name))
        ctx.rclone("copyto", str(src), remote)
        out = ctx.tmp / "out.bin"
        ctx.rclone("copyto", remote, str(out))
        expect_eq(out.read_bytes(), data, f"round trip of {name}")
        ctx.rclone("deletefile", remote)
    left = ctx.rclone("lsf", ctx.remote(ctx.prefix), check=False).stdout
    expect(left.strip() == "", f"objects left: {left!r}")


@scenario("objects", "s3cmd", quick=True)
def put_get_del_v4(ctx: Context) -> None:
    _s3cmd_round_trip(ctx, v2=False)


@scenario("objects", "s3cmd")
def put_get_del_v2(ctx: Context) -> None:
    _s3cmd_round_trip(ctx, v2=True)


def _s3cmd_round_trip(ctx: Context, *, v2: bool) -> None:
    data = ctx.data(30_000)
    src = ctx.file("in.bin", data)
    for name in KEYS[1:2] if ctx.quick else KEYS:
        url = ctx.s3url(ctx.key(name))
        ctx.s3cmd("put", str(src), url, v2=v2)
        out = ctx.tmp / "out.bin"
        ctx.s3cmd("get", "--force", url, str(out), v2=v2)
        expect_eq(out.read_bytes(), data, f"round trip of {name}")
        ctx.s3cmd("del", url, v2=v2)


def _presigned_round_trip(ctx: Context, signature: str) -> None:
    for name in KEYS:
        key, data = ctx.key(name), ctx.data(9000, name)
        put = ctx.presign("put_object", key, signature=signature)
        status, headers, body = ctx.http("PUT", put, data)
        expect_eq(status, 200, f"presigned PUT {name}: {body[:300]!r}")
        expect_eq(headers.get("etag", "").strip('"'), md5_hex(data), f"ETag of {name}")
        status, _, body = ctx.http("GET", ctx.presign("get_object", key, signature=signature))
        expect_eq((status, body), (200, data), f"presigned GET {name}")
        status, headers, body = ctx.http(
            "HEAD", ctx.presign("head_object", key, signature=signature)
        )
        expect_eq(status, 200, f"presigned HEAD {name}")
        expect_eq(headers.get("content-length"), str(len(data)), "HEAD Content-Length")
        status, _, _ = ctx.http("DELETE", ctx.presign("delete_object", key, signature=signature))
        expect_eq(status, 204, f"presigned DELETE {name}")


@scenario("objects", "http-sigv4", quick=True)
def presigned_put_get_head_delete_v4(ctx: Context) -> None:
    _presigned_round_trip(ctx, "s3v4")


@scenario("objects", "http-sigv2", quick=True)
def presigned_put_get_head_delete_v2(ctx: Context) -> None:
    _presigned_round_trip(ctx, "s3")
