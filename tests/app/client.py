"""A SigV4-signing client over aiohttp's TestClient, on a fresh application.

`signed_client(workdir)` opens the same Services as `kloudvault serve` (memory backend,
SQLite under `workdir`), builds the real Application and serves it with aiohttp's
TestServer on the caller's event loop. `SignedClient.request` signs with botocore's SigV4
signer (an implementation independent of auth/sigv4.py) and returns status, headers and
body, so a test controls every byte: tampered signatures, skewed clocks, broken XML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from aiohttp.test_utils import TestClient, TestServer
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree
from multidict import CIMultiDictProxy
from yarl import URL

from auth.credentials import ensure_root
from gateway.app import build_app, close_services, open_services
from gateway.context import Services
from gateway.settings import Settings
from tests.support.gateway import DEFAULT_REGION, random_access_key, random_secret_key


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def error_code(self) -> str:
        """The S3 error document's Code."""
        return str(etree.fromstring(self.body).findtext("Code"))


class SignedClient:
    """Requests to one in-process application, signed as its root user by default."""

    def __init__(
        self, client: TestClient[Any, Any], services: Services, access_key: str, secret_key: str
    ) -> None:
        self.client = client
        self.services = services
        self.access_key = access_key
        self.secret_key = secret_key

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | AsyncIterable[bytes] = b"",
        headers: dict[str, str] | None = None,
        sign: bool = True,
        access_key: str | None = None,
        secret: str | None = None,
        when: dt.datetime | None = None,
        signed_body: bytes | None = None,
    ) -> Reply:
        """Send `method path` (path and query, already URL-encoded) with exactly `body`,
        signed as if the body were `signed_body` (default: `body`). A body given as an
        async iterable goes out chunked, with no Content-Length (give `signed_body`)."""
        url = str(self.client.make_url("/")).rstrip("/") + path
        signed = signed_body if signed_body is not None else body
        assert isinstance(signed, bytes), "a streamed body needs signed_body"
        req = AWSRequest(method=method, url=url, data=signed, headers=dict(headers or {}))
        if sign:
            creds = Credentials(access_key or self.access_key, secret or self.secret_key)
            signer = S3SigV4Auth(creds, "s3", DEFAULT_REGION)
            req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(signed).hexdigest()
            if when is not None:
                # botocore reads the clock through get_current_datetime; sign as if at `when`.
                naive = when.astimezone(dt.UTC).replace(tzinfo=None)
                with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
                    signer.add_auth(req)
            else:
                signer.add_auth(req)
        prepared = req.prepare()
        async with self.client.session.request(
            method,
            URL(prepared.url, encoded=True),
            data=body,
            headers={
                name: value
                for name, value in prepared.headers.items()
                if isinstance(body, bytes) or name.lower() != "content-length"
            },
            # Nothing added behind the signer's back that the server would have to ignore.
            skip_auto_headers=("Content-Type",),
        ) as response:
            return Reply(response.status, response.headers, await response.read())


@asynccontextmanager
async def signed_client(workdir: Path, **settings: Any) -> AsyncIterator[SignedClient]:
    """The real app on the memory backend (unless `settings` say otherwise), in this loop."""
    access_key, secret_key = random_access_key(), random_secret_key()
    config = Settings(
        data_dir=str(workdir),
        workers=1,
        backend=settings.pop("backend", "memory"),
        root_access_key=access_key,
        root_secret_key=secret_key,
        **settings,
    )
    services = await open_services(config)
    try:
        await ensure_root(
            services.meta,
            access_key,
            secret_key,
            now=time.time(),
            sealer=services.credentials.sealer,
        )
        async with TestClient(TestServer(build_app(services))) as client:
            yield SignedClient(client, services, access_key, secret_key)
    finally:
        await close_services(services)
