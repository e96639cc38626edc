"""The webhook target: one HTTP POST of the event document per event.

The body is the JSON document as is (Content-Type: application/json). With a secret, the
request carries ``X-KloudVault-Signature: sha256=<hex HMAC-SHA256 of the body>`` (the shape
GitHub's webhooks use), so a receiver can check who sent it. The event is delivered once
the receiver answers 2xx; anything else, a connection error or the timeout is a
TargetError and the dispatcher tries again later. https URLs are verified against the
system's CAs, or against ``ca_file`` when given.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl

import aiohttp

from events.targets.base import Message, TargetError

SIGNATURE_HEADER = "X-KloudVault-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTarget:
    def __init__(
        self,
        name: str,
        url: str,
        *,
        secret: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.url = url
        self.secret = secret
        self.ca_file = ca_file
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        ssl_context: ssl.SSLContext | bool = True
        if self.ca_file:
            ssl_context = ssl.create_default_context(cafile=self.ca_file)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context, limit=16),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )

    async def send(self, message: Message) -> None:
        if self._session is None:
            await self.start()
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "X-KloudVault-Event": message.event_name,
            "X-KloudVault-Event-Id": message.event_id,
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, message.body)
        try:
            async with self._session.post(self.url, data=message.body, headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    raise TargetError(f"webhook {self.name}: HTTP {resp.status}")
                await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TargetError(f"webhook {self.name}: {exc!r}") from exc

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def from_url(
    name: str,
    url: str,
    *,
    secret: str | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
) -> WebhookTarget:
    return WebhookTarget(name, url, secret=secret, ca_file=ca_file, timeout=timeout)
