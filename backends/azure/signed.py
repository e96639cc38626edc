"""Get Blob and Put Blob as plain streamed requests, without the SDK: to signed blob URLs,
or with a bearer token.

Reads. The SDK's downloader (`BlobClient.download_blob().chunks()`) fetches 4 MiB ranges one
after the other, reads each in 256 KiB pieces and joins them into one 4 MiB bytes before the
gateway sees any of it: 4-8 MiB held per GET in flight (400 GETs, 1.6 GiB and more) and
every byte copied twice in Python. One Get Blob of the whole range, read in the pieces the
socket delivers, holds only aiohttp's read buffer; and over plain HTTP (Azurite, or a
store inside the cluster) the same request can be sent on a socket of the relay
(backends/relay.py) for the gateway to splice to its client, the bytes never entering
Python.

Writes. The SDK sends a blob in one Put Blob only from a buffer of its whole length (it
reads the body before it sends it); streamed, it stages blocks. A blob whose length is
known goes up here as one Put Blob whose body is fed from the request as it arrives
(backends/streamed.py's PartBody): one request instead of a block per 8 MiB and a commit,
and an answer that carries the MD5 the service computed over the bytes it stored
(`Content-MD5`, in every Put Blob answer since API version 2012-02-12), which the gateway
takes for the ETag instead of hashing every byte (backends.base.Digesting).

How a request is authorized (BlobUrls.request, the one place that says): with the account
key, a service SAS for that one blob (read, or create and write, valid for `EXPIRES`
seconds; azure-storage-blob's `generate_blob_sas`, ~20 us); with a SAS (a connection
string's SharedAccessSignature, an AzureSasCredential, or a SAS in the account URL) that
SAS; with a token credential (Entra ID: tokens.py caches its token) the blob's URL without
a query, and the headers `Authorization: Bearer <token>`, `x-ms-version` (the API version
the SDK's client speaks: a bearer request without one is refused) and `x-ms-date`
(https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory).
Bearer tokens go over https only (Azure and Azurite refuse them over http, and the SDK
will not send them): a token credential on an http URL has no signed form (`BlobUrls.of`
returns None), and a token-authorized backend is never plain HTTP, so the relay, which
sends a signed URL over plain HTTP, stays off for it.

Only a 200 or 206 answer to a read is streamed: anything else (404, 416, 403, 5xx) or a
read that fails before its answer begins is read again through the SDK, whose retries and
error translation (errors.py) apply as to every other call; a second request, only on that
path. A connection that breaks mid-body raises BackendUnavailable, as the SDK's reads do.
A write cannot be sent again (its body streamed by): an error answer is translated from its
status and `x-ms-error-code` (errors.status_error), and the put fails.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import AsyncIterator, Mapping
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import generate_blob_sas

from backends.azure.errors import azure_errors, status_error
from backends.azure.tokens import BearerTokens, is_token_credential
from backends.streamed import PartBody, body_errors, response_pieces

EXPIRES = 900  # seconds a blob URL is valid: it is used at once, by this process only


class BlobUrls:
    """How requests to the blobs of one container are authorized: signed URLs (an account
    key or a SAS), or bearer tokens in headers (a token credential)."""

    def __init__(
        self,
        container_url: str,
        container: str,
        *,
        account_name: str | None = None,
        account_key: str | None = None,
        sas: str | None = None,
        tokens: BearerTokens | None = None,
        api_version: str | None = None,
    ) -> None:
        if [account_key, sas, tokens].count(None) != 2:
            raise ValueError("give an account key, a SAS or bearer tokens, one of them")
        parts = urlsplit(container_url)
        if tokens is not None and (parts.scheme != "https" or not api_version):
            raise ValueError("bearer tokens need an https URL and the API version")
        self._base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
        self.plain_http = parts.scheme == "http"
        self._container = container
        self._account = (account_name or "", account_key)
        self._sas = sas.lstrip("?") if sas is not None else None
        self._tokens = tokens
        self._api_version = api_version or ""

    @classmethod
    def of(
        cls,
        container_url: str,
        container: str,
        credential: Any,
        *,
        api_version: str | None = None,
    ) -> BlobUrls | None:
        """From what the SDK's client was built with (its `credential`, `url` and
        `api_version`), or None if it has no form here (no credential, or a token
        credential over http)."""
        query = urlsplit(container_url).query
        if query:  # a SAS in the URL (connection string or account URL)
            return cls(container_url, container, sas=query)
        if isinstance(credential, AzureSasCredential):
            return cls(container_url, container, sas=credential.signature)
        if isinstance(credential, AzureNamedKeyCredential):
            named = credential.named_key
            return cls(container_url, container, account_name=named.name, account_key=named.key)
        if is_token_credential(credential):
            if urlsplit(container_url).scheme != "https" or not api_version:
                return None
            if not isinstance(credential, BearerTokens):
                credential = BearerTokens(credential)
            return cls(container_url, container, tokens=credential, api_version=api_version)
        # The SDK turns a key into a SharedKeyCredentialPolicy (private class) that keeps
        # the name and key as plain attributes.
        name, key = (
            getattr(credential, "account_name", None),
            getattr(credential, "account_key", None),
        )
        if isinstance(name, str) and isinstance(key, str):
            return cls(container_url, container, account_name=name, account_key=key)
        return None

    def _path(self, name: str) -> str:
        return self._base + quote(name, safe="~/")

    def url(self, name: str, permission: str = "r", now: datetime.datetime | None = None) -> str:
        """The URL that reads blob `name` (its full name, prefix included), or with
        permission "cw" writes it. A given SAS is used as it is, whatever it allows.
        Not for bearer tokens (no URL carries them): request() says how those go."""
        if self._tokens is not None:
            raise ValueError("a token credential signs no URL")
        path = self._path(name)
        if self._sas is not None:
            return f"{path}?{self._sas}"
        account, key = self._account
        expiry = (now or datetime.datetime.now(datetime.UTC)) + datetime.timedelta(seconds=EXPIRES)
        sas = generate_blob_sas(
            account, self._container, name, account_key=key, permission=permission, expiry=expiry
        )
        return f"{path}?{sas}"

    async def request(
        self, name: str, permission: str = "r", now: datetime.datetime | None = None
    ) -> tuple[str, dict[str, str]]:
        """The URL and the headers of an authorized request to blob `name` (permission as
        for url()): a signed URL and no headers, or with bearer tokens the blob's URL and
        the token's headers (a fetch of the token if the cached one is near its expiry)."""
        if self._tokens is None:
            return self.url(name, permission, now), {}
        token = await self._tokens.token()
        when = now or datetime.datetime.now(datetime.UTC)
        return self._path(name), {
            "Authorization": f"Bearer {token}",
            "x-ms-version": self._api_version,
            "x-ms-date": format_datetime(when, usegmt=True),
        }


async def open_blob(
    session: aiohttp.ClientSession,
    url: str,
    start: int,
    end: int | None,
    timeout: aiohttp.ClientTimeout,
    auth: Mapping[str, str] | None = None,
) -> aiohttp.ClientResponse | None:
    """The answer to a Get Blob of bytes [start, end) (end None: to the blob's end), its
    body not yet read; None if it is not one to stream (the caller asks the SDK): only a
    200 to a request for the whole blob, or a 206 for a range, with the length asked for.
    `auth`: the headers that authorize it (BlobUrls.request), if any."""
    headers = {"Accept-Encoding": "identity", **(auth or {})}
    ranged = start > 0 or end is not None
    if ranged:
        headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
    try:
        response = await session.get(url, headers=headers, timeout=timeout)
    except (aiohttp.ClientError, OSError):  # TimeoutError is an OSError
        return None  # the SDK's call retries what failed before an answer
    length = response.content_length
    if response.status != (206 if ranged else 200) or (end is not None and length != end - start):
        response.release()
        return None
    return response


async def body(response: aiohttp.ClientResponse, blob_id: str) -> AsyncIterator[bytes]:
    """The body of `response` as it arrives (backends.streamed.response_pieces)."""
    try:
        async for chunk in response_pieces(
            response.content, lambda: azure_errors("Get Blob", blob_id)
        ):
            yield chunk
    finally:
        response.close()


async def put_blob(
    session: aiohttp.ClientSession,
    url: str,
    data: PartBody,
    timeout: aiohttp.ClientTimeout,
    blob_id: str,
    auth: Mapping[str, str] | None = None,
) -> bytes | None:
    """Put Blob (a block blob) of `data.length` bytes streamed from `data`; the MD5 the
    service computed, or None if its answer carried none. `auth` as for open_blob."""
    headers = {
        "x-ms-blob-type": "BlockBlob",
        "Content-Length": str(data.length),
        **(auth or {}),
    }
    with body_errors(data), azure_errors("Put Blob", blob_id):
        async with session.put(url, data=data, headers=headers, timeout=timeout) as response:
            if response.status != 201:
                code = response.headers.get("x-ms-error-code", "")
                raise status_error("Put Blob", blob_id, response.status, code)
            return content_md5(response.headers.get("Content-MD5"))


def content_md5(value: str | None) -> bytes | None:
    """The 16 bytes of a base64 Content-MD5 header; None for anything else."""
    if not value:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 16 else None
