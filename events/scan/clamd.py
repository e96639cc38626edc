"""An asyncio clamd client: one INSTREAM session per object, over TCP or a unix socket.

A session is fed the object's chunks as they pass on their way to the backend and never
raises: a scanner that cannot be reached, stalls past the timeout or drops the connection
turns into a ScanFailed verdict at `finish()`, and the upload goes on undisturbed
meanwhile (what a failure means is --scan-fail's business, decided by the caller). Once
broken, a session ignores the rest of the stream.

Backpressure: each chunk waits for the socket's buffer to drain, so a slow clamd slows
the upload instead of piling its bytes up in memory; clamd itself spools the stream to a
temporary file and scans it when the stream ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable
from types import TracebackType
from typing import Self

from events.scan.protocol import (
    COMMAND,
    END,
    MAX_ANSWER,
    MAX_CHUNK,
    PING,
    Endpoint,
    ScanFailed,
    Verdict,
    chunk_header,
    parse_answer,
)

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0


class ClamdClient:
    """clamd at `endpoint`; `timeout` bounds each step (connect, each write, the answer)."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = 60.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # A reachable clamd accepts at once; an upload should not wait long on one that is not.
        async with asyncio.timeout(min(CONNECT_TIMEOUT, self.timeout)):
            if self.endpoint.path is not None:
                return await asyncio.open_unix_connection(self.endpoint.path)
            return await asyncio.open_connection(self.endpoint.host, self.endpoint.port)

    def session(self) -> ScanSession:
        return ScanSession(self)

    async def scan(self, stream: AsyncIterable[bytes]) -> Verdict:
        """Scan a whole stream (the async mode, and reading parts back)."""
        async with self.session() as session:
            async for chunk in stream:
                await session.feed(chunk)
            return await session.finish()

    async def ping(self) -> bool:
        try:
            reader, writer = await self.connect()
        except (OSError, TimeoutError):
            return False
        try:
            writer.write(PING)
            async with asyncio.timeout(self.timeout):
                await writer.drain()
                return (await reader.read(16)).startswith(b"PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()


class ScanSession:
    """One INSTREAM: `feed()` chunks, then `finish()` for the verdict; use `async with`
    so the connection is closed whatever happens to the upload."""

    def __init__(self, client: ClamdClient) -> None:
        self._client = client
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._failure: ScanFailed | None = None
        self._write_error: BaseException | None = None
        self.size = 0

    async def _open(self) -> asyncio.StreamWriter:
        if self._writer is None:
            self._reader, self._writer = await self._client.connect()
            self._writer.write(COMMAND)
        return self._writer

    async def feed(self, chunk: bytes) -> None:
        if self._failure is not None or self._write_error is not None or not chunk:
            return
        try:
            writer = await self._open()
        except (OSError, TimeoutError) as exc:
            self._failure = ScanFailed(f"clamd at {self._client.endpoint} unreachable: {exc!r}")
            return
        try:
            for start in range(0, len(chunk), MAX_CHUNK):
                piece = chunk[start : start + MAX_CHUNK]
                writer.write(chunk_header(len(piece)))
                writer.write(piece)
            async with asyncio.timeout(self._client.timeout):
                await writer.drain()
        except (OSError, TimeoutError) as exc:
            # clamd may have answered already (StreamMaxLength) and closed: finish() reads it.
            self._write_error = exc
            return
        self.size += len(chunk)

    async def finish(self) -> Verdict:
        """The verdict on what was fed (an empty stream is scanned too)."""
        if self._failure is not None:
            return self._failure
        try:
            writer = await self._open()
        except (OSError, TimeoutError) as exc:
            return ScanFailed(f"clamd at {self._client.endpoint} unreachable: {exc!r}")
        assert self._reader is not None
        try:
            async with asyncio.timeout(self._client.timeout):
                if self._write_error is None:
                    writer.write(END)
                    await writer.drain()
                answer = await self._reader.read(MAX_ANSWER)
        except (OSError, TimeoutError) as exc:
            cause = self._write_error or exc
            return ScanFailed(f"clamd at {self._client.endpoint} failed: {cause!r}")
        verdict = parse_answer(answer)
        if self._write_error is not None and not isinstance(verdict, ScanFailed):
            # It answered about a stream it did not get whole: not a verdict on this object.
            return ScanFailed(f"clamd at {self._client.endpoint} failed: {self._write_error!r}")
        return verdict

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
