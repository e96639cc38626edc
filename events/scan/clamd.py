"""An asyncio clamd client: one INSTREAM session per object, over TCP or a unix socket.

A session is fed the object's chunks as they pass on their way to the backend and never
raises: a scanner that cannot be reached, stalls past the timeout or drops the connection
turns into a ScanFailed verdict at `finish()`, and the upload goes on undisturbed
meanwhile (what a failure means is --scan-fail's business, decided by the caller). Once
broken, a session ignores the rest of the stream.

Backpressure: each chunk is sent whole before the next is taken, so a slow clamd slows
the upload instead of piling its bytes up in memory; clamd itself spools the stream to a
temporary file and scans it when the stream ends.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterable
from types import TracebackType
from typing import Any, Self

from events.scan.protocol import (
    COMMAND,
    END,
    MAX_ANSWER,
    MAX_CHUNK,
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

    async def connect(self) -> socket.socket:
        """A connected non-blocking socket (the loop's sock_* calls drive it)."""
        loop = asyncio.get_running_loop()
        # A reachable clamd accepts at once; an upload should not wait long on one that is not.
        async with asyncio.timeout(min(CONNECT_TIMEOUT, self.timeout)):
            if self.endpoint.path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                address: Any = self.endpoint.path
            else:
                infos = await loop.getaddrinfo(
                    self.endpoint.host, self.endpoint.port, type=socket.SOCK_STREAM
                )
                family, kind, proto, _, address = infos[0]
                sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, address)
            except BaseException:
                sock.close()
                raise
            return sock

    def session(self) -> ScanSession:
        return ScanSession(self)

    async def scan(self, stream: AsyncIterable[bytes]) -> Verdict:
        """Scan a whole stream (the async mode, and reading parts back)."""
        async with self.session() as session:
            async for chunk in stream:
                await session.feed(chunk)
            return await session.finish()


class ScanSession:
    """One INSTREAM: `feed()` chunks, then `finish()` for the verdict; use `async with`
    so the connection is closed whatever happens to the upload.

    A plain socket, not an asyncio stream: when a stream passes clamd's StreamMaxLength,
    clamd answers at once and closes, and our next send fails. A stream transport would
    close the socket on that failure, with clamd's answer still unread in it; the socket
    keeps it readable, so the verdict says "too large" rather than "clamd failed". Before
    each chunk, a peek tells whether clamd has answered early, so we stop sending.
    """

    def __init__(self, client: ClamdClient) -> None:
        self._client = client
        self._sock: socket.socket | None = None
        self._failure: ScanFailed | None = None
        self._write_error: BaseException | None = None
        self.size = 0

    async def _open(self) -> socket.socket:
        if self._sock is None:
            self._sock = await self._client.connect()
            await self._send(COMMAND)
        return self._sock

    async def _send(self, data: bytes) -> None:
        assert self._sock is not None
        async with asyncio.timeout(self._client.timeout):
            await asyncio.get_running_loop().sock_sendall(self._sock, data)

    def _answered_early(self) -> bool:
        assert self._sock is not None
        try:
            return bool(self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True  # reset: finish() reads what is left

    async def feed(self, chunk: bytes) -> None:
        if self._failure is not None or self._write_error is not None or not chunk:
            return
        try:
            await self._open()
        except (OSError, TimeoutError) as exc:
            self._failure = ScanFailed(f"clamd at {self._client.endpoint} unreachable: {exc!r}")
            return
        if self._answered_early():
            self._write_error = ConnectionAbortedError("clamd answered before the end")
            return
        try:
            for start in range(0, len(chunk), MAX_CHUNK):
                piece = chunk[start : start + MAX_CHUNK]
                await self._send(chunk_header(len(piece)))
                await self._send(piece)
        except (OSError, TimeoutError) as exc:
            self._write_error = exc
            return
        self.size += len(chunk)

    async def finish(self) -> Verdict:
        """The verdict on what was fed (an empty stream is scanned too)."""
        if self._failure is not None:
            return self._failure
        try:
            sock = await self._open()
        except (OSError, TimeoutError) as exc:
            return ScanFailed(f"clamd at {self._client.endpoint} unreachable: {exc!r}")
        try:
            if self._write_error is None:
                await self._send(END)
            answer = await self._read_answer(sock)
        except (OSError, TimeoutError) as exc:
            cause = self._write_error or exc
            return ScanFailed(f"clamd at {self._client.endpoint} failed: {cause!r}")
        verdict = parse_answer(answer)
        if self._write_error is not None and not isinstance(verdict, ScanFailed):
            # An answer about a stream clamd did not get whole is no verdict on this object.
            return ScanFailed(f"clamd at {self._client.endpoint} failed: {self._write_error!r}")
        return verdict

    async def _read_answer(self, sock: socket.socket) -> bytes:
        """clamd's answer, up to its NUL (or whatever came before the connection closed)."""
        loop = asyncio.get_running_loop()
        answer = b""
        async with asyncio.timeout(self._client.timeout):
            while b"\0" not in answer and len(answer) < MAX_ANSWER:
                try:
                    data = await loop.sock_recv(sock, MAX_ANSWER)
                except OSError:
                    if answer:
                        break
                    raise
                if not data:
                    break
                answer += data
        return answer

    async def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
