"""Get Blob as one streamed request: signed blob URLs, read without the SDK's downloader.

Why: the SDK's downloader (`BlobClient.download_blob().chunks()`) fetches 4 MiB ranges one
after the other, reads each in 256 KiB pieces and joins them into one 4 MiB bytes before the
gateway sees any of it: 4-8 MiB held per GET in flight (400 GETs, 1.6 GiB and more) and
every byte copied twice in Python. One Get Blob of the whole range, read in the pieces the
socket delivers, holds only aiohttp's read buffer; and over plain HTTP (Azurite, or a
store inside the cluster) the same request can be sent on a socket of the relay
(backends/relay.py) for the gateway to splice to its client, the bytes never entering
Python.

How a request is signed: with the account key, a service SAS for that one blob (read only,
valid for `EXPIRES` seconds; azure-storage-blob's `generate_blob_sas`, ~20 us); with a SAS
(a connection string's SharedAccessSignature, an AzureSasCredential, or a SAS in the
account URL) that SAS. A token credential (Entra ID) has no URL form: those backends keep
the SDK's downloader (`BlobUrls.of` returns None).

Only a 200 or 206 answer is streamed: anything else (404, 416, 403, 5xx) or a request that
fails before its answer begins is read again through the SDK, whose retries and error
translation (errors.py) apply as to every other call; a second request, only on that path.
A connection that breaks mid-body raises BackendUnavailable, as the SDK's reads do.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import generate_blob_sas

from backends.azure.errors import azure_errors

EXPIRES = 900  # seconds a blob URL is valid: it is used at once, by this process only


class BlobUrls:
    """Signed Get Blob URLs for the blobs of one container."""

    def __init__(
        self,
        container_url: str,
        container: str,
        *,
        account_name: str | None = None,
        account_key: str | None = None,
        sas: str | None = None,
    ) -> None:
        if (account_key is None) == (sas is None):
            raise ValueError("give an account key or a SAS, one of them")
        parts = urlsplit(container_url)
        self._base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
        self.plain_http = parts.scheme == "http"
        self._container = container
        self._account = (account_name or "", account_key)
        self._sas = sas.lstrip("?") if sas is not None else None

    @classmethod
    def of(cls, container_url: str, container: str, credential: Any) -> BlobUrls | None:
        """From what the SDK's client was built with (its `credential` and `url`), or None
        if it authenticates with a token."""
        query = urlsplit(container_url).query
        if query:  # a SAS in the URL (connection string or account URL)
            return cls(container_url, container, sas=query)
        if isinstance(credential, AzureSasCredential):
            return cls(container_url, container, sas=credential.signature)
        if isinstance(credential, AzureNamedKeyCredential):
            named = credential.named_key
            return cls(container_url, container, account_name=named.name, account_key=named.key)
        # The SDK turns a key into a SharedKeyCredentialPolicy (private class) that keeps
        # the name and key as plain attributes.
        name, key = (
            getattr(credential, "account_name", None),
            getattr(credential, "account_key", None),
        )
        if isinstance(name, str) and isinstance(key, str):
            return cls(container_url, container, account_name=name, account_key=key)
        return None

    def url(self, name: str, now: datetime.datetime | None = None) -> str:
        """The URL that reads blob `name` (its full name, prefix included)."""
        path = self._base + quote(name, safe="~/")
        if self._sas is not None:
            return f"{path}?{self._sas}"
        account, key = self._account
        expiry = (now or datetime.datetime.now(datetime.UTC)) + datetime.timedelta(seconds=EXPIRES)
        sas = generate_blob_sas(
            account, self._container, name, account_key=key, permission="r", expiry=expiry
        )
        return f"{path}?{sas}"


async def open_blob(
    session: aiohttp.ClientSession,
    url: str,
    start: int,
    end: int | None,
    timeout: aiohttp.ClientTimeout,
) -> aiohttp.ClientResponse | None:
    """The answer to a Get Blob of bytes [start, end) (end None: to the blob's end), its
    body not yet read; None if it is not one to stream (the caller asks the SDK)."""
    headers = {"Accept-Encoding": "identity"}
    if start > 0 or end is not None:
        headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
    try:
        response = await session.get(url, headers=headers, timeout=timeout)
    except (aiohttp.ClientError, OSError):
        return None  # the SDK's call retries what failed before an answer
    if response.status not in (200, 206):
        response.release()
        return None
    return response


async def body(response: aiohttp.ClientResponse, blob_id: str) -> AsyncIterator[bytes]:
    """The body of `response` in the pieces the socket delivered, uncopied. aiohttp fails
    a body shorter than its Content-Length (ClientPayloadError -> BackendUnavailable)."""
    content = response.content
    try:
        while True:
            with azure_errors("Get Blob", blob_id):
                chunk, _ = await content.readchunk()
            if chunk:
                yield chunk
            elif content.at_eof():
                return
    finally:
        response.close()
