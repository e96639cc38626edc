"""The azure backend reads a blob with one Get Blob of a signed URL (backends/azure/signed.py)
and, over plain HTTP, hands the body over on a relay socket (backends/relay.py), with
every way it can be given credentials, against a real Azurite; what it cannot read that
way (an error answer) it reads through the SDK, whose errors it translates. A blob of
known size goes up as one streamed Put Blob to a signed URL: a body that fails leaves
nothing, and an error answer is translated from its status and error code."""

from __future__ import annotations

import asyncio
import datetime
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas
from azure.storage.blob.aio import BlobClient

from backends.azure import AzureBackend
from backends.base import BackendError, BackendUnavailable, BlobNotFound, BlobRelay
from tests.support import remote_backends
from tests.support.azurite import Azurite, session_azurite

DATA = random.Random(11).randbytes(700_001)


def _account_sas(server: Azurite) -> str:
    return generate_account_sas(
        server.account_name,
        server.account_key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )


def _credentials(server: Azurite, how: str) -> dict[str, Any]:
    url = server.account_url
    if how == "connection-string":
        return {"connection_string": server.connection_string}
    if how == "account-key":
        return {"account_url": url, "account_key": server.account_key}
    if how == "named-key":
        return {
            "account_url": url,
            "credential": AzureNamedKeyCredential(server.account_name, server.account_key),
        }
    sas = _account_sas(server)
    if how == "sas-credential":
        return {"account_url": url, "credential": AzureSasCredential(sas)}
    if how == "sas-connection-string":
        return {"connection_string": f"BlobEndpoint={url};SharedAccessSignature={sas}"}
    assert how == "sas-in-url"
    return {"account_url": f"{url}?{sas}"}


HOW = [
    "connection-string",
    "account-key",
    "named-key",
    "sas-credential",
    "sas-connection-string",
    "sas-in-url",
]


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _relayed(relay: BlobRelay) -> bytes:
    """What a relay hands over: the head, then `remaining` bytes read from its socket."""
    sock = socket.socket(fileno=socket.dup(relay.fd))
    try:
        sock.setblocking(True)
        sock.settimeout(10)
        got = bytearray(relay.head)
        while len(got) < len(relay.head) + relay.remaining:
            more = sock.recv(relay.remaining + len(relay.head) - len(got))
            assert more, "the store closed the connection early"
            got += more
    finally:
        sock.close()
    relay.finish(True)
    return bytes(got)


@pytest.mark.parametrize("how", HOW)
def test_puts_reads_and_relays_with_every_credential(
    how: str, request: pytest.FixtureRequest, aio: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = session_azurite(request.config)
    backend = AzureBackend(
        f"t-reads-{random.getrandbits(32):08x}", prefix="p/ x+é~/", **_credentials(server, how)
    )

    async def no_downloader(self: BlobClient, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read through the SDK's downloader")

    async def body() -> None:
        async with remote_backends.opened(backend) as opened:
            assert await opened.put_blob("blob 1+", _one(DATA), len(DATA)) == len(DATA)
            assert opened.digests(len(DATA))  # the probe's Put Blob told its MD5
            with monkeypatch.context() as patched:
                patched.setattr(BlobClient, "download_blob", no_downloader)
                whole = b"".join([c async for c in opened.get_blob("blob 1+")])
                ranged = b"".join([c async for c in opened.get_blob("blob 1+", 5, 400_000)])
                tail = b"".join([c async for c in opened.get_blob("blob 1+", 699_999)])
                relay = await opened.relay_blob("blob 1+", 3, 650_000)
            assert whole == DATA
            assert ranged == DATA[5:400_000]
            assert tail == DATA[699_999:]
            assert relay is not None
            assert _relayed(relay) == DATA[3:650_000]

    aio.run(body())


def test_error_answers_are_read_through_the_sdk(
    request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    """404 and 416 are not streamed or relayed: the SDK's call says what they mean."""
    backend = remote_backends.azure_backend_on(session_azurite(request.config))

    async def body() -> None:
        async with remote_backends.opened(backend) as opened:
            await opened.put_blob("there", _one(DATA[:1000]), 1000)
            with pytest.raises(BlobNotFound):
                await anext(opened.get_blob("missing"))
            assert await opened.relay_blob("missing", 0, 10) is None
            # A range starting at the end of the blob: nothing, not an error.
            assert [c async for c in opened.get_blob("there", 1000)] == []
            assert [c async for c in opened.get_blob("there", 5000)] == []
            assert await opened.relay_blob("there", 0, 2000) is None  # not 2,000 bytes

    aio.run(body())


def test_a_sas_without_read_rights_falls_back(
    request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    """A SAS that may write and list but not read: Get Blob answers 403 to both paths, and
    the SDK's error is the one raised (a BackendError, not a cut-short body)."""
    server = session_azurite(request.config)
    sas = generate_account_sas(
        server.account_name,
        server.account_key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(write=True, create=True, list=True, delete=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    container = f"t-noread-{random.getrandbits(32):08x}"
    setup = AzureBackend(container, connection_string=server.connection_string)
    backend = AzureBackend(
        container,
        account_url=server.account_url,
        credential=AzureSasCredential(sas),
        create_container=False,  # its check needs read rights
    )

    async def body() -> None:
        await setup.start()
        await backend.start()
        try:
            await backend.put_blob("b", _one(b"x" * 100), 100)
            assert await backend.relay_blob("b", 0, 100) is None
            with pytest.raises(BackendError):
                await anext(backend.get_blob("b"))
        finally:
            await backend.close()
            await setup.delete_blob("b")
            await setup.close()

    aio.run(body())


class _ClientGone(Exception):
    pass


@pytest.mark.parametrize("failure", ["raises", "short"])
def test_a_streamed_put_whose_body_fails_stores_nothing(
    failure: str, request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    """The request's body fails half-way (the client went away, or sent less than it
    declared): the put raises that failure, and the service keeps no blob."""
    backend = remote_backends.azure_backend_on(session_azurite(request.config))
    size = 3 * 1024 * 1024

    async def failing() -> AsyncIterator[bytes]:
        yield DATA
        yield DATA
        if failure == "raises":
            raise _ClientGone

    async def body() -> None:
        async with remote_backends.opened(backend) as opened:
            expected = _ClientGone if failure == "raises" else BackendError
            with pytest.raises(expected):
                await opened.put_blob("cut", failing(), size)
            with pytest.raises(BlobNotFound):
                await opened.blob_size("cut")
            assert [info.blob_id async for info in opened.list_blobs()] == []

    aio.run(body())


def test_a_put_refused_by_the_service_is_translated(
    request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    """A SAS that may read but not write: the streamed Put Blob's 403 becomes a BackendError
    naming the service's error code (and the MD5 probe, refused alike, is not trusted)."""
    server = session_azurite(request.config)
    container = f"t-nowrite-{random.getrandbits(32):08x}"
    setup = AzureBackend(container, connection_string=server.connection_string)
    sas = generate_account_sas(
        server.account_name,
        server.account_key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, list=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    backend = AzureBackend(
        container, account_url=server.account_url, credential=AzureSasCredential(sas)
    )

    async def body() -> None:
        await setup.start()
        try:
            with pytest.raises(BackendError) as caught:
                await backend.put_blob("b", _one(DATA), len(DATA))
            assert not isinstance(caught.value, BackendUnavailable)
            assert "AuthorizationPermissionMismatch" in str(caught.value)
            assert "(HTTP 403)" in str(caught.value)
            assert not backend.digests(len(DATA))
        finally:
            await backend.close()
            await setup.close()

    aio.run(body())
