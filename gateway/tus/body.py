"""A PATCH body cut into pieces: at most `n` bytes at a time, whatever the chunks it
arrives in, hashed for Upload-Checksum, and ended cleanly when the client goes away.

tus asks a server to keep what it received of an interrupted PATCH (the client then
asks HEAD for the offset and sends the rest): a dropped connection ends the body here
instead of failing it, and `interrupted` says so. A body past `limit` (the bytes the
upload still lacks) fails with 413 as soon as the byte arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator

from gateway.errors import S3Error, S3ErrorCode
from gateway.tus.protocol import TusError


class PatchBody:
    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        limit: int,
        checksum: tuple[str, bytes] | None = None,
    ) -> None:
        self._source = source.__aiter__()
        self._limit = limit
        self._pending = b""  # received, not yet handed out
        self._ended = False
        self.received = 0
        self.interrupted = False
        self.checksum = checksum
        self._hasher = None if checksum is None else hashlib.new(checksum[0])

    async def more(self) -> bool:
        """Whether at least one more byte is to come (reads ahead one chunk)."""
        while not self._pending and not self._ended:
            try:
                chunk = await self._source.__anext__()
            except StopAsyncIteration:
                self._ended = True
                break
            except S3Error as error:
                if error.code is not S3ErrorCode.INCOMPLETE_BODY:
                    raise
                self._ended = self.interrupted = True
                break
            self.received += len(chunk)
            if self.received > self._limit:
                raise TusError(413, "The body goes past Upload-Length")
            if self._hasher is not None:
                self._hasher.update(chunk)
            self._pending = chunk
        return bool(self._pending)

    async def take(self, n: int) -> AsyncIterator[bytes]:
        """Up to `n` bytes, in order; what is left of a chunk waits for the next take."""
        while n > 0 and await self.more():
            chunk, self._pending = self._pending[:n], self._pending[n:]
            n -= len(chunk)
            yield chunk

    def checksum_matches(self) -> bool:
        """The whole body against Upload-Checksum (True without one); call at the end."""
        if self.checksum is None or self._hasher is None:
            return True
        return self._hasher.digest() == self.checksum[1]
