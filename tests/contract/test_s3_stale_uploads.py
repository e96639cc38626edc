"""S3Backend.abort_stale_uploads and the collector calling it: multipart uploads left on
the S3 server by a put_blob whose own abort failed (the server was unreachable)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.jobs.collector import collect_once
from gateway.meta.sqlite import SqliteMetaStore
from tests.support.remote_backends import S3_BUCKET, opened, s3_backend_on
from tests.support.seaweedfs import SeaweedFS, session_seaweedfs

HOUR = 3600.0


@pytest.fixture
def weed(request: pytest.FixtureRequest) -> SeaweedFS:
    return session_seaweedfs(request.config)


@pytest.fixture
def aio() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


def upload_ids(client: Any, prefix: str) -> set[str]:
    uploads = client.list_multipart_uploads(Bucket=S3_BUCKET, Prefix=prefix).get("Uploads", [])
    return {u["UploadId"] for u in uploads}


def leftover_upload(client: Any, key: str) -> str:
    """What a put_blob cut off before its abort leaves: an upload with a part."""
    upload_id: str = client.create_multipart_upload(Bucket=S3_BUCKET, Key=key)["UploadId"]
    client.upload_part(Bucket=S3_BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x")
    return upload_id


def test_abort_stale_uploads(weed: SeaweedFS, aio: asyncio.Runner) -> None:
    prefix = f"t-{secrets.token_hex(6)}/"
    backend = s3_backend_on(weed, prefix=prefix)
    client = weed.client()

    async def body() -> None:
        async with opened(backend):
            mine = leftover_upload(client, f"{prefix}blob-1")
            other_prefix = f"not-{prefix}"
            foreign = leftover_upload(client, f"{other_prefix}blob-2")
            try:
                assert await backend.abort_stale_uploads(HOUR) == 0  # too young
                assert upload_ids(client, prefix) == {mine}
                assert await backend.abort_stale_uploads(HOUR, now=time.time() + 2 * HOUR) == 1
                assert upload_ids(client, prefix) == set()
                # Only our prefix: the other namespace's upload is not ours to abort.
                assert upload_ids(client, other_prefix) == {foreign}
            finally:
                client.abort_multipart_upload(
                    Bucket=S3_BUCKET, Key=f"{other_prefix}blob-2", UploadId=foreign
                )

    try:
        aio.run(body())
    finally:
        client.close()


def test_collector_aborts_stale_uploads(
    weed: SeaweedFS, aio: asyncio.Runner, tmp_path: Any
) -> None:
    prefix = f"t-{secrets.token_hex(6)}/"
    backend = s3_backend_on(weed, prefix=prefix)
    client = weed.client()
    meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))

    async def body() -> None:
        await meta.open()
        try:
            async with opened(backend):
                leftover_upload(client, f"{prefix}blob-1")
                await collect_once(
                    meta, backend, now=time.time(), garbage_grace=0, pending_ttl=HOUR
                )
                assert len(upload_ids(client, prefix)) == 1  # younger than --pending-ttl
                await collect_once(
                    meta, backend, now=time.time() + 2 * HOUR, garbage_grace=0, pending_ttl=HOUR
                )
                assert upload_ids(client, prefix) == set()
        finally:
            await meta.close()

    try:
        aio.run(body())
    finally:
        client.close()
