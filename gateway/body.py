"""The request payload as an operation sees it: decoded, counted and verified as it streams.

The auth result decides the reader: a literal SHA-256 payload hash is checked at the end
(XAmzContentSHA256Mismatch; hashed in a worker thread behind the stream); aws-chunked
bodies go through auth.chunked.ChunkedDecoder (chunk signatures, trailing checksums); the
declared length (Content-Length, or x-amz-decoded-content-length for aws-chunked) must
match what arrived (IncompleteBody).
Every check runs before the iterator finishes, so a consumer that reached the end of the
stream holds a verified payload; a failed check raises S3Error from the iterator.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import StreamReader
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import EmptyStreamReader

from auth.chunked import ChunkedDecoder
from auth.request import AuthResult, PayloadMode
from backends.buffering import UPLOADS
from gateway.errors import S3Error, S3ErrorCode
from gateway.hashing import Update, hashed_behind

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNCROWDED_READ_BUFFER = 256 * 1024
_STREAMING = {
    PayloadMode.STREAMING_SIGNED,
    PayloadMode.STREAMING_SIGNED_TRAILER,
    PayloadMode.STREAMING_UNSIGNED_TRAILER,
}
_TRAILER = {PayloadMode.STREAMING_SIGNED_TRAILER, PayloadMode.STREAMING_UNSIGNED_TRAILER}


def _sha_update(sha: hashlib._Hash) -> Update:
    def update(chunks: list[bytes]) -> None:
        for chunk in chunks:
            sha.update(chunk)

    return update


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, f"Invalid {name}") from exc
    if value < 0:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, f"Invalid {name}")
    return value


def _waits(content: StreamReader) -> bool:
    """Whether readchunk() may wait for the client (nothing buffered, not at the end).
    aiohttp exposes no public count of buffered bytes; `_buffer` is its deque of them."""
    return not getattr(content, "_buffer", None) and not content.is_eof()


class RequestBody:
    def __init__(
        self,
        content: StreamReader | None,
        auth: AuthResult,
        headers: Mapping[str, str],
        *,
        before_read: Callable[[], Awaitable[None]] | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self._content = content
        # --body-timeout: a client that stops sending mid-body holds a connection and
        # an upload slot; S3 ends such a request with RequestTimeout.
        self._idle_timeout = idle_timeout
        # Runs once, before the first byte is read: dispatch sends a deferred
        # 100 Continue there (gateway/expect.py).
        self._before_read = before_read
        self._auth = auth
        self._streaming = auth.payload_mode in _STREAMING
        encoded_length = _int_header(headers, "content-length")
        if self._streaming:
            self.declared_length = _int_header(headers, "x-amz-decoded-content-length")
            if self.declared_length is None and encoded_length is not None:
                raise S3Error(
                    S3ErrorCode.MISSING_CONTENT_LENGTH,
                    "x-amz-decoded-content-length is required for aws-chunked bodies",
                )
        else:
            self.declared_length = encoded_length
        self.trailers: dict[str, str] = {}
        self._started = False
        self.received = 0

    @property
    def empty(self) -> bool:
        """Known to be empty before reading (a body of unknown length is not)."""
        return self.declared_length == 0 or self._content is None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _payload(self, decoder: ChunkedDecoder | None) -> AsyncIterator[bytes]:
        """The payload pieces, counted against the declared length as they arrive: one
        generator from the socket to the pieces (each level of generators costs a small
        body's read a pass with its bytes and another to the end)."""
        content = self._content
        if content is None:
            return
        if self._before_read is not None:
            await self._before_read()
        if UPLOADS.roomy() and not isinstance(content, EmptyStreamReader):
            # Few uploads in progress: aiohttp's default read buffer (gateway.app sets a
            # small one for when many are) keeps one upload fast.
            content.set_read_chunk_size(UNCROWDED_READ_BUFFER)
        declared = self.declared_length
        try:
            while True:
                # readchunk() hands over one received chunk as it is; read(n) and readany()
                # would first join every buffered chunk into a new copy.
                if _waits(content):
                    async with asyncio.timeout(self._idle_timeout):
                        raw, end_of_http_chunk = await content.readchunk()
                else:  # returns at once: no timer to arm (a small body's whole read)
                    raw, end_of_http_chunk = await content.readchunk()
                if not raw:
                    if end_of_http_chunk:
                        continue
                    return  # (b"", False): the end of the body
                for piece in decoder.feed(raw) if decoder is not None else (raw,):
                    if not piece:
                        continue
                    self.received += len(piece)
                    if declared is not None and self.received > declared:
                        raise S3Error(S3ErrorCode.INCOMPLETE_BODY, "More data than declared")
                    yield piece
        except TimeoutError as exc:
            raise S3Error(S3ErrorCode.REQUEST_TIMEOUT) from exc
        except (ConnectionError, HttpProcessingError, asyncio.IncompleteReadError) as exc:
            raise S3Error(S3ErrorCode.INCOMPLETE_BODY) from exc

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a request body can be read once")
        self._started = True
        auth = self._auth
        decoder = (
            ChunkedDecoder(signer=auth.chunk_signer, expect_trailer=auth.payload_mode in _TRAILER)
            if self._streaming
            else None
        )
        pieces = self._payload(decoder)
        sha = None
        if auth.payload_mode is PayloadMode.SIGNED and auth.payload_sha256 is not None:
            # Hashed in a worker thread behind the stream (gateway.hashing): SHA-256 of a
            # 25 MiB body is ~15 ms of CPU the event loop would otherwise spend.
            sha = hashlib.sha256()
            pieces = hashed_behind(pieces, _sha_update(sha))
        async for piece in pieces:
            yield piece
        if decoder is not None:
            self.trailers = decoder.finish()
        declared = self.declared_length
        if declared is not None and self.received != declared:
            raise S3Error(S3ErrorCode.INCOMPLETE_BODY)
        if sha is not None and sha.hexdigest() != auth.payload_sha256:
            raise S3Error(
                S3ErrorCode.X_AMZ_CONTENT_SHA256_MISMATCH,
                ClientComputedContentSHA256=auth.payload_sha256 or "",
                S3ComputedContentSHA256=sha.hexdigest(),
            )

    async def read_all(self, limit: int, *, too_large: S3Error | None = None) -> bytes:
        """The whole (small) body of a document; past `limit` bytes `too_large` is raised
        (default: MalformedXML, for XML documents)."""
        error = too_large or S3Error(S3ErrorCode.MALFORMED_XML, "The XML document is too large")
        if self.declared_length is not None and self.declared_length > limit:
            raise error
        parts: list[bytes] = []
        size = 0
        async for piece in self:
            size += len(piece)
            if size > limit:
                raise error
            parts.append(piece)
        return b"".join(parts)

    async def drain(self) -> None:
        """Consume and verify a body the operation does not use."""
        if self._started:
            return
        async for _ in self:
            pass
