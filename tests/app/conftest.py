"""Fixtures for handler behaviour on the real application, in this process.

`gateway` is one AppServer (tests/app/server.py) per variant for the whole session: the
memory backend for every test that uses it, plus local (files on a temp dir), s3 (the
session's SeaweedFS) and azure (the session's Azurite) for the tests of a module that opts
in with `pytestmark = pytest.mark.all_backends` (a test marked `local_only` stays on
memory), and memory over TLS for a module marked `https`: boto3 sends trailing checksums
(STREAMING-UNSIGNED-PAYLOAD-TRAILER) and unsigned payloads only over https, so the
write-path modules run there too. Metadata is SQLite on a temporary file, as `kloudvault
serve` has it by default. `bucket` is a fresh bucket per test, emptied and deleted
afterwards; `s3` is a boto3 client on the server. `app_factory` starts servers with other
settings (a domain, a collector with no grace period...), stopped when the session ends
unless a fixture stops its own sooner.

`app_client` is the asynchronous way in, for tests written against the app directly: a
fresh application per test behind aiohttp's TestClient, requests signed with SigV4 by
botocore, run on the test's own event loop (`aio`, an asyncio.Runner: no pytest-asyncio).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.client import SignedClient, signed_client
from tests.app.server import AppServer
from tests.support.clients import boto3_client, empty_and_delete_bucket, unique_bucket_name
from tests.support.remote_backends import S3_BUCKET
from tests.support.tls import TLSFiles

# "<backend>[-https]"
MEMORY_VARIANTS = ("memory",)
ALL_BACKEND_VARIANTS = ("local", "s3", "azure")
HTTPS_VARIANTS = ("memory-https",)

AppFactory = Callable[..., AppServer]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `gateway` (indirect, session scope) over the backends a test runs on."""
    if "gateway" not in metafunc.fixturenames:
        return
    variants = list(MEMORY_VARIANTS)
    definition = metafunc.definition
    if definition.get_closest_marker("all_backends") and not definition.get_closest_marker(
        "local_only"
    ):
        variants += ALL_BACKEND_VARIANTS
    if definition.get_closest_marker("https"):
        variants += HTTPS_VARIANTS
    metafunc.parametrize("gateway", variants, indirect=True, scope="session", ids=variants)


def backend_settings(config: pytest.Config, backend: str) -> dict[str, Any]:
    """Settings for an app on `backend`, in a namespace of its own on the session's server."""
    if backend in ("memory", "local"):
        return {"backend": backend}
    namespace = f"app-{secrets.token_hex(6)}"
    if backend == "s3":
        from tests.support.seaweedfs import session_seaweedfs

        weed = session_seaweedfs(config)
        return {
            "backend": "s3",
            "s3_endpoint": weed.endpoint,
            "s3_bucket": S3_BUCKET,
            "s3_prefix": f"{namespace}/",
            "s3_region": weed.region,
            "s3_access_key": weed.access_key,
            "s3_secret_key": weed.secret_key,
        }
    if backend == "azure":
        from tests.support.azurite import session_azurite

        azurite = session_azurite(config)
        return {
            "backend": "azure",
            "azure_container": namespace,
            "azure_connection_string": azurite.connection_string,
        }
    raise ValueError(f"unknown backend variant {backend!r}")


@pytest.fixture(scope="session")
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tls_files: TLSFiles
) -> Iterator[AppServer]:
    backend, _, scheme = str(request.param).partition("-")
    settings = backend_settings(request.config, backend)
    tls = tls_files if scheme == "https" else None
    workdir = tmp_path_factory.mktemp(f"app-{request.param}")
    server = AppServer(workdir, tls=tls, **settings).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppFactory]:
    """start(backend="memory", clock=time.time, **settings) -> a running AppServer."""
    started: list[AppServer] = []

    def start(**kwargs: Any) -> AppServer:
        server = AppServer(tmp_path_factory.mktemp("app"), **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# By endpoint, not id(): pytest may tear a session variant down and start it again, and
# the new server object can reuse the old one's id.
_CLIENTS: dict[str, Any] = {}


@pytest.fixture
def s3(gateway: AppServer) -> Any:
    """A boto3 S3 client (default checksum settings, path style) on the server."""
    client = _CLIENTS.get(gateway.endpoint)
    if client is None:
        client = _CLIENTS[gateway.endpoint] = boto3_client(gateway)
    return client


@pytest.fixture
def bucket(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    """A new, empty bucket for this test; emptied and deleted afterwards (best effort)."""
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete_bucket(s3, name)


# -- the asynchronous client ------------------------------------------------------------------


@pytest.fixture
def aio() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture
def app_client(tmp_path: Path, aio: asyncio.Runner) -> Iterator[SignedClient]:
    """A fresh app (memory backend, SQLite in tmp_path) behind aiohttp's TestClient."""
    manager = signed_client(tmp_path / "app")
    client = aio.run(manager.__aenter__())
    try:
        yield client
    finally:
        aio.run(manager.__aexit__(None, None, None))
