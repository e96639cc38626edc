"""Entra ID access tokens for Azure Storage, fetched once and shared by every request.

A backend with a token credential (azure.identity's DefaultAzureCredential: managed
identity, workload identity, a service principal, az login) authorizes each request with
`Authorization: Bearer <token>`. Asking the credential for every request would mean a
request to the identity endpoint (IMDS, the App Service endpoint, Entra ID itself) per
Get Blob; BearerTokens keeps the token for the scope of Azure Storage and asks again
REFRESH_MARGIN seconds (5 minutes) before it expires, one fetch at a time: requests that
arrive while a fetch is under way wait for it, unless the token they would replace is
still valid, in which case they use that one.

The backend hands the same BearerTokens to the SDK's client as its credential, so the
SDK's calls (container checks, deletes, listings, what signed.py falls back to) and the
requests signed.py sends itself share one token: one get_token per token lifetime for
the whole backend. A call with options (a claims challenge, another tenant) or another
scope is passed through to the credential, uncached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

# https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory
STORAGE_SCOPE = "https://storage.azure.com/.default"
REFRESH_MARGIN = 300.0  # seconds before expiry a token is replaced (azure-core's window too)


def is_token_credential(credential: object) -> bool:
    """Whether `credential` gives bearer tokens (the SDK's own test: it has get_token)."""
    return hasattr(credential, "get_token")


class BearerTokens:
    """The token of `credential` for Azure Storage, cached until `margin` seconds before it
    expires; itself an AsyncTokenCredential (for the SDK's client). It does not own the
    credential: closing it closes nothing."""

    def __init__(
        self,
        credential: AsyncTokenCredential,
        *,
        margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self._margin = margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, token: AccessToken | None) -> bool:
        return token is not None and token.expires_on - self._margin > self._clock()

    def _valid(self, token: AccessToken | None) -> bool:
        return token is not None and token.expires_on > self._clock()

    async def token(self) -> str:
        """The bearer token for Azure Storage."""
        return (await self._storage_token()).token

    async def _storage_token(self) -> AccessToken:
        token = self._token
        if self._fresh(token) or (self._lock.locked() and self._valid(token)):
            assert token is not None
            return token
        async with self._lock:
            if not self._fresh(self._token):  # another task may have fetched it meanwhile
                self._token = await self._credential.get_token(STORAGE_SCOPE)
            assert self._token is not None
            return self._token

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        asked: dict[str, Any] = {"claims": claims, "tenant_id": tenant_id, "enable_cae": enable_cae}
        options = {name: value for name, value in asked.items() if value} | kwargs
        if scopes == (STORAGE_SCOPE,) and not options:
            return await self._storage_token()
        return await self._credential.get_token(*scopes, **options)

    async def close(self) -> None:
        """Nothing: the credential is its owner's to close."""

    async def __aenter__(self) -> BearerTokens:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        pass
