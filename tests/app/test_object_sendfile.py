"""Multipart objects on the local backend are served from their part files, segment by
segment (sendfile over http, the copy path over https): whole objects, ranges across part
boundaries, partNumber reads, and the plan that gateway.readpath.object_body makes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.readpath import object_body
from gateway.responses import FileBody, FileRange, StreamBody
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import (
    boto3_client,
    empty_and_delete_bucket,
    unique_bucket_name,
    upload_in_parts,
)
from tests.support.tls import TLSFiles

MiB = 1024 * 1024
PART = 5 * MiB
# Three full parts and a short last one: boundaries at 5, 10 and 15 MiB.
SIZES = (PART, PART, PART, 123_457)


@pytest.fixture(scope="module", params=["http", "https"])
def server(request: pytest.FixtureRequest, app_factory: AppFactory, tls_files: TLSFiles) -> Any:
    tls = tls_files if request.param == "https" else None
    return app_factory(backend="local", tls=tls)


@pytest.fixture(scope="module")
def uploaded(server: AppServer) -> Iterator[tuple[Any, str, bytes]]:
    """(client, bucket, data) with key "mp" a 4-part upload of `data`."""
    client = boto3_client(server)
    bucket = unique_bucket_name("sendfile")
    client.create_bucket(Bucket=bucket)
    data = os.urandom(sum(SIZES))
    upload_in_parts(client, bucket, "mp", data, SIZES)
    yield client, bucket, data
    empty_and_delete_bucket(client, bucket)


def test_get_whole_multipart_object(uploaded: tuple[Any, str, bytes]) -> None:
    client, bucket, data = uploaded
    got = client.get_object(Bucket=bucket, Key="mp")
    assert got["ContentLength"] == len(data)
    assert got["Body"].read() == data


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (PART - 1, PART),  # the last byte of part 1 only
        (PART - 10, PART + 9),  # across one boundary
        (PART - 1, 3 * PART),  # a byte of part 1, all of part 2, the first of part 4
        (2 * PART, 3 * PART - 1),  # exactly part 3
        (3 * PART + 100, 3 * PART + 123_456),  # inside the short last part, to its end
        (1, 3 * PART + 123_455),  # all but the first and last byte
    ],
)
def test_ranges_across_part_boundaries(
    uploaded: tuple[Any, str, bytes], start: int, end: int
) -> None:
    client, bucket, data = uploaded
    got = client.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}")
    assert got["ContentRange"] == f"bytes {start}-{end}/{len(data)}"
    assert got["Body"].read() == data[start : end + 1]


def test_suffix_range_and_part_number(uploaded: tuple[Any, str, bytes]) -> None:
    client, bucket, data = uploaded
    tail = client.get_object(Bucket=bucket, Key="mp", Range="bytes=-200000")
    assert tail["Body"].read() == data[-200_000:]
    third = client.get_object(Bucket=bucket, Key="mp", PartNumber=3)
    assert third["PartsCount"] == 4
    assert third["Body"].read() == data[2 * PART : 3 * PART]


def test_plain_segments_become_file_ranges(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    _, bucket, data = uploaded
    version = server.call(server.services.meta.get_object(bucket, "mp"))
    assert version is not None
    backend = server.services.backend
    body = object_body(backend, version, PART - 10, 3 * PART + 5)
    assert isinstance(body, FileBody)
    paths = [backend.local_path(seg.blob_id) for seg in version.segments]
    assert body.ranges == (
        FileRange(str(paths[0]), PART - 10, 10),
        FileRange(str(paths[1]), 0, PART),
        FileRange(str(paths[2]), 0, PART),
        FileRange(str(paths[3]), 0, 5),
    )
    assert body.count == 2 * PART + 15


def test_a_missing_part_blob_falls_back_to_the_stream(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    """A segment without a local file is not sendfile's business: the stream path reads it
    (and the backend says BlobNotFound before anything is sent)."""
    _, bucket, _ = uploaded
    version = server.call(server.services.meta.get_object(bucket, "mp"))
    assert version is not None
    backend = server.services.backend
    path = backend.local_path(version.segments[2].blob_id)
    assert path is not None
    os.rename(path, path + ".away")
    try:
        body = object_body(backend, version, 0, version.size)
        assert isinstance(body, StreamBody)
        # A range that does not touch the missing part still uses the files.
        assert isinstance(object_body(backend, version, 0, 2 * PART), FileBody)
    finally:
        os.rename(path + ".away", path)
