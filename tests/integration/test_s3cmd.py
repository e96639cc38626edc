"""s3cmd (from PyPI) against the gateway, path style, with SigV4 and with SigV2."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import (
    empty_and_delete_bucket,
    read_tree,
    run_s3cmd,
    unique_bucket_name,
    write_tree,
)
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients, pytest.mark.https]

SIGNATURES = {"sigv4": False, "sigv2": True}


@pytest.fixture(params=list(SIGNATURES), ids=list(SIGNATURES))
def signature_v2(request: pytest.FixtureRequest) -> bool:
    return SIGNATURES[request.param]


def listed_urls(output: str) -> list[str]:
    """The s3:// URLs of `s3cmd ls`/`la` output, in order (DIR lines included)."""
    return re.findall(r"(s3://\S.*?)\s*$", output, flags=re.MULTILINE)


def info_fields(output: str) -> dict[str, str]:
    fields = {}
    for line in output.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields


def test_s3cmd_bucket_and_objects(
    gateway: GatewayProcess, s3: Any, tmp_path: Path, signature_v2: bool
) -> None:
    def s3cmd(*args: str, **kwargs: Any) -> Any:
        return run_s3cmd(gateway, *args, signature_v2=signature_v2, **kwargs)

    name = unique_bucket_name("s3cmd")
    data = os.urandom(10_000)
    src = tmp_path / "file.bin"
    src.write_bytes(data)
    try:
        s3cmd("mb", f"s3://{name}")
        assert f"s3://{name}" in s3cmd("ls").stdout

        s3cmd("put", str(src), f"s3://{name}/dir/file.bin")
        s3cmd("put", str(src), f"s3://{name}/top name ü.bin")
        assert listed_urls(s3cmd("ls", f"s3://{name}").stdout) == [
            f"s3://{name}/dir/",
            f"s3://{name}/top name ü.bin",
        ]
        assert listed_urls(s3cmd("ls", f"s3://{name}/dir/").stdout) == [f"s3://{name}/dir/file.bin"]
        assert listed_urls(s3cmd("ls", "--recursive", f"s3://{name}").stdout) == [
            f"s3://{name}/dir/file.bin",
            f"s3://{name}/top name ü.bin",
        ]
        everything = listed_urls(s3cmd("la").stdout)  # every bucket, top level
        assert {f"s3://{name}/dir/", f"s3://{name}/top name ü.bin"} <= set(everything)

        info = info_fields(s3cmd("info", f"s3://{name}/dir/file.bin").stdout)
        assert info["File size"] == str(len(data))
        assert info["MD5 sum"] == hashlib.md5(data).hexdigest()

        back = tmp_path / "back.bin"
        s3cmd("get", f"s3://{name}/top name ü.bin", str(back))
        assert back.read_bytes() == data

        s3cmd("del", f"s3://{name}/dir/file.bin")
        assert listed_urls(s3cmd("ls", "--recursive", f"s3://{name}").stdout) == [
            f"s3://{name}/top name ü.bin"
        ]
        missing = s3cmd("get", f"s3://{name}/dir/file.bin", str(tmp_path / "x"), check=False)
        assert missing.returncode != 0
        # s3cmd checks first ("Source object ... does not exist") or reports the 404 itself.
        assert any(hint in missing.stderr for hint in ("does not exist", "404", "NoSuchKey")), (
            missing.stderr
        )

        s3cmd("del", f"s3://{name}/top name ü.bin")
        s3cmd("rb", f"s3://{name}")
        assert f"s3://{name}" not in s3cmd("ls").stdout
    finally:
        if name in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            empty_and_delete_bucket(s3, name)


def test_s3cmd_bucket_info(gateway: GatewayProcess, bucket: str, signature_v2: bool) -> None:
    # `info` on a bucket reads location, versioning, policy, CORS, ACL, lifecycle...: each
    # sub-resource must answer either its document or its S3 "not configured" error.
    out = run_s3cmd(gateway, "info", f"s3://{bucket}", signature_v2=signature_v2).stdout
    assert info_fields(out)["Location"] == gateway.region


def test_s3cmd_sync(
    gateway: GatewayProcess, s3: Any, bucket: str, tmp_path: Path, signature_v2: bool
) -> None:
    def s3cmd(*args: str) -> Any:
        return run_s3cmd(gateway, *args, signature_v2=signature_v2)

    local = tmp_path / "tree"
    write_tree(
        local,
        {
            "a.txt": b"a",
            "sub/b.txt": b"b" * 1000,
            "sub/deep/c.bin": os.urandom(5000),
            "sub/with space.txt": b"space",
        },
    )
    target = f"s3://{bucket}/backup/"
    s3cmd("sync", f"{local}/", target)

    def remote_keys() -> set[str]:
        page = s3.list_objects_v2(Bucket=bucket, Prefix="backup/")
        return {item["Key"].removeprefix("backup/") for item in page.get("Contents", [])}

    assert remote_keys() == set(read_tree(local))

    (local / "sub/b.txt").write_bytes(b"changed")
    (local / "a.txt").unlink()
    (local / "new.txt").write_bytes(b"new")
    s3cmd("sync", "--delete-removed", f"{local}/", target)
    assert remote_keys() == set(read_tree(local))
    assert s3.get_object(Bucket=bucket, Key="backup/sub/b.txt")["Body"].read() == b"changed"

    down = tmp_path / "down"
    down.mkdir()
    s3cmd("sync", target, f"{down}/")
    assert read_tree(down) == read_tree(local)
