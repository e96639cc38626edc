"""aws-cli (v1, from PyPI) against the gateway: the high-level `s3` commands and `s3api`."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.clients import (
    empty_and_delete_bucket,
    read_tree,
    run_aws,
    unique_bucket_name,
    write_tree,
)
from tests.support.gateway import GatewayProcess

# Over https too: the transfers (a small and a multipart cp, sync) and presigned URLs, where
# TLS changes what the client sends (trailing checksums, chunked signing); listing, deletes,
# copies and errors do not depend on the transport and run over http only.
pytestmark = [pytest.mark.clients]

SINGLE_PUT = {"multipart_threshold": "64MB"}
MiB = 1024 * 1024


def s3api(gw: GatewayProcess, *args: str) -> Any:
    """Run `aws s3api ...` and parse its JSON output ({} when it prints nothing)."""
    out = run_aws(gw, "s3api", *args).stdout.strip()
    return json.loads(out) if out else {}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def file_digests(path: Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MiB):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def list_keys(s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    keys: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            keys[item["Key"]] = item["Size"]
    return keys


def http_get(gw: GatewayProcess, url: str) -> tuple[int, bytes]:
    context: ssl.SSLContext | None = gw.ssl_context
    try:
        with urllib.request.urlopen(url, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def file_20mib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("aws-big") / "twenty.bin"
    with path.open("wb") as f:
        for _ in range(20):
            f.write(os.urandom(MiB))
    return path


# -- s3 (high level) --------------------------------------------------------------------------


def test_s3_mb_ls_rb(gateway: GatewayProcess, s3: Any) -> None:
    name = unique_bucket_name("aws-mb")
    try:
        run_aws(gateway, "s3", "mb", f"s3://{name}")
        listing = run_aws(gateway, "s3", "ls").stdout
        assert name in listing.split()
        run_aws(gateway, "s3", "rb", f"s3://{name}")
        assert name not in run_aws(gateway, "s3", "ls").stdout.split()
    finally:
        if name in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            empty_and_delete_bucket(s3, name)


@pytest.mark.https
def test_s3_cp_small_roundtrip(gateway: GatewayProcess, bucket: str, tmp_path: Path) -> None:
    data = b"hello from aws-cli\n" + os.urandom(1000)
    src = tmp_path / "small.txt"
    src.write_bytes(data)
    run_aws(gateway, "s3", "cp", str(src), f"s3://{bucket}/dir/small.txt", s3=SINGLE_PUT)

    head = s3api(gateway, "head-object", "--bucket", bucket, "--key", "dir/small.txt")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{md5_hex(data)}"'
    assert head["ContentType"] == "text/plain"  # aws-cli guesses from the extension

    dst = tmp_path / "back.txt"
    run_aws(gateway, "s3", "cp", f"s3://{bucket}/dir/small.txt", str(dst))
    assert dst.read_bytes() == data

    # `cp ... -` streams the object to stdout.
    text = run_aws(gateway, "s3", "cp", f"s3://{bucket}/dir/small.txt", "-").stdout
    assert text.startswith("hello from aws-cli\n")


def test_s3_cp_20mib_single_put(
    gateway: GatewayProcess, bucket: str, tmp_path: Path, file_20mib: Path
) -> None:
    md5, sha = file_digests(file_20mib)
    run_aws(gateway, "s3", "cp", str(file_20mib), f"s3://{bucket}/big.bin", s3=SINGLE_PUT)
    head = s3api(gateway, "head-object", "--bucket", bucket, "--key", "big.bin")
    assert head["ContentLength"] == 20 * MiB
    assert head["ETag"] == f'"{md5}"'  # one PUT: the ETag is the MD5 of the body

    dst = tmp_path / "big.back"
    run_aws(gateway, "s3", "cp", f"s3://{bucket}/big.bin", str(dst), s3=SINGLE_PUT)
    assert file_digests(dst) == (md5, sha)


@pytest.mark.https
def test_s3_cp_20mib_multipart(
    gateway: GatewayProcess, bucket: str, tmp_path: Path, file_20mib: Path
) -> None:
    multipart = {"multipart_threshold": "5MB", "multipart_chunksize": "5MB"}
    md5, sha = file_digests(file_20mib)
    run_aws(gateway, "s3", "cp", str(file_20mib), f"s3://{bucket}/mp.bin", s3=multipart)
    head = s3api(gateway, "head-object", "--bucket", bucket, "--key", "mp.bin")
    assert head["ContentLength"] == 20 * MiB
    assert head["ETag"].endswith('-4"')  # 4 parts of 5 MiB

    dst = tmp_path / "mp.back"
    run_aws(gateway, "s3", "cp", f"s3://{bucket}/mp.bin", str(dst), s3=multipart)
    assert file_digests(dst) == (md5, sha)


def test_s3_ls_recursive_and_prefixes(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    for key in ("top.txt", "a/1.txt", "a/b/2.txt", "c/3.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())

    root = run_aws(gateway, "s3", "ls", f"s3://{bucket}/").stdout.splitlines()
    words = [line.split() for line in root]
    assert ["PRE", "a/"] in words
    assert ["PRE", "c/"] in words
    assert [w[-1] for w in words if w[0] != "PRE"] == ["top.txt"]

    under_a = [
        line.split()
        for line in run_aws(gateway, "s3", "ls", f"s3://{bucket}/a/").stdout.splitlines()
    ]
    assert ["PRE", "b/"] in under_a
    assert [w[-1] for w in under_a if w[0] != "PRE"] == ["1.txt"]

    recursive = run_aws(gateway, "s3", "ls", "--recursive", f"s3://{bucket}").stdout.splitlines()
    listed = {line.split()[-1]: int(line.split()[-2]) for line in recursive}
    assert listed == {k: len(k) for k in ("a/1.txt", "a/b/2.txt", "c/3.txt", "top.txt")}


def test_s3_rm(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    for key in ("keep.txt", "gone.txt", "dir/x.txt", "dir/sub/y.txt", "dirt.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    run_aws(gateway, "s3", "rm", f"s3://{bucket}/gone.txt")
    run_aws(gateway, "s3", "rm", "--recursive", f"s3://{bucket}/dir/")
    assert set(list_keys(s3, bucket)) == {"keep.txt", "dirt.txt"}


@pytest.mark.https
def test_s3_sync(gateway: GatewayProcess, s3: Any, bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "local"
    files = write_tree(
        local,
        {
            "a.txt": b"alpha",
            "with space.txt": b"space",
            "sub/b.txt": b"bravo" * 100,
            "sub/deeper/c.bin": os.urandom(70_000),
            "sub/deeper/d.json": b"{}",
        },
    )
    # Local mtimes an hour back: S3 reports LastModified in whole seconds, so a file written
    # in the second of its upload would look newer than its copy and be sent again.
    past = time.time() - 3600
    for rel in files:
        os.utime(local / rel, (past, past))
    remote = f"s3://{bucket}/tree"
    run_aws(gateway, "s3", "sync", str(local), remote)
    assert list_keys(s3, bucket, "tree/") == {f"tree/{k}": len(v) for k, v in files.items()}

    # Nothing changed: the second sync copies nothing.
    again = run_aws(gateway, "s3", "sync", str(local), remote).stdout
    assert "upload:" not in again, again

    # Change a file (size changes, so sync must see it), delete one, add one.
    (local / "sub/b.txt").write_bytes(b"changed")
    (local / "a.txt").unlink()
    (local / "sub/new.txt").write_bytes(b"new")
    out = run_aws(gateway, "s3", "sync", "--delete", str(local), remote).stdout
    assert "delete:" in out and "upload:" in out, out
    expected = read_tree(local)
    assert list_keys(s3, bucket, "tree/") == {f"tree/{k}": len(v) for k, v in expected.items()}

    down = tmp_path / "down"
    run_aws(gateway, "s3", "sync", remote, str(down))
    assert read_tree(down) == expected


# -- s3api ------------------------------------------------------------------------------------


@pytest.mark.https
def test_s3api_put_get_head_object_with_metadata(
    gateway: GatewayProcess, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(4096)
    body = tmp_path / "body.bin"
    body.write_bytes(data)
    put = s3api(
        gateway,
        "put-object",
        "--bucket",
        bucket,
        "--key",
        "meta/obj.bin",
        "--body",
        str(body),
        "--content-type",
        "application/x-kloudvault",
        "--cache-control",
        "max-age=60",
        "--metadata",
        "color=blue,shape=round",
    )
    assert put["ETag"] == f'"{md5_hex(data)}"'

    head = s3api(gateway, "head-object", "--bucket", bucket, "--key", "meta/obj.bin")
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/x-kloudvault"
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"] == {"color": "blue", "shape": "round"}
    assert head["ETag"] == put["ETag"]

    out = tmp_path / "out.bin"
    got = s3api(gateway, "get-object", "--bucket", bucket, "--key", "meta/obj.bin", str(out))
    assert out.read_bytes() == data
    assert got["Metadata"] == {"color": "blue", "shape": "round"}
    assert got["ContentType"] == "application/x-kloudvault"

    ranged = tmp_path / "range.bin"
    part = s3api(
        gateway,
        "get-object",
        "--bucket",
        bucket,
        "--key",
        "meta/obj.bin",
        "--range",
        "bytes=100-199",
        str(ranged),
    )
    assert ranged.read_bytes() == data[100:200]
    assert part["ContentRange"] == f"bytes 100-199/{len(data)}"


def test_s3api_list_objects_v2(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    keys = ["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/x.jpg", "z"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")

    listing = s3api(
        gateway,
        "list-objects-v2",
        "--bucket",
        bucket,
        "--prefix",
        "photos/",
        "--delimiter",
        "/",
    )
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["photos/2024/", "photos/2025/"]
    assert [c["Key"] for c in listing["Contents"]] == ["photos/x.jpg"]

    # --page-size makes the CLI follow continuation tokens, two keys at a time.
    paged = s3api(gateway, "list-objects-v2", "--bucket", bucket, "--page-size", "2")
    assert [c["Key"] for c in paged["Contents"]] == sorted(keys)
    assert all(c["Size"] == 1 for c in paged["Contents"])

    empty = s3api(gateway, "list-objects-v2", "--bucket", bucket, "--prefix", "nothing/")
    assert empty.get("KeyCount", 0) == 0
    assert "Contents" not in empty


def test_s3api_delete_objects(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    for key in ("one", "two", "three"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    request = {"Objects": [{"Key": "one"}, {"Key": "two"}, {"Key": "never-existed"}]}
    result = s3api(gateway, "delete-objects", "--bucket", bucket, "--delete", json.dumps(request))
    # Deleting a missing key succeeds in S3 (it is already gone).
    assert sorted(d["Key"] for d in result["Deleted"]) == ["never-existed", "one", "two"]
    assert not result.get("Errors")
    assert set(list_keys(s3, bucket)) == {"three"}


def test_s3api_copy_object(gateway: GatewayProcess, s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="src.txt",
        Body=b"copy me",
        ContentType="text/x-source",
        Metadata={"origin": "src"},
    )
    # Default directive COPY: metadata and content type travel with the bytes.
    copied = s3api(
        gateway,
        "copy-object",
        "--bucket",
        bucket,
        "--key",
        "same-meta.txt",
        "--copy-source",
        f"{bucket}/src.txt",
    )
    assert copied["CopyObjectResult"]["ETag"] == f'"{md5_hex(b"copy me")}"'
    head = s3api(gateway, "head-object", "--bucket", bucket, "--key", "same-meta.txt")
    assert head["Metadata"] == {"origin": "src"}
    assert head["ContentType"] == "text/x-source"

    s3api(
        gateway,
        "copy-object",
        "--bucket",
        bucket,
        "--key",
        "new-meta.txt",
        "--copy-source",
        f"{bucket}/src.txt",
        "--metadata-directive",
        "REPLACE",
        "--metadata",
        "origin=copy,extra=1",
        "--content-type",
        "application/x-replaced",
    )
    head = s3api(gateway, "head-object", "--bucket", bucket, "--key", "new-meta.txt")
    assert head["Metadata"] == {"origin": "copy", "extra": "1"}
    assert head["ContentType"] == "application/x-replaced"
    assert s3.get_object(Bucket=bucket, Key="new-meta.txt")["Body"].read() == b"copy me"


@pytest.mark.parametrize("signature", ["cli-default", "s3v4"])
@pytest.mark.https
def test_s3_presign_then_plain_get(
    gateway: GatewayProcess, s3: Any, bucket: str, signature: str
) -> None:
    data = os.urandom(2048)
    s3.put_object(Bucket=bucket, Key="shared/file name.bin", Body=data)
    extra = {} if signature == "cli-default" else {"signature_version": "s3v4"}
    url = run_aws(
        gateway,
        "s3",
        "presign",
        f"s3://{bucket}/shared/file name.bin",
        "--expires-in",
        "300",
        s3=extra,
    ).stdout.strip()

    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Signature" in query:
        version = "v4"
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    else:
        version = "v2"
        assert {"AWSAccessKeyId", "Signature", "Expires"} <= set(query)
    # aws-cli v1 presigns with SigV2 unless the profile says s3.signature_version = s3v4.
    assert version == ("v4" if signature == "s3v4" else "v2"), url
    assert url.startswith(gateway.endpoint + "/")

    status, body = http_get(gateway, url)
    assert (status, body) == (200, data), f"presigned {version} GET {url}: {status} {body[:500]!r}"


def _error_code(stderr: str) -> str:
    # aws-cli prints "An error occurred (NoSuchKey) when calling the GetObject operation: ..."
    start = stderr.find("An error occurred (")
    assert start >= 0, stderr
    return stderr[start + len("An error occurred (") :].split(")", 1)[0]


def test_s3api_errors(gateway: GatewayProcess, bucket: str, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    missing_key = run_aws(
        gateway,
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        "no/such/key",
        out,
        expect_failure=True,
    )
    assert _error_code(missing_key.stderr) == "NoSuchKey"

    no_bucket = unique_bucket_name("missing")
    missing_bucket = run_aws(
        gateway,
        "s3api",
        "get-object",
        "--bucket",
        no_bucket,
        "--key",
        "k",
        out,
        expect_failure=True,
    )
    assert _error_code(missing_bucket.stderr) == "NoSuchBucket"

    listing = run_aws(
        gateway, "s3api", "list-objects-v2", "--bucket", no_bucket, expect_failure=True
    )
    assert _error_code(listing.stderr) == "NoSuchBucket"

    # HEAD has no body: the CLI reports the status ("404 ... Not Found").
    head = run_aws(
        gateway,
        "s3api",
        "head-object",
        "--bucket",
        bucket,
        "--key",
        "no/such/key",
        expect_failure=True,
    )
    assert "404" in head.stderr and "Not Found" in head.stderr, head.stderr
