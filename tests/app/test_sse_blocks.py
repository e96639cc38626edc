"""Sealed objects on the local backend are served as a BlockBody (gateway.readpath,
gateway.responses): two reused buffers, filled in a worker thread and sent by the pump
over http, copied into the transport over https. Whole objects, ranges across frame and
part boundaries, partNumber reads, and a tampered frame that cuts the body short."""

from __future__ import annotations

import http.client
import os
import ssl
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.codec.frames import FRAME_SIZE, TAG_SIZE
from gateway.readpath import object_body
from gateway.responses import BlockBody, StreamBody
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
SIZES = (PART, PART, 123_457)  # parts end inside a frame's run and inside a frame


@pytest.fixture(scope="module", params=["http", "https"])
def server(request: pytest.FixtureRequest, app_factory: AppFactory, tls_files: TLSFiles) -> Any:
    tls = tls_files if request.param == "https" else None
    return app_factory(backend="local", tls=tls)


@pytest.fixture(scope="module")
def uploaded(server: AppServer) -> Iterator[tuple[Any, str, bytes]]:
    """(client, bucket, data): an SSE-S3 bucket with "mp", a 3-part upload of `data`,
    and "one", a single PUT of its first 3 MiB + 5 bytes."""
    client = boto3_client(server)
    bucket = unique_bucket_name("sseblocks")
    client.create_bucket(Bucket=bucket)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    data = os.urandom(sum(SIZES))
    upload_in_parts(client, bucket, "mp", data, SIZES)
    client.put_object(Bucket=bucket, Key="one", Body=data[: 3 * MiB + 5])
    yield client, bucket, data
    empty_and_delete_bucket(client, bucket)


def test_whole_objects(uploaded: tuple[Any, str, bytes]) -> None:
    client, bucket, data = uploaded
    got = client.get_object(Bucket=bucket, Key="mp")
    assert got["ServerSideEncryption"] == "AES256" and got["ContentLength"] == len(data)
    assert got["Body"].read() == data
    assert client.get_object(Bucket=bucket, Key="one")["Body"].read() == data[: 3 * MiB + 5]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 0),
        (1, FRAME_SIZE),  # inside the first frame
        (FRAME_SIZE - 1, 16 * FRAME_SIZE + 1),  # across a run of frames
        (PART - 10, PART + 10),  # across parts 1 and 2
        (PART - 1, 2 * PART + 5),  # a whole part and a byte either side
        (2 * PART + 100, sum(SIZES) - 1),  # inside the last part, to the end
    ],
)
def test_ranges(uploaded: tuple[Any, str, bytes], start: int, end: int) -> None:
    client, bucket, data = uploaded
    got = client.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}")
    assert got["Body"].read() == data[start : end + 1]


def test_part_number(uploaded: tuple[Any, str, bytes]) -> None:
    client, bucket, data = uploaded
    second = client.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == data[PART : 2 * PART]


def test_sealed_local_segments_become_a_block_body(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    _, bucket, _ = uploaded
    version = server.call(server.services.meta.get_object(bucket, "mp"))
    assert version is not None
    backend = server.services.backend
    # A wrong key would fail only when read: a reader makes its cipher on its first read.
    body = object_body(backend, version, 10, 2 * PART + 7, lambda codec: b"")
    assert isinstance(body, BlockBody) and body.length == 2 * PART - 3
    body.reader.close()  # nothing opened yet: closing an unsent body is harmless
    # Without a key there is nothing to open the frames with: the stream path says why.
    assert isinstance(object_body(backend, version, 0, 10, None), StreamBody)


def test_a_tampered_frame_cuts_the_body_short(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    """A frame failing authentication past the first block: the headers are out, so the
    body ends early (never with the bad bytes); in the first block: an error answer."""
    client, bucket, data = uploaded
    client.put_object(Bucket=bucket, Key="bad", Body=data[: 3 * MiB])
    version = server.call(server.services.meta.get_object(bucket, "bad"))
    assert version is not None
    path = server.services.backend.local_path(version.segments[0].blob_id)
    assert path is not None
    with open(path, "r+b") as f:
        f.seek(20 * (FRAME_SIZE + TAG_SIZE) + 7)  # in the second run of 16 frames
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 1]))
    got = client.get_object(Bucket=bucket, Key="bad")
    with pytest.raises(Exception):  # noqa: B017  # botocore/urllib3: a body cut short
        got["Body"].read()
    # The connection is closed where the body stops: no error document follows the bytes
    # sent (a client would read it as body and then wait for the rest until it timed out).
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "bad"})
    with urllib.request.urlopen(url, timeout=60, context=ssl._create_unverified_context()) as r:
        with pytest.raises(http.client.IncompleteRead) as short:
            r.read()
    assert len(short.value.partial) < 3 * MiB and b"<Error>" not in short.value.partial
    with open(path, "r+b") as f:
        f.seek(7)  # the first frame: nothing is sent but an error
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_object(Bucket=bucket, Key="bad")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
