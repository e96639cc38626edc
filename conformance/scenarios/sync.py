"""Sync: the clients' directory synchronisation (listing + size/mtime/ETag comparison)."""

from __future__ import annotations

from conformance.clients import read_tree, write_tree
from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario, unsupported

for _client in ("aws-s3api", "boto3", "http-sigv4", "http-sigv2", "http"):
    unsupported("sync", _client, "no sync command")

TREE = {"top.txt": b"top", "a/1.bin": b"1" * 3000, "a/b/2.bin": b"2" * 10, "c d/3.txt": b"3"}


def _trees(ctx: Context) -> tuple[dict[str, bytes], dict[str, bytes]]:
    src = ctx.tmp / "src"
    write_tree(src, TREE)
    return TREE, {"top.txt": b"changed top", "new.txt": b"new"}


@scenario("sync", "aws-s3", quick=True)
def sync_up_down_delete(ctx: Context) -> None:
    tree, change = _trees(ctx)
    url = ctx.s3url(ctx.prefix)
    ctx.aws("s3", "sync", str(ctx.tmp / "src"), url)
    ctx.aws("s3", "sync", url, str(ctx.tmp / "down"))
    expect_eq(read_tree(ctx.tmp / "down"), tree, "tree after sync down")
    write_tree(ctx.tmp / "src", change)
    (ctx.tmp / "src" / "a" / "b" / "2.bin").unlink()
    out = ctx.aws("s3", "sync", "--delete", str(ctx.tmp / "src"), url).stdout
    expect("delete:" in out, f"no delete in sync --delete output:\n{out}")
    ctx.aws("s3", "sync", "--delete", url, str(ctx.tmp / "down"))
    expect_eq(read_tree(ctx.tmp / "down"), read_tree(ctx.tmp / "src"), "second sync")


@scenario("sync", "s3fs", quick=True)
def put_get_recursive(ctx: Context) -> None:
    tree, _ = _trees(ctx)
    fs = ctx.s3fs()
    root = f"{ctx.bucket}/{ctx.prefix}up"
    fs.put(str(ctx.tmp / "src") + "/", root, recursive=True)
    fs.get(root + "/", str(ctx.tmp / "down") + "/", recursive=True)
    expect_eq(read_tree(ctx.tmp / "down"), tree, "tree after put/get recursive")


@scenario("sync", "rclone", quick=True)
def sync_and_check(ctx: Context) -> None:
    tree, change = _trees(ctx)
    remote = ctx.remote(ctx.prefix)
    ctx.rclone("sync", str(ctx.tmp / "src"), remote)
    ctx.rclone("check", str(ctx.tmp / "src"), remote)  # sizes and MD5 (ETag) must agree
    write_tree(ctx.tmp / "src", change)
    ctx.rclone("sync", str(ctx.tmp / "src"), remote)
    ctx.rclone("sync", remote, str(ctx.tmp / "down"))
    expect_eq(read_tree(ctx.tmp / "down"), read_tree(ctx.tmp / "src"), "tree after sync")


@scenario("sync", "s3cmd", quick=True)
def sync_up_down(ctx: Context) -> None:
    tree, change = _trees(ctx)
    url = ctx.s3url(ctx.prefix)
    ctx.s3cmd("sync", str(ctx.tmp / "src") + "/", url)
    ctx.s3cmd("sync", url, str(ctx.tmp / "down") + "/")
    expect_eq(read_tree(ctx.tmp / "down"), tree, "tree after s3cmd sync down")
    write_tree(ctx.tmp / "src", change)
    ctx.s3cmd("sync", "--delete-removed", str(ctx.tmp / "src") + "/", url)
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=ctx.prefix + "top.txt")["Body"].read()
    expect_eq(got, b"changed top", "changed file re-uploaded")
