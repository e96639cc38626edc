"""In-memory backend: a dict of bytes, the fast test seam (DESIGN.md, "Backend protocol").

Blobs become visible only once their stream has been consumed to the end, so a failing
upload leaves nothing behind, as the Backend protocol requires of every implementation.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from backends.base import BlobInfo, BlobNotFound, ByteStream, check_size

# get_blob yields slices of this size so consumers see the same shape as from a real store.
READ_BLOCK = 1024 * 1024


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._modified: dict[str, float] = {}

    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int:
        buf = bytearray()
        async for chunk in data:
            buf += chunk
        check_size(blob_id, len(buf), size)
        self._blobs[blob_id] = bytes(buf)
        self._modified[blob_id] = time.time()
        return len(buf)

    async def get_blob(
        self, blob_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"negative range [{start}, {end})")
        try:
            blob = self._blobs[blob_id]
        except KeyError:
            raise BlobNotFound(blob_id) from None
        stop = len(blob) if end is None else min(end, len(blob))
        view = memoryview(blob)
        for offset in range(start, stop, READ_BLOCK):
            yield bytes(view[offset : min(offset + READ_BLOCK, stop)])

    async def blob_size(self, blob_id: str) -> int:
        try:
            return len(self._blobs[blob_id])
        except KeyError:
            raise BlobNotFound(blob_id) from None

    async def delete_blob(self, blob_id: str) -> None:
        self._blobs.pop(blob_id, None)
        self._modified.pop(blob_id, None)

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        # A snapshot: puts and deletes during the walk must not break the iteration.
        for blob_id, blob in list(self._blobs.items()):
            yield BlobInfo(blob_id, len(blob), self._modified.get(blob_id))

    async def health(self) -> None:
        return None

    def local_path(self, blob_id: str) -> str | None:
        return None

    async def close(self) -> None:
        return None
