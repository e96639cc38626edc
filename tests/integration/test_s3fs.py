"""s3fs/fsspec against the gateway: the file-system view data tools use (pandas, dask...)."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import s3fs_fs
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.clients, pytest.mark.https]


@pytest.fixture
def fs(gateway: GatewayProcess) -> Iterator[Any]:
    filesystem = s3fs_fs(gateway)
    yield filesystem
    filesystem.clear_instance_cache()


def test_s3fs_put_get_ls_info_rm(fs: Any, bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "up.bin"
    data = os.urandom(12_345)
    local.write_bytes(data)
    fs.put(str(local), f"{bucket}/dir/up.bin")
    fs.pipe(f"{bucket}/dir/sub/small.txt", b"small")
    fs.pipe(f"{bucket}/top.txt", b"top")

    assert sorted(fs.ls(bucket, detail=False)) == [f"{bucket}/dir", f"{bucket}/top.txt"]
    entries = {e["name"]: e for e in fs.ls(f"{bucket}/dir", detail=True)}
    assert entries[f"{bucket}/dir/up.bin"]["size"] == len(data)
    assert entries[f"{bucket}/dir/up.bin"]["type"] == "file"
    assert entries[f"{bucket}/dir/sub"]["type"] == "directory"
    assert sorted(fs.find(bucket)) == [
        f"{bucket}/dir/sub/small.txt",
        f"{bucket}/dir/up.bin",
        f"{bucket}/top.txt",
    ]

    info = fs.info(f"{bucket}/dir/up.bin")
    assert info["size"] == len(data)
    assert info["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert fs.info(f"{bucket}/dir")["type"] == "directory"
    assert fs.exists(f"{bucket}/dir/up.bin")
    assert not fs.exists(f"{bucket}/dir/nope.bin")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{bucket}/dir/nope.bin")

    back = tmp_path / "down.bin"
    fs.get(f"{bucket}/dir/up.bin", str(back))
    assert back.read_bytes() == data
    assert fs.cat_file(f"{bucket}/top.txt") == b"top"

    fs.rm(f"{bucket}/top.txt")
    assert not fs.exists(f"{bucket}/top.txt")
    fs.rm(f"{bucket}/dir", recursive=True)
    assert fs.find(bucket) == []


def test_s3fs_open_read_seek_uses_ranges(fs: Any, s3: Any, bucket: str) -> None:
    data = os.urandom(256 * 1024)
    s3.put_object(Bucket=bucket, Key="ranged.bin", Body=data)
    rng = random.Random(1234)

    # cache_type="none": every read() is its own ranged GET.
    with fs.open(f"{bucket}/ranged.bin", "rb", cache_type="none") as f:
        assert f.size == len(data)
        for _ in range(20):
            start = rng.randrange(len(data))
            length = rng.randrange(1, 5000)
            f.seek(start)
            assert f.read(length) == data[start : start + length]
        f.seek(-100, os.SEEK_END)
        assert f.read() == data[-100:]

    assert fs.cat_file(f"{bucket}/ranged.bin", start=1000, end=2000) == data[1000:2000]
    assert fs.cat_file(f"{bucket}/ranged.bin", start=-10) == data[-10:]

    # The default read-ahead cache still returns the right bytes.
    with fs.open(f"{bucket}/ranged.bin", "rb", block_size=16 * 1024) as f:
        f.seek(100_000)
        assert f.read(50_000) == data[100_000:150_000]


def test_s3fs_open_write(fs: Any, s3: Any, bucket: str) -> None:
    chunks = [os.urandom(10_000) for _ in range(5)]
    with fs.open(f"{bucket}/written/out.bin", "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    body = s3.get_object(Bucket=bucket, Key="written/out.bin")["Body"].read()
    assert body == b"".join(chunks)

    with fs.open(f"{bucket}/written/text.txt", "w", encoding="utf-8") as t:
        t.write("grüße\n")
    with fs.open(f"{bucket}/written/text.txt", "r", encoding="utf-8") as t:
        assert t.read() == "grüße\n"
