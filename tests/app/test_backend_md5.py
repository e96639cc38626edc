"""A PUT's MD5 from the store instead of the gateway's own hashing (backends.base.Digesting,
gateway/writepath.py): on an s3 backend over a real SeaweedFS (whose PutObject ETags are
MD5s) and an azure backend over a real Azurite (whose Put Blob answers carry the MD5), and
on the memory backend behind a wrapper that tells a chosen digest, which shows
where the ETag came from, that Content-MD5 is checked against the store's digest, that a
store telling none gets the blob read back and hashed, and that a coded blob never uses it."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends.base import Backend, ByteStream, Digesting
from tests.app.conftest import AppFactory, backend_settings
from tests.app.server import AppServer
from tests.support import remote_backends
from tests.support.azurite import session_azurite
from tests.support.clients import (
    boto3_client,
    empty_and_delete_bucket,
    unique_bucket_name,
    upload_in_parts,
)
from tests.support.seaweedfs import session_seaweedfs

MiB = 1024 * 1024


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -- which digest the gateway uses ---------------------------------------------------------


class _Telling:
    """`inner`, whose store tells `md5` as the digest of every blob it stores."""

    def __init__(self, inner: Backend, md5: bytes | None) -> None:
        self.inner = inner
        self.md5 = md5
        self.told = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def digests(self, size: int | None) -> bool:
        return size is not None

    async def put_blob_digested(
        self, blob_id: str, data: ByteStream, size: int | None = None
    ) -> tuple[int, bytes | None]:
        self.told += 1
        return await self.inner.put_blob(blob_id, data, size), self.md5


@pytest.fixture(scope="module")
def memory_server(app_factory: AppFactory) -> AppServer:
    return app_factory(backend="memory")


@pytest.fixture
def telling(memory_server: AppServer) -> Iterator[Any]:
    """Install a _Telling backend (its digest: MD5 of b"told") on the server; boto3 client."""
    inner = memory_server.services.backend
    wrapper = _Telling(inner, hashlib.md5(b"told").digest())
    assert isinstance(wrapper, Digesting)
    memory_server.services.backend = wrapper
    client = boto3_client(memory_server)
    bucket = unique_bucket_name("told")
    client.create_bucket(Bucket=bucket)
    try:
        yield client, bucket, wrapper
    finally:
        memory_server.services.backend = inner
        empty_and_delete_bucket(client, bucket)


def test_etag_is_the_stores_digest(telling: Any, memory_server: AppServer) -> None:
    client, bucket, wrapper = telling
    body = os.urandom(MiB)  # above the inline threshold: a blob
    put = client.put_object(Bucket=bucket, Key="k", Body=body)
    assert put["ETag"] == f'"{_md5(b"told")}"'  # taken from the store, not computed
    assert wrapper.told == 1
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == body


def test_content_md5_is_checked_against_the_stores_digest(
    telling: Any, memory_server: AppServer
) -> None:
    client, bucket, wrapper = telling
    body = os.urandom(MiB)
    blobs = set(memory_server.blob_ids())
    # Right for the bytes, wrong for what the store said it stored: refused, nothing kept.
    with pytest.raises(ClientError) as caught:
        client.put_object(
            Bucket=bucket,
            Key="k",
            Body=body,
            ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(),
        )
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert set(memory_server.blob_ids()) == blobs
    with pytest.raises(ClientError):
        client.head_object(Bucket=bucket, Key="k")
    told = base64.b64encode(hashlib.md5(b"told").digest()).decode()
    client.put_object(Bucket=bucket, Key="k", Body=body, ContentMD5=told)
    assert wrapper.told == 2


def test_store_telling_nothing_gets_the_blob_hashed(telling: Any, memory_server: AppServer) -> None:
    client, bucket, wrapper = telling
    wrapper.md5 = None
    body = os.urandom(MiB + 3)
    assert client.put_object(Bucket=bucket, Key="k", Body=body)["ETag"] == f'"{_md5(body)}"'
    assert wrapper.told == 1


@pytest.mark.parametrize(
    "extra", [{"ServerSideEncryption": "AES256"}, {"Metadata": {}}], ids=["sse-s3", "plain"]
)
def test_coded_blobs_are_hashed_by_the_gateway(
    telling: Any, memory_server: AppServer, extra: dict[str, Any]
) -> None:
    client, bucket, wrapper = telling
    body = os.urandom(MiB)
    put = client.put_object(Bucket=bucket, Key="k", Body=body, **extra)
    if extra.get("ServerSideEncryption"):  # the store holds sealed frames, not the bytes
        assert (put["ETag"], wrapper.told) == (f'"{_md5(body)}"', 0)
    else:
        assert (put["ETag"], wrapper.told) == (f'"{_md5(b"told")}"', 1)


# -- stores that tell the MD5: an S3 server whose ETags are MD5s, Azure's Put Blob ----------


def _remote(name: str, config: pytest.Config, **options: Any) -> Any:
    if name == "s3":
        return remote_backends.s3_backend_on(session_seaweedfs(config), **options)
    return remote_backends.azure_backend_on(session_azurite(config), **options)


@pytest.mark.parametrize("name", ["s3", "azure"])
def test_remote_backend_takes_the_stores_md5(name: str, request: pytest.FixtureRequest) -> None:
    import asyncio

    async def scenario() -> None:
        async def chunks(data: bytes) -> ByteStream:
            for at in range(0, len(data), 100_003):
                yield data[at : at + 100_003]

        async with remote_backends.opened(_remote(name, request.config)) as backend:
            assert isinstance(backend, Digesting)
            assert backend.digests(25 * MiB) and not backend.digests(None)
            # One streamed PutObject / Put Blob; on azure a small one goes through the SDK.
            for blob_id, data in (("d1", os.urandom(6 * MiB + 5)), ("d0", os.urandom(99_999))):
                size, md5 = await backend.put_blob_digested(blob_id, chunks(data), len(data))
                assert (size, md5) == (len(data), hashlib.md5(data).digest())
                got = b"".join([c async for c in backend.get_blob(blob_id)])
                assert got == data
            # Unknown size: put_blob's own way, no digest.
            assert await backend.put_blob_digested("d2", chunks(b"abc")) == (3, None)
        local = _remote(name, request.config, server_md5=False)
        async with remote_backends.opened(local) as backend:
            assert not backend.digests(MiB)
            assert await backend.put_blob_digested("d3", chunks(b"abc"), 3) == (3, None)
            listed = [info.blob_id async for info in backend.list_blobs()]
            assert listed == ["d3"]  # no probe left behind

    asyncio.run(scenario())


def test_azure_blocks_are_not_digested(request: pytest.FixtureRequest) -> None:
    """Past single_put_max a blob is staged in blocks: no MD5 of the whole blob."""
    import asyncio

    async def scenario() -> None:
        async def one(data: bytes) -> ByteStream:
            yield data

        backend = _remote("azure", request.config, single_put_max=0, block_size=MiB)
        async with remote_backends.opened(backend) as opened:
            assert isinstance(opened, Digesting)
            assert opened.digests(100_000) and not opened.digests(MiB)
            data = os.urandom(2 * MiB + 1)
            assert await opened.put_blob_digested("b1", one(data), len(data)) == (len(data), None)
            assert b"".join([c async for c in opened.get_blob("b1")]) == data

    asyncio.run(scenario())


@pytest.fixture(scope="module", params=["s3", "azure"])
def remote_server(request: pytest.FixtureRequest, app_factory: AppFactory) -> AppServer:
    server = app_factory(**backend_settings(request.config, str(request.param)))
    # The app connects to the store as it starts (gateway/app.py, _backend_started): the
    # probe is done before any request asks, so the first PUT is not hashed by the gateway.
    deadline = time.monotonic() + 30
    while not server.services.backend.digests(MiB):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the backend did not start with the app"
        time.sleep(0.02)
    return server


def test_gateway_on_a_remote_store(remote_server: AppServer) -> None:
    s3_server = remote_server
    client = boto3_client(s3_server)
    bucket = unique_bucket_name("md5")
    client.create_bucket(Bucket=bucket)
    try:
        body = os.urandom(3 * MiB + 1)
        put = client.put_object(Bucket=bucket, Key="one", Body=body)
        assert put["ETag"] == f'"{_md5(body)}"'
        blobs = set(s3_server.blob_ids())
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        with pytest.raises(ClientError) as caught:
            client.put_object(Bucket=bucket, Key="two", Body=body, ContentMD5=wrong)
        assert caught.value.response["Error"]["Code"] == "BadDigest"
        assert set(s3_server.blob_ids()) == blobs  # the stored blob was deleted
        sizes = (5 * MiB, 123_457)
        data = os.urandom(sum(sizes))
        upload_in_parts(client, bucket, "mp", data, sizes)
        parts = b"".join(
            hashlib.md5(data[a:b]).digest() for a, b in ((0, 5 * MiB), (5 * MiB, None))
        )
        head = client.head_object(Bucket=bucket, Key="mp")
        assert head["ETag"] == f'"{hashlib.md5(parts).hexdigest()}-2"'
        assert client.get_object(Bucket=bucket, Key="one")["Body"].read() == body
    finally:
        empty_and_delete_bucket(client, bucket)
