"""The azure backend with an Entra ID token credential, against a real Azurite over https
taking bearer tokens (--oauth basic: tests/support/azurite.py). Blobs go up as one
streamed Put Blob and come back as one streamed Get Blob with `Authorization: Bearer`,
never through the SDK's downloader or staged blocks (backends/azure/signed.py); the token is
fetched once for every request, the SDK's included, and again near its expiry
(backends/azure/tokens.py); a token the service refuses is a BackendError that changes
nothing. An account URL alone is Entra ID through azure-identity's DefaultAzureCredential,
here reaching a managed identity endpoint of the test's own."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity.aio import DefaultAzureCredential
from azure.storage.blob.aio import BlobClient

from backends.azure import AzureBackend
from backends.azure.tokens import REFRESH_MARGIN, STORAGE_SCOPE
from backends.base import BackendError, BackendUnavailable, BlobNotFound
from tests.support import remote_backends
from tests.support.azurite import Azurite, IdentityEndpoint, entra_token, session_oauth_azurite

DATA = random.Random(12).randbytes(700_001)  # > 256 KiB: one streamed Put Blob
SMALL = DATA[:1000]  # a buffered Put Blob through the SDK


class EntraCredential:
    """An AsyncTokenCredential handing out JWTs Azurite takes (or, by `kind`, refuses),
    counting the calls. `expires_on` says what the credential claims: by default the
    token's own expiry."""

    def __init__(self, kind: str = "good", *, first_expires_in: float | None = None) -> None:
        self.kind = kind
        self.first_expires_in = first_expires_in
        self.asked: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.asked.append(scopes)
        expires_in = 3600.0
        if self.first_expires_in is not None and len(self.asked) == 1:
            expires_in = self.first_expires_in
        if self.kind == "expired":  # the JWT expired; the credential says it has an hour
            token = entra_token(lifetime=-120)
        elif self.kind == "wrong-audience":
            token = entra_token(aud="https://management.azure.com")
        else:
            token = entra_token(lifetime=expires_in)
        return AccessToken(token, int(time.time() + expires_in))

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> EntraCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _token_backend(server: Azurite, credential: Any, **options: Any) -> AzureBackend:
    return AzureBackend(
        f"t-token-{secrets.token_hex(4)}",
        account_url=server.account_url,
        credential=credential,
        prefix="p/ x+é~/",
        ssl_context=server.ssl_context(),
        **options,
    )


def _key_backend(server: Azurite, container: str) -> AzureBackend:
    """The same container through the account key (for setting up and looking)."""
    return AzureBackend(
        container,
        connection_string=server.connection_string,
        prefix="p/ x+é~/",
        ssl_context=server.ssl_context(),
    )


def _sdk_paths_refused(patched: pytest.MonkeyPatch) -> None:
    """Make the SDK's downloader and block staging fail the test if anything uses them."""

    async def refused(self: BlobClient, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("went through the SDK's downloader or staged blocks")

    for name in ("download_blob", "stage_block", "commit_block_list"):
        patched.setattr(BlobClient, name, refused)


def test_puts_and_reads_stream_with_a_bearer_token(
    request: pytest.FixtureRequest, aio: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = session_oauth_azurite(request.config)
    credential = EntraCredential()
    backend = _token_backend(server, credential)

    async def body() -> None:
        async with remote_backends.opened(backend) as opened:
            assert opened.digests(len(DATA))  # the probe's streamed Put Blob told its MD5
            with monkeypatch.context() as patched:
                _sdk_paths_refused(patched)
                assert await opened.put_blob("blob 1+", _one(DATA), len(DATA)) == len(DATA)
                size, md5 = await opened.put_blob_digested("blob 2", _one(DATA), len(DATA))
                assert size == len(DATA) and md5 is not None
                assert await opened.put_blob("small", _one(SMALL), len(SMALL)) == len(SMALL)
                whole = b"".join([c async for c in opened.get_blob("blob 1+")])
                ranged = b"".join([c async for c in opened.get_blob("blob 1+", 5, 400_000)])
                tail = b"".join([c async for c in opened.get_blob("blob 1+", 699_999)])
                small = b"".join([c async for c in opened.get_blob("small")])
                # The relay sends a signed URL over plain http: never with a bearer token.
                assert await opened.relay_blob("blob 1+", 3, 650_000) is None
            assert whole == DATA
            assert ranged == DATA[5:400_000]
            assert tail == DATA[699_999:]
            assert small == SMALL
            listed = sorted([info.blob_id async for info in opened.list_blobs()])
            assert listed == ["blob 1+", "blob 2", "small"]
            await opened.delete_blob("blob 1+")
            with pytest.raises(BlobNotFound):
                await opened.blob_size("blob 1+")
            with pytest.raises(BlobNotFound):
                await anext(opened.get_blob("blob 1+"))  # the 404 is read through the SDK
        # One token for all of it: the container check, the probe, the SDK's calls, the
        # streamed requests.
        assert credential.asked == [(STORAGE_SCOPE,)]

    aio.run(body())


def test_a_token_near_its_expiry_is_fetched_again(
    request: pytest.FixtureRequest, aio: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first token expires inside the refresh margin: the next request fetches another,
    and that one serves the rest."""
    server = session_oauth_azurite(request.config)
    credential = EntraCredential(first_expires_in=REFRESH_MARGIN - 60)
    backend = _token_backend(server, credential)

    async def body() -> None:
        async with remote_backends.opened(backend) as opened:
            assert len(credential.asked) == 2  # start-up's requests took the second one
            with monkeypatch.context() as patched:
                _sdk_paths_refused(patched)
                for number in range(5):
                    await opened.put_blob(f"b{number}", _one(DATA), len(DATA))
                    got = b"".join([c async for c in opened.get_blob(f"b{number}", 10)])
                    assert got == DATA[10:]
        assert len(credential.asked) == 2

    aio.run(body())


@pytest.mark.parametrize("kind", ["expired", "wrong-audience"])
def test_a_refused_token_is_a_backend_error_that_changes_nothing(
    kind: str, request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    """Azurite answers 403 AuthenticationFailed: every operation raises a BackendError
    naming it (not BackendUnavailable: retrying will not help, a human must), streamed or
    through the SDK, and what was stored stays as it was."""
    server = session_oauth_azurite(request.config)
    credential = EntraCredential(kind)
    backend = _token_backend(server, credential, create_container=False)
    keyed = _key_backend(server, backend._container_name)

    def refused(caught: pytest.ExceptionInfo[BackendError]) -> None:
        assert not isinstance(caught.value, BackendUnavailable | BlobNotFound)
        assert "AuthenticationFailed" in str(caught.value)
        assert "(HTTP 403)" in str(caught.value)

    async def body() -> None:
        async with remote_backends.opened(keyed) as setup:
            await setup.put_blob("kept", _one(DATA), len(DATA))
            try:
                for name, data in (("streamed", DATA), ("small", SMALL), ("kept", DATA[:300_000])):
                    with pytest.raises(BackendError) as caught:
                        await backend.put_blob(name, _one(data), len(data))
                    refused(caught)
                with pytest.raises(BackendError) as caught:
                    await anext(backend.get_blob("kept", 5, 1000))
                refused(caught)
                with pytest.raises(BackendError) as caught:
                    await backend.delete_blob("kept")
                refused(caught)
                assert not backend.digests(len(DATA))  # the MD5 probe was refused too
            finally:
                await backend.close()
            assert b"".join([c async for c in setup.get_blob("kept")]) == DATA
            assert [info.blob_id async for info in setup.list_blobs()] == ["kept"]

    aio.run(body())


def test_an_account_url_alone_is_entra_id_through_default_azure_credential(
    request: pytest.FixtureRequest, aio: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DefaultAzureCredential, with nothing of the service principal or workload identity in
    the environment, reaches the managed identity of an App Service (IDENTITY_ENDPOINT and
    IDENTITY_HEADER): asked once, with the storage resource; closed with the backend."""
    server = session_oauth_azurite(request.config)
    closed: list[DefaultAzureCredential] = []
    close = DefaultAzureCredential.close

    async def watched_close(self: DefaultAzureCredential) -> None:
        closed.append(self)
        await close(self)

    with IdentityEndpoint() as identity:
        for name in [name for name in os.environ if name.startswith("AZURE_")]:
            monkeypatch.delenv(name)
        for name, value in identity.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(DefaultAzureCredential, "close", watched_close)
        backend = AzureBackend(
            f"t-entra-{secrets.token_hex(4)}",
            account_url=server.account_url,
            ssl_context=server.ssl_context(),
        )

        async def body() -> None:
            async with remote_backends.opened(backend) as opened:
                with monkeypatch.context() as patched:
                    _sdk_paths_refused(patched)
                    await opened.put_blob("b", _one(DATA), len(DATA))
                    assert b"".join([c async for c in opened.get_blob("b", 1)]) == DATA[1:]
            assert len(closed) == 1

        aio.run(body())
    (asked,) = identity.requests
    assert asked.query == {"api-version": ["2019-08-01"], "resource": ["https://storage.azure.com"]}
    assert asked.identity_header == identity.secret
