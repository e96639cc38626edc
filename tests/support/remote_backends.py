"""`s3` and `azure` backends on the test peers, for the contract suite and the failure tests.

Each backend gets a namespace of its own on a shared server: a fresh key prefix in one
SeaweedFS bucket (a bucket per test would make SeaweedFS grow volumes for each), a fresh
container (with a prefix, so that prefix handling is exercised too) in Azurite.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from tests.support.azurite import Azurite
from tests.support.seaweedfs import SeaweedFS

if TYPE_CHECKING:
    from backends.azure import AzureBackend
    from backends.s3 import S3Backend

S3_BUCKET = "kv-contract"


def s3_backend_on(
    server: SeaweedFS, *, bucket: str = S3_BUCKET, prefix: str | None = None, **options: Any
) -> S3Backend:
    from backends.s3 import S3Backend

    return S3Backend(
        server.endpoint,
        bucket,
        prefix=f"t-{secrets.token_hex(6)}/" if prefix is None else prefix,
        region=server.region,
        access_key=server.access_key,
        secret_key=server.secret_key,
        **options,
    )


def azure_backend_on(
    server: Azurite, *, container: str | None = None, prefix: str = "kv/", **options: Any
) -> AzureBackend:
    from backends.azure import AzureBackend

    return AzureBackend(
        f"t-{secrets.token_hex(6)}" if container is None else container,
        connection_string=server.connection_string,
        prefix=prefix,
        **options,
    )


@asynccontextmanager
async def opened(
    backend: S3Backend | AzureBackend, *, purge: bool = True
) -> AsyncIterator[S3Backend | AzureBackend]:
    """The backend, started; on exit its blobs are deleted (if `purge`) and it is closed."""
    await backend.start()
    try:
        yield backend
    finally:
        try:
            if purge:
                for blob_id in [info.blob_id async for info in backend.list_blobs()]:
                    await backend.delete_blob(blob_id)
        finally:
            await backend.close()
