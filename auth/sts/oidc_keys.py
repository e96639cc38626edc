"""OpenID Connect providers' signing keys: discovery document and JWKS, fetched and cached.

    {issuer}/.well-known/openid-configuration  ->  {"issuer": ..., "jwks_uri": ...}
    jwks_uri                                   ->  {"keys": [...]}   (joserfc KeySet)

A provider's key set is kept for `ttl` seconds; a token whose `kid` is not in it makes
the caller ask again with `refresh=True`, which refetches at most once per
`min_refresh` seconds per issuer (a flood of tokens with made-up kids cannot turn into a
flood of requests to the provider). Failures are IDPCommunicationError, as STS answers
when it cannot reach the provider.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from auth.iam.errors import IamError, IamErrorCode

MAX_DOCUMENT_BYTES = 512 * 1024


class OidcKeys:
    def __init__(
        self,
        *,
        ttl: float = 3600.0,
        min_refresh: float = 10.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.timeout = timeout
        self._clock = clock
        self._sets: dict[str, tuple[float, KeySet]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def key_set(self, issuer: str, *, refresh: bool = False) -> KeySet:
        """The key set of the provider whose issuer URL is `issuer`."""
        lock = self._locks.setdefault(issuer, asyncio.Lock())
        async with lock:
            now = self._clock()
            hit = self._sets.get(issuer)
            if hit is not None:
                age = now - hit[0]
                if age < self.ttl and (not refresh or age < self.min_refresh):
                    return hit[1]
            keys = await self._fetch(issuer)
            self._sets[issuer] = (self._clock(), keys)
            return keys

    async def discovery(self, issuer: str) -> dict[str, Any]:
        """The provider's discovery document (not cached: the console's single sign-on
        reads its endpoints once per sign-in)."""
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                return await _discovery(session, issuer)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise _unreachable(str(exc) or type(exc).__name__) from exc

    async def _fetch(self, issuer: str) -> KeySet:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                discovery = await _discovery(session, issuer)
                if not isinstance(discovery.get("jwks_uri"), str):
                    raise _unreachable("the discovery document has no jwks_uri")
                document = await _json(session, discovery["jwks_uri"])
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise _unreachable(str(exc) or type(exc).__name__) from exc
        try:
            return KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as exc:
            raise _unreachable("the provider's JWKS is not valid") from exc


async def _discovery(session: aiohttp.ClientSession, issuer: str) -> dict[str, Any]:
    discovery = await _json(session, f"{issuer}/.well-known/openid-configuration")
    if discovery.get("issuer") != issuer:
        raise _unreachable("the discovery document does not name this issuer")
    return discovery


async def _json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise ValueError(f"{url}: HTTP {response.status}")
        body = await response.content.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url}: document too large")
    found = json.loads(body)
    if not isinstance(found, dict):
        raise ValueError(f"{url}: not a JSON object")
    return found


def _unreachable(why: str) -> IamError:
    return IamError(
        IamErrorCode.IDP_COMMUNICATION_ERROR,
        f"Couldn't retrieve verification key from your identity provider: {why}",
    )
