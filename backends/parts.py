"""Cut a byte stream into parts of a fixed size: the upload unit of the remote backends.

S3 multipart uploads and Azure staged blocks both want the body in parts of a known size,
while the gateway hands over chunks of whatever size the socket produced. PartReader
gathers chunks until a part is full, keeping the excess for the next part, and copies each
byte at most once (into the joined part); the excess of a chunk is kept as a view, so a
huge chunk is not copied again for every part cut from it.
"""

from __future__ import annotations

from backends.base import ByteStream


class PartReader:
    def __init__(self, data: ByteStream) -> None:
        self._data = data
        self._carry: memoryview | None = None
        self._done = False
        self.total = 0  # bytes handed out so far

    async def read(self, size: int) -> bytes:
        """The next `size` bytes; fewer only at the end of the stream, b"" after it."""
        pieces: list[bytes | memoryview] = []
        have = 0
        if self._carry is not None:
            carry, self._carry = self._carry, None
            if len(carry) >= size:
                if len(carry) > size:
                    self._carry = carry[size:]
                self.total += size
                return bytes(carry[:size])
            pieces.append(carry)
            have = len(carry)
        while have < size and not self._done:
            try:
                chunk = await anext(self._data)
            except StopAsyncIteration:
                self._done = True
                break
            if chunk:
                pieces.append(chunk)
                have += len(chunk)
        if have > size:  # split the last chunk; its tail starts the next part
            last = memoryview(pieces[-1])
            keep = len(last) - (have - size)
            pieces[-1], self._carry = last[:keep], last[keep:]
            have = size
        self.total += have
        return b"".join(pieces)
