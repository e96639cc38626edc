"""Listing: ListObjectsV2 and ListObjects (V1) with prefix, delimiter, pagination,
start-after and encoding-type=url."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario, unsupported

unsupported("listing", "http-sigv2", "covered through http-sigv4")
unsupported("listing", "http", "anonymous listing is covered under policy")

# A small tree: two "directories", nested levels, awkward names.
TREE = ("a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d/4.txt", "e f/ü.txt", "z+z.txt")


def _tree(ctx: Context) -> str:
    for name in TREE:
        ctx.admin.put_object(Bucket=ctx.bucket, Key=ctx.key(name), Body=name.encode())
    return ctx.prefix


def _keys(page: dict[str, Any], prefix: str) -> list[str]:
    return [item["Key"][len(prefix) :] for item in page.get("Contents", [])]


def _prefixes(page: dict[str, Any], prefix: str) -> list[str]:
    return [p["Prefix"][len(prefix) :] for p in page.get("CommonPrefixes", [])]


@scenario("listing", "boto3", quick=True)
def list_objects_v2_delimiter_and_pages(ctx: Context) -> None:
    s3 = ctx.boto3()
    prefix = _tree(ctx)
    flat = s3.list_objects_v2(Bucket=ctx.bucket, Prefix=prefix)
    expect_eq(_keys(flat, prefix), sorted(TREE), "flat listing")
    expect_eq(flat["KeyCount"], len(TREE), "KeyCount")
    tree = s3.list_objects_v2(Bucket=ctx.bucket, Prefix=prefix, Delimiter="/")
    expect_eq(_keys(tree, prefix), ["a.txt", "z+z.txt"], "keys with delimiter")
    expect_eq(_prefixes(tree, prefix), ["b/", "d/", "e f/"], "CommonPrefixes")
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=ctx.bucket, Prefix=prefix, PaginationConfig={"PageSize": 2}
        )
    )
    expect_eq(len(pages), 4, "pages of 2")
    expect_eq([k for p in pages for k in _keys(p, prefix)], sorted(TREE), "paginated keys")
    after = s3.list_objects_v2(Bucket=ctx.bucket, Prefix=prefix, StartAfter=prefix + "b/2.txt")
    expect_eq(_keys(after, prefix), ["b/c/3.txt", "d/4.txt", "e f/ü.txt", "z+z.txt"], "StartAfter")


@scenario("listing", "boto3")
def list_objects_v1_marker(ctx: Context) -> None:
    s3 = ctx.boto3()
    prefix = _tree(ctx)
    page = s3.list_objects(Bucket=ctx.bucket, Prefix=prefix, MaxKeys=3)
    expect(page["IsTruncated"], "first page of 3 is truncated")
    expect_eq(_keys(page, prefix), sorted(TREE)[:3], "first page")
    rest = s3.list_objects(Bucket=ctx.bucket, Prefix=prefix, Marker=page["Contents"][-1]["Key"])
    expect_eq(_keys(rest, prefix), sorted(TREE)[3:], "after Marker")
    tree = s3.list_objects(Bucket=ctx.bucket, Prefix=prefix + "b/", Delimiter="/")
    expect_eq(_prefixes(tree, prefix), ["b/c/"], "V1 CommonPrefixes")


@scenario("listing", "boto3")
def encoding_type_url_and_owner(ctx: Context) -> None:
    s3 = ctx.boto3()
    key = ctx.key("sp ace/x\u00e9.txt")
    ctx.admin.put_object(Bucket=ctx.bucket, Key=key, Body=b"x")
    # boto3 asks for EncodingType=url itself and decodes; the key must round-trip.
    page = s3.list_objects_v2(Bucket=ctx.bucket, Prefix=ctx.prefix, FetchOwner=True)
    expect_eq([i["Key"] for i in page["Contents"]], [key], "decoded key")
    expect("Owner" in page["Contents"][0], "FetchOwner=True returned no Owner")
    item = page["Contents"][0]
    expect(item["ETag"].startswith('"') and item["Size"] == 1, f"entry fields {item}")


@scenario("listing", "aws-s3", quick=True)
def ls_recursive(ctx: Context) -> None:
    prefix = _tree(ctx)
    out = ctx.aws("s3", "ls", "--recursive", ctx.s3url(prefix)).stdout
    keys = sorted(line.split(None, 3)[3][len(prefix) :] for line in out.splitlines() if line)
    expect_eq(keys, sorted(TREE), "aws s3 ls --recursive")
    out = ctx.aws("s3", "ls", ctx.s3url(prefix)).stdout
    expect("PRE b/" in out and "a.txt" in out, f"aws s3 ls (delimited):\n{out}")


@scenario("listing", "aws-s3api", quick=True)
def list_objects_v2_cli(ctx: Context) -> None:
    prefix = _tree(ctx)
    out = ctx.aws_json(
        "s3api", "list-objects-v2", "--bucket", ctx.bucket, "--prefix", prefix,
        "--delimiter", "/", "--page-size", "1",
    )  # fmt: skip
    expect_eq(_keys(out, prefix), ["a.txt", "z+z.txt"], "keys")
    expect_eq(_prefixes(out, prefix), ["b/", "d/", "e f/"], "CommonPrefixes")


@scenario("listing", "s3fs", quick=True)
def ls_find_walk(ctx: Context) -> None:
    fs = ctx.s3fs()
    prefix = _tree(ctx)
    root = f"{ctx.bucket}/{prefix}".rstrip("/")
    found = sorted(p[len(root) + 1 :] for p in fs.find(root))
    expect_eq(found, sorted(TREE), "fs.find")
    top = sorted(p[len(root) + 1 :] for p in fs.ls(root, detail=False))
    expect_eq(top, ["a.txt", "b", "d", "e f", "z+z.txt"], "fs.ls")
    expect(fs.isdir(root + "/b/c"), "isdir of a common prefix")
    expect_eq(sorted(fs.glob(root + "/b/*.txt")), [root + "/b/1.txt", root + "/b/2.txt"], "glob")


@scenario("listing", "rclone", quick=True)
def lsf_and_lsjson(ctx: Context) -> None:
    prefix = _tree(ctx)
    out = ctx.rclone("lsf", "-R", "--files-only", ctx.remote(prefix)).stdout.split("\n")
    expect_eq(sorted(line for line in out if line), sorted(TREE), "rclone lsf -R")
    top = json.loads(ctx.rclone("lsjson", ctx.remote(prefix)).stdout)
    expect_eq(
        sorted((e["Path"], e["IsDir"]) for e in top),
        [("a.txt", False), ("b", True), ("d", True), ("e f", True), ("z+z.txt", False)],
        "rclone lsjson",
    )


@scenario("listing", "s3cmd", quick=True)
def ls_recursive_s3cmd(ctx: Context) -> None:
    prefix = _tree(ctx)
    out = ctx.s3cmd("ls", "--recursive", ctx.s3url(prefix)).stdout
    base = ctx.s3url(prefix)
    keys = sorted(line.split(base, 1)[1] for line in out.splitlines() if base in line)
    expect_eq(keys, sorted(TREE), "s3cmd ls --recursive")
    out = ctx.s3cmd("ls", ctx.s3url(prefix)).stdout
    expect("DIR" in out and f"{base}b/" in out, f"s3cmd ls (delimited):\n{out}")


@scenario("listing", "http-sigv4", quick=True)
def presigned_list(ctx: Context) -> None:
    from lxml import etree

    prefix = _tree(ctx)
    url = ctx.presign("list_objects_v2", None, Prefix=prefix, Delimiter="/")
    status, _, body = ctx.http("GET", url)
    expect_eq(status, 200, "presigned ListObjectsV2")
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    root = etree.fromstring(body)
    raw = [k.text or "" for k in root.findall("s3:Contents/s3:Key", namespaces=ns)]
    # boto3 presigns with encoding-type=url (it always asks for it): keys come encoded.
    if root.findtext("s3:EncodingType", namespaces=ns) == "url":
        raw = [unquote_plus(k) for k in raw]
    keys = [k[len(prefix) :] for k in raw]
    expect_eq(keys, ["a.txt", "z+z.txt"], "keys in the XML")
