"""The s3 and azure backends stream a blob of known size: no part is ever held in memory;
and a read holds a few socket reads of the body, whatever a slow client leaves unread.

backends.streamed feeds each PutObject / UploadPart / Put Block body from the incoming
stream; the bound is shown with tracemalloc (Python allocations while the blob is stored),
not with a clock: a buffered part would show up as one allocation of the part's size.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest

from backends.base import Backend
from tests.support import remote_backends
from tests.support.azurite import session_azurite
from tests.support.seaweedfs import session_seaweedfs

MiB = 1024 * 1024
PART = 5 * MiB  # S3's minimum part size; the azure block size is set to the same
CHUNK = 64 * 1024


def _backend(name: str, config: pytest.Config, **options: Any) -> Backend:
    if name == "s3":
        server = session_seaweedfs(config)
        return remote_backends.s3_backend_on(server, part_size=PART, **options)
    return remote_backends.azure_backend_on(session_azurite(config), block_size=PART, **options)


def _stored_etag(config: pytest.Config, backend: Backend, blob_id: str) -> str:
    """The ETag SeaweedFS holds for the blob: an MD5 for one PutObject, `md5-N` for N parts."""
    client = session_seaweedfs(config).client()
    key = backend._key(blob_id)  # type: ignore[attr-defined]
    return str(client.head_object(Bucket=remote_backends.S3_BUCKET, Key=key)["ETag"]).strip('"')


async def _chunks(data: memoryview) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), CHUNK):
        yield bytes(data[offset : offset + CHUNK])  # a fresh chunk, as from a socket


@pytest.mark.parametrize(
    ("name", "options"),
    [
        pytest.param("s3", {}, id="s3-one-put"),
        pytest.param("s3", {"single_put_max": 0}, id="s3-parts"),
        pytest.param("azure", {}, id="azure-one-put"),
        pytest.param("azure", {"single_put_max": 0}, id="azure-blocks"),
    ],
)
def test_known_size_put_holds_no_part(
    name: str, options: dict[str, Any], request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    data = random.Random(7).randbytes(3 * PART + 12_345)  # four parts, the last one short
    backend = _backend(name, request.config, **options)

    async def body() -> int:
        async with remote_backends.opened(backend) as opened:  # type: ignore[arg-type]
            await opened.put_blob("warm-up0", _chunks(memoryview(b"x" * 1000)), 1000)
            tracemalloc.start()
            try:
                size = await opened.put_blob("streamed1", _chunks(memoryview(data)), len(data))
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert size == len(data)
            got = b"".join([c async for c in opened.get_blob("streamed1")])
            assert got == data
            if name == "s3":
                # Up to single_put_max (5 GiB by default), one PutObject; past it, parts.
                etag = _stored_etag(request.config, opened, "streamed1")
                parts = "single_put_max" in options
                assert etag.endswith("-4") if parts else etag == hashlib.md5(data).hexdigest()
            return peak

    peak = aio.run(body())
    # Chunks in transit and the SDKs' bookkeeping only: far below one part (5 MiB).
    assert peak < PART // 4, f"{name}: {peak / MiB:.1f} MiB allocated at the peak"


@pytest.mark.parametrize("name", ["s3", "azure"])
def test_get_blob_holds_no_big_buffer(
    name: str, request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    data = random.Random(8).randbytes(8 * MiB + 4321)
    backend = _backend(name, request.config)

    async def body() -> int:
        async with remote_backends.opened(backend) as opened:  # type: ignore[arg-type]
            await opened.put_blob("read1", _chunks(memoryview(data)), len(data))
            await anext(opened.get_blob("read1", 0, 1000))  # warm-up: pool, loop buffers
            digest, size = hashlib.sha256(), 0
            tracemalloc.start()
            try:
                async for chunk in opened.get_blob("read1", 1, len(data)):
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.sleep(0.005)  # a slow client: the store's bytes pile up
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert (size, digest.digest()) == (len(data) - 1, hashlib.sha256(data[1:]).digest())
            return peak

    peak = aio.run(body())
    # The socket's pieces as they come (~256 KiB, aiohttp pauses the socket past 128 KiB
    # unread): 1.3 MiB with the SDKs' bookkeeping. A body read in 1 MiB pieces, copied out
    # of a 2 MiB read-ahead, peaked at 4.3 MiB; the azure SDK's downloader, which joins
    # 4 MiB ranges, at 12 MiB.
    assert peak < 2 * MiB, f"{name}: {peak / MiB:.2f} MiB allocated at the peak"
