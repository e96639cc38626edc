"""The response value an operation returns (S3Response), and its only writer: the value
becomes bytes on the wire here and nowhere else.

Bodies are bytes (XML documents), a FileBody (local file ranges, one per plain segment of
the object, sent one after another with sendfile(2) by gateway/sendfile.py's pump, since
uvloop has no loop.sendfile; copied over TLS), a RelayBody (blob ranges a remote backend
hands over on sockets of its own, spliced by the same pump to the client's socket), a
BlockBody (bytes made by blocking calls into buffers the writer reuses: a sealed local
object's plaintext) or a StreamBody (backend blob ranges, streamed). HEAD answers carry
the object's Content-Length and no body.

A BlockBody is written with two buffers of the reader's block size for the whole
response. Over plain TCP the process's one blocks thread fills one and writes it straight
to the socket itself, without blocking, filling the other meanwhile when the socket is
full; the sendfile pump's thread sends only what a full socket left over
(gateway/blocksend.py). Written through the transport instead, each block would have
to be a new buffer (the transport keeps what it was given until it is sent): a new
1 MiB allocation, zero-filled and page-faulted, per MiB sent, which cost a sealed GET
more CPU than AES-GCM did. Over TLS that copy is unavoidable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from backends.base import Backend, BlobRelay, ByteStream, Relaying
from gateway import buffers as pool
from gateway import sendfile
from gateway.blocksend import BlockReader, BlockSender, blocks_executor
from gateway.values import quick_init
from gateway.xml.codec import render
from gateway.xml.models import ErrorDocument

SERVER = "KloudVault"
XML_CONTENT_TYPE = "application/xml"
_SENDFILE_FALLBACK_BLOCK = 256 * 1024  # a TLS copy holds this plus its ciphertext per request
# Body bytes the writer sent (the audit log's bytes out); set once per response.
BYTES_SENT = web.RequestKey("bytes_sent", int)


# -- the value -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRange:
    """Bytes [offset, offset+count) of a local file."""

    path: str
    offset: int
    count: int


@dataclass(frozen=True)
class FileBody:
    """Local file ranges sent back to back with sendfile: a single PUT's blob, or the
    plain blobs of a multipart object's parts (segment by segment, no copy)."""

    ranges: tuple[FileRange, ...]

    @property
    def count(self) -> int:
        return sum(r.count for r in self.ranges)


@dataclass(frozen=True)
class StreamBody:
    """A byte stream of known length; its first chunk is read before headers are sent,
    so a backend error still becomes an S3 error document."""

    stream: ByteStream
    length: int


@dataclass(frozen=True)
class BlockBody:
    """`length` bytes from a BlockReader."""

    reader: BlockReader
    length: int


@dataclass(frozen=True)
class RelayPart:
    """Bytes [start, end) of a backend blob."""

    blob_id: str
    start: int
    end: int


@dataclass(frozen=True)
class RelayBody:
    """Blob ranges of a backend that can hand a blob's bytes over on a socket
    (backends.base.Relaying): spliced from that socket to a plain TCP client's, part by
    part; streamed through the transport over TLS, or for a part the backend does not
    hand over."""

    backend: Backend
    parts: tuple[RelayPart, ...]

    @property
    def length(self) -> int:
        return sum(part.end - part.start for part in self.parts)


Body = bytes | FileBody | StreamBody | BlockBody | RelayBody | None


@quick_init
@dataclass(frozen=True)
class S3Response:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body = None

    @classmethod
    def xml(
        cls, payload: bytes, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> S3Response:
        return cls(status, {"Content-Type": XML_CONTENT_TYPE, **(headers or {})}, payload)


# -- the writer ------------------------------------------------------------------------------


# Request ids are 8 random bytes as upper-case hex, as before, but cut from a pool read
# 4 KiB at a time: one getrandom(2) per 512 requests instead of one per request (under
# load each syscall is a chance to lose the CPU). A forked worker must not reuse its
# parent's pool, or two processes would hand out the same ids.
_ID_POOL = 4096


class _RequestIds:
    def __init__(self) -> None:
        self.pool = b""
        self.at = 0

    def next(self) -> str:
        at = self.at
        if at >= len(self.pool):
            self.pool, at = os.urandom(_ID_POOL), 0
        self.at = at + 8
        return self.pool[at : at + 8].hex().upper()

    def forget(self) -> None:
        self.pool, self.at = b"", 0


_ids = _RequestIds()
os.register_at_fork(after_in_child=_ids.forget)


def new_request_id() -> str:
    return _ids.next()


def common_headers(request_id: str) -> dict[str, str]:
    return {"x-amz-request-id": request_id, "x-amz-id-2": request_id, "Server": SERVER}


async def write(request: web.Request, value: S3Response, request_id: str) -> web.StreamResponse:
    headers = {**common_headers(request_id), **value.headers}
    body = value.body
    is_head = request.method == "HEAD"
    if body is None or isinstance(body, bytes):
        if is_head or body is None:
            request[BYTES_SENT] = 0
            resp = web.StreamResponse(status=value.status, headers=headers)
            if "Content-Length" not in headers and value.status not in (204, 304):
                resp.content_length = 0
            await resp.prepare(request)
            await resp.write_eof()
            return resp
        request[BYTES_SENT] = len(body)
        return web.Response(status=value.status, headers=headers, body=body)
    if isinstance(body, FileBody):
        return await _write_file(request, value.status, headers, body, is_head)
    if isinstance(body, BlockBody):
        return await _write_blocks(request, value.status, headers, body, is_head)
    if isinstance(body, RelayBody):
        return await _write_relay(request, value.status, headers, body, is_head)
    return await _write_stream(request, value.status, headers, body, is_head)


async def _write_file(
    request: web.Request, status: int, headers: dict[str, str], body: FileBody, is_head: bool
) -> web.StreamResponse:
    ranges = [r for r in body.ranges if r.count > 0]
    total = body.count
    # Open the first file before sending headers: a vanished blob must still become an S3
    # error. A later one is opened as its turn comes (an object of 10,000 parts must not
    # hold 10,000 descriptors); if it vanished meanwhile the transfer is cut short, as a
    # failing backend stream cuts a StreamBody.
    fobj = await asyncio.to_thread(open, ranges[0].path, "rb") if ranges else None
    try:
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_length = total
        writer = await resp.prepare(request)
        if is_head or fobj is None:
            request[BYTES_SENT] = 0
            await resp.write_eof()
            return resp
        sock = await _raw_socket(request, writer)
        for n, part in enumerate(ranges):
            if n:
                await asyncio.to_thread(fobj.close)
                fobj = None
                fobj = await asyncio.to_thread(open, part.path, "rb")
            if sock is not None:
                # The pump only starts once the socket is writable, and the previous
                # range was all sent: nothing is buffered in the transport in between.
                await sendfile.pump().send(sock.fileno(), fobj.fileno(), part.offset, part.count)
            else:
                await _copy_file(resp, fobj, part.offset, part.count)  # TLS: no zero-copy
        # Counted once it is all sent: a transfer cut short shows 0 (sendfile does not say
        # how far it got).
        request[BYTES_SENT] = total
        await resp.write_eof()
        return resp
    finally:
        if fobj is not None:
            await asyncio.to_thread(fobj.close)


async def _raw_socket(
    request: web.Request, writer: AbstractStreamWriter | None
) -> socket.socket | None:
    """The connection's socket, its headers already sent, when bytes may go to it directly
    (plain TCP); None over TLS, where they must go through the transport."""
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("Connection lost")
    sock = _plain_socket(transport)
    if sock is None:
        return None
    await _flush_headers(writer, transport)
    return sock


def _plain_socket(transport: asyncio.BaseTransport | None) -> socket.socket | None:
    """The transport's socket if it is plain TCP (bytes may go to it directly)."""
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    return cast(socket.socket | None, transport.get_extra_info("socket"))


async def _flush_headers(writer: AbstractStreamWriter | None, transport: asyncio.Transport) -> None:
    """Put the buffered status line and headers on the wire before sendfile's bytes."""
    # aiohttp holds the headers back to send them with the first body chunk; sendfile
    # bypasses it, so they go out now, and everything the transport buffered must be gone
    # before the body bytes may follow.
    send_headers = getattr(writer, "send_headers", None)
    if send_headers is not None:
        send_headers()
    while transport.get_write_buffer_size():
        if transport.is_closing():
            raise ConnectionResetError("Connection lost")
        await asyncio.sleep(0.001)


async def _copy_file(resp: web.StreamResponse, fobj: object, offset: int, count: int) -> None:
    fd = fobj.fileno()  # type: ignore[attr-defined]
    while count > 0:
        block = await asyncio.to_thread(os.pread, fd, min(count, _SENDFILE_FALLBACK_BLOCK), offset)
        if not block:
            raise ConnectionResetError("file shrank while sending")
        await resp.write(block)
        offset += len(block)
        count -= len(block)


async def _write_blocks(
    request: web.Request, status: int, headers: dict[str, str], body: BlockBody, is_head: bool
) -> web.StreamResponse:
    reader = body.reader
    loop = asyncio.get_running_loop()
    blocks = blocks_executor()  # one thread: gateway/blocksend.py says why
    buffers: list[memoryview] = []
    running: asyncio.Future[int] | asyncio.Future[None] | None = None
    sender: BlockSender | None = None
    sent = 0

    def buffer(k: int) -> memoryview:
        while len(buffers) <= k % 2:  # reused across responses: gateway/buffers.py
            buffers.append(memoryview(pool.take(reader.block_size)))
        return buffers[k % 2]

    try:
        n = 0
        if not is_head and body.length:
            running = loop.run_in_executor(blocks, reader.read_into, buffer(0))
            n = await asyncio.shield(running)  # before the headers: an error is an S3 error
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_length = body.length
        writer = await resp.prepare(request)
        if n:
            sock = await _raw_socket(request, writer)
            if sock is not None:
                # The blocks thread makes and sends the blocks (gateway/blocksend.py); the
                # pump sends only what a full socket left over.
                sender = BlockSender(reader, sock.fileno(), (buffer(0), buffer(1)), n)
                while not sender.done:
                    running = loop.run_in_executor(blocks, sender.step)
                    await asyncio.shield(running)
                    if sender.pending:
                        await sendfile.pump().send_buffer(sender.fd, sender.pending)
                        sender.pending_sent()
                sent = sender.sent
            k = 0
            while n and sock is None:
                # TLS: the next block is made while this one is copied into the transport
                # (which keeps what it is given: no buffer of ours).
                running = loop.run_in_executor(blocks, reader.read_into, buffer(k + 1))
                await resp.write(bytes(buffer(k)[:n]))
                sent += n
                n = await asyncio.shield(running)
                k += 1
            if sent != body.length:
                raise ConnectionResetError(f"body of {sent} bytes, not {body.length}")
        await resp.write_eof()
        return resp
    finally:
        request[BYTES_SENT] = sent if sender is None else sender.sent
        if running is None or running.done():
            _close_reader(reader, sender, running, buffers)
        else:  # cancelled while a step runs: its thread still uses the reader and socket
            running.add_done_callback(lambda f: _close_reader(reader, sender, f, buffers))


def _close_reader(
    reader: BlockReader,
    sender: BlockSender | None,
    last: asyncio.Future[int] | asyncio.Future[None] | None,
    buffers: list[memoryview],
) -> None:
    if last is not None and not last.cancelled():
        last.exception()  # retrieved: nobody else waits for it
    if sender is not None:
        sender.close()
    reader.close()
    for view in buffers:
        pool.give(view.obj)  # type: ignore[arg-type]  # a bytearray from pool.take


async def _write_stream(
    request: web.Request, status: int, headers: dict[str, str], body: StreamBody, is_head: bool
) -> web.StreamResponse:
    stream: ByteStream = body.stream
    sent = 0
    try:
        first = b"" if is_head or body.length == 0 else await anext(stream, b"")
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_length = body.length
        await resp.prepare(request)
        if not is_head and body.length:
            if first:
                await resp.write(first)
                sent = len(first)
            async for chunk in stream:
                await resp.write(chunk)
                sent += len(chunk)
        await resp.write_eof()
        return resp
    finally:
        request[BYTES_SENT] = sent
        await _close_stream(stream)


async def _write_relay(
    request: web.Request, status: int, headers: dict[str, str], body: RelayBody, is_head: bool
) -> web.StreamResponse:
    transport = request.transport
    backend = body.backend
    if is_head or _plain_socket(transport) is None or not body.parts:
        streamed = StreamBody(_part_stream(backend, body.parts), body.length)
        return await _write_stream(request, status, headers, streamed, is_head)
    relay: BlobRelay | None = None
    stream: ByteStream | None = None
    chunk = b""
    sent = 0
    try:
        # Before the headers, so that a failure is still an S3 error: the first part's
        # socket, or, when the backend does not hand it over, its stream's first chunk.
        relay, stream, chunk = await _open_part(backend, body.parts[0])
        resp = web.StreamResponse(status=status, headers=headers)
        resp.content_length = body.length
        writer = await resp.prepare(request)
        sock = await _raw_socket(request, writer)
        assert sock is not None and transport is not None  # plain TCP, checked above
        for n, part in enumerate(body.parts):
            if n:
                relay, stream, chunk = await _open_part(backend, part)
            if relay is not None:
                taken: BlobRelay = relay
                relay = None  # _splice finishes it
                await _splice(taken, sock.fileno())
            elif stream is not None:
                # Through the transport; emptied before the pump writes to the socket again.
                while chunk:
                    await resp.write(chunk)
                    chunk = await anext(stream, b"")
                done: ByteStream = stream
                stream = None
                await _close_stream(done)
                await _flush_headers(None, transport)
            sent += part.end - part.start
        await resp.write_eof()
        return resp
    finally:
        request[BYTES_SENT] = sent
        if relay is not None:
            relay.finish(False)
        if stream is not None:
            await _close_stream(stream)


async def _open_part(
    backend: Backend, part: RelayPart
) -> tuple[BlobRelay | None, ByteStream | None, bytes]:
    """The part's bytes on the backend's socket; or, when it does not hand them over, its
    stream with the first chunk read (a missing blob raises here)."""
    relay = await cast(Relaying, backend).relay_blob(part.blob_id, part.start, part.end)
    if relay is not None:
        return relay, None, b""
    stream = backend.get_blob(part.blob_id, part.start, part.end)
    try:
        return None, stream, await anext(stream, b"")
    except BaseException:
        await _close_stream(stream)
        raise


async def _splice(relay: BlobRelay, sock_fd: int) -> None:
    """Send `relay`'s bytes to the socket: what came with the response's head, then the
    rest straight from the backend's socket (gateway/sendfile.py)."""
    complete = False
    try:
        await sendfile.pump().splice(
            relay.fd, sock_fd, relay.remaining, relay.idle_timeout, relay.head
        )
        complete = True
    finally:
        relay.finish(complete)


async def _part_stream(backend: Backend, parts: tuple[RelayPart, ...]) -> ByteStream:
    for part in parts:
        stream = backend.get_blob(part.blob_id, part.start, part.end)
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await _close_stream(stream)


async def _close_stream(stream: ByteStream) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def error_response(
    request: web.Request,
    *,
    code: str,
    message: str,
    status: int,
    request_id: str,
    resource: str | None,
    fields: dict[str, str],
    extra_headers: dict[str, str],
) -> web.Response:
    headers = {**common_headers(request_id), **extra_headers}
    if request.method == "HEAD" or status == 304:
        # HEAD errors have no body; S3 still tells the code in no header, only the status.
        request[BYTES_SENT] = 0
        return web.Response(status=status, headers=headers)
    doc = ErrorDocument(
        code=code, message=message, resource=resource, request_id=request_id, fields=fields
    )
    headers["Content-Type"] = XML_CONTENT_TYPE
    payload = render(doc)
    request[BYTES_SENT] = len(payload)
    return web.Response(status=status, headers=headers, body=payload)
