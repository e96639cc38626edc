"""The s3 backend streams a range only if the S3 server's answer is that range: a server
that ignores Range (RFC 9110 allows it) answers 200 with the whole object, which is the
range asked for only when the range is the whole object. Against a real SeaweedFS, with
the Range header taken off the request on its way out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from backends.base import BackendError
from tests.support import remote_backends
from tests.support.seaweedfs import session_seaweedfs

DATA = os.urandom(300_001)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.parametrize(
    ("start", "end", "whole"),
    [(10, 2000, False), (10, None, False), (0, 2000, False), (0, len(DATA), True)],
)
def test_a_range_the_server_ignored_is_not_streamed(
    start: int, end: int | None, whole: bool, request: pytest.FixtureRequest, aio: asyncio.Runner
) -> None:
    backend = remote_backends.s3_backend_on(session_seaweedfs(request.config))

    async def body() -> None:
        async with remote_backends.opened(backend) as opened:
            await opened.put_blob("b", _one(DATA), len(DATA))
            wanted = DATA[start:end]
            # The server honours Range: the bytes asked for.
            assert b"".join([c async for c in opened.get_blob("b", start, end)]) == wanted
            client: Any = opened._client  # type: ignore[union-attr]
            real = client.get_object

            async def ignoring_range(**params: Any) -> Any:
                params.pop("Range", None)
                return await real(**params)

            client.get_object = ignoring_range
            try:
                if whole:  # a 200 with the whole object is the range asked for
                    got = b"".join([c async for c in opened.get_blob("b", start, end)])
                    assert got == wanted
                else:
                    with pytest.raises(BackendError, match="not the range asked for"):
                        await anext(opened.get_blob("b", start, end))
            finally:
                client.get_object = real

    aio.run(body())
