"""On the s3 and azure backends, GetObject bodies are spliced from the backend's socket to
the client's (backends/relay.py, gateway/sendfile.py), part by part, over a real SeaweedFS
and a real Azurite; over https, and for a part the backend does not hand over, they are
streamed (on azure by one Get Blob of the range: backends/azure/signed.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from backends.relay import RelayClient
from gateway import sendfile
from gateway.readpath import object_body
from gateway.responses import RelayBody, RelayPart
from tests.app.conftest import AppFactory, backend_settings
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
SIZES = (PART, PART, 123_457)  # boundaries at 5 and 10 MiB


@pytest.fixture(scope="module", params=["s3-http", "s3-https", "azure-http", "azure-https"])
def server(
    request: pytest.FixtureRequest, app_factory: AppFactory, tls_files: TLSFiles
) -> AppServer:
    backend, _, scheme = str(request.param).partition("-")
    tls = tls_files if scheme == "https" else None
    return app_factory(tls=tls, **backend_settings(request.config, backend))


@pytest.fixture(scope="module")
def uploaded(server: AppServer) -> Iterator[tuple[Any, str, bytes]]:
    """(client, bucket, data) with key "mp" a 3-part upload of `data`, "one" a single PUT."""
    client = boto3_client(server)
    bucket = unique_bucket_name("relay")
    client.create_bucket(Bucket=bucket)
    data = os.urandom(sum(SIZES))
    upload_in_parts(client, bucket, "mp", data, SIZES)
    client.put_object(Bucket=bucket, Key="one", Body=data[: 3 * MiB])
    yield client, bucket, data
    empty_and_delete_bucket(client, bucket)


@pytest.fixture
def splices(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The byte counts of the pump's splice calls that move bytes while the test runs (the
    server runs in this process). A call for nothing left (the whole part came with the
    backend's response head) does nothing, and may come after its client has every byte,
    i.e. from the test before."""
    counts: list[int] = []
    real = sendfile.SendfilePump.splice

    async def counted(
        self: sendfile.SendfilePump,
        src: int,
        sock: int,
        count: int,
        idle: float,
        head: bytes = b"",
    ) -> None:
        if count:
            counts.append(count)
        await real(self, src, sock, count, idle, head)

    monkeypatch.setattr(sendfile.SendfilePump, "splice", counted)
    return counts


def _https(server: AppServer) -> bool:
    return server.scheme == "https"


def test_get_whole_objects(
    server: AppServer, uploaded: tuple[Any, str, bytes], splices: list[int]
) -> None:
    client, bucket, data = uploaded
    got = client.get_object(Bucket=bucket, Key="mp")
    assert got["ContentLength"] == len(data)
    assert got["Body"].read() == data
    assert client.get_object(Bucket=bucket, Key="one")["Body"].read() == data[: 3 * MiB]
    if _https(server):
        assert splices == []  # TLS: the bytes must be encrypted in the process
    else:
        # One splice per part and one for the single PUT, each the part's bytes less what
        # arrived with the backend's response head.
        assert len(splices) == 4
        assert sum(splices) <= len(data) + 3 * MiB
        assert sum(splices) > len(data) + 3 * MiB - 4 * 64 * 1024


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (PART - 1, PART),  # the last byte of part 1 and the first of part 2
        (PART - 10, 2 * PART + 9),  # across both boundaries
        (PART, 2 * PART - 1),  # exactly part 2
        (2 * PART + 100, 2 * PART + 123_456),  # inside the short last part, to its end
        (7, 7),  # one byte
    ],
)
def test_ranges_across_part_boundaries(
    uploaded: tuple[Any, str, bytes], start: int, end: int
) -> None:
    client, bucket, data = uploaded
    got = client.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}")
    assert got["ContentRange"] == f"bytes {start}-{end}/{len(data)}"
    assert got["Body"].read() == data[start : end + 1]


def test_part_number_and_many_gets_reuse_connections(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    client, bucket, data = uploaded
    for _ in range(5):
        second = client.get_object(Bucket=bucket, Key="mp", PartNumber=2)
        assert second["Body"].read() == data[PART : 2 * PART]
    if not _https(server):
        # Each body was read to its end, so its connection went back to the pool.
        assert 1 <= _pooled(_relay_client(server)) <= 3


def test_plain_remote_segments_become_relay_parts(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    _, bucket, _ = uploaded
    version = server.call(server.services.meta.get_object(bucket, "mp"))
    assert version is not None
    body = object_body(server.services.backend, version, PART - 10, 2 * PART + 5)
    assert isinstance(body, RelayBody)
    ids = [seg.blob_id for seg in version.segments]
    assert body.parts == (
        RelayPart(ids[0], PART - 10, PART),
        RelayPart(ids[1], 0, PART),
        RelayPart(ids[2], 0, 5),
    )
    assert body.length == PART + 15


def test_a_missing_blob_is_an_error_before_any_byte(
    server: AppServer, uploaded: tuple[Any, str, bytes], splices: list[int]
) -> None:
    """The relay does not hand over a 404; the stream path then asks again and the
    backend's BlobNotFound becomes an S3 error document, not a cut-short 200."""
    client, bucket, data = uploaded
    client.put_object(Bucket=bucket, Key="gone", Body=data[:MiB])
    version = server.call(server.services.meta.get_object(bucket, "gone"))
    assert version is not None
    server.call(server.services.backend.delete_blob(version.segments[0].blob_id))
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_object(Bucket=bucket, Key="gone")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert splices == []


def test_a_stale_pooled_connection_is_replaced(
    server: AppServer, uploaded: tuple[Any, str, bytes]
) -> None:
    """A kept-alive connection the server closed meanwhile (the store's idle timeout, a
    restart) is noticed before use, or on its first write, and a new one is opened."""
    if _https(server):
        pytest.skip("no relay over https")
    client, bucket, data = uploaded
    assert client.get_object(Bucket=bucket, Key="one")["Body"].read() == data[: 3 * MiB]
    relay = _relay_client(server)
    assert _pooled(relay) >= 1
    for idle in relay._idle.values():
        for sock in idle:
            sock.shutdown(2)  # as if the server had gone: reads give b"", writes fail
    assert client.get_object(Bucket=bucket, Key="one")["Body"].read() == data[: 3 * MiB]


def _pooled(relay: RelayClient) -> int:
    """The connections in the relay's pool, once there is one: the server's writer gives
    its connection back just after the client has the last bytes."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        count = sum(len(idle) for idle in relay._idle.copy().values())  # another thread's
        if count:
            return count
        time.sleep(0.01)
    return 0


def _backend(server: AppServer) -> Any:
    return server.services.backend.inner  # type: ignore[attr-defined]  # MeteredBackend


def _relay_client(server: AppServer) -> RelayClient:
    relay: RelayClient = _backend(server)._relay
    return relay


def test_a_part_not_handed_over_is_streamed_between_spliced_ones(
    server: AppServer,
    uploaded: tuple[Any, str, bytes],
    splices: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The middle part goes through the transport; the pump resumes for the last one only
    once the transport has sent it (the bytes must arrive in order)."""
    client, bucket, data = uploaded
    version = server.call(server.services.meta.get_object(bucket, "mp"))
    assert version is not None
    middle = version.segments[1].blob_id
    kind = type(_backend(server))
    real = kind.relay_blob

    async def relay_blob(self: Any, blob_id: str, start: int, end: int) -> Any:
        return None if blob_id == middle else await real(self, blob_id, start, end)

    monkeypatch.setattr(kind, "relay_blob", relay_blob)
    got = client.get_object(Bucket=bucket, Key="mp", Range=f"bytes=10-{len(data) - 1}")
    assert got["Body"].read() == data[10:]
    if not _https(server):
        assert len(splices) == 2
