"""Blob bodies on sockets of our own, for the gateway to splice to its clients.

Why: relaying a GetObject (or Get Blob) body through aiohttp's transports copies every
byte into Python and out again, ~0.5 s of CPU per GiB in the gateway on top of the store's
own (bench/RESULTS.md, "s3 backend GET relay"). A body that arrives on a plain TCP socket
the gateway owns can go from that socket to the client's with splice(2) instead
(gateway/sendfile.py): the bytes never enter the process.

How: the backend signs the request as a URL (a presigned GetObject for the s3 backend, a
blob URL with a SAS for azure: backends/azure/signed.py), and this module sends it as an
HTTP/1.1 GET with a Range header over a kept-alive connection, reads and parses the
response's head, and hands over the socket positioned at the body (BlobRelay: the body
bytes that came with the head, then how many are still to be read). Only an answer this
module is sure of is relayed: 200 or 206 with a Content-Length equal to the range's
length, no Transfer-Encoding. Anything else (an error status, a refused connection)
returns None, and the caller reads the blob through the backend's get_blob, whose SDK
call retries and translates errors as for every other request (a second request, only on
that rare path). A server that does not answer within the connect or read timeout is
BackendUnavailable at once: falling back would wait as long again. A connection goes back
to the pool only when its body was read to the end.

HTTP only: over TLS the bytes must be decrypted in the process anyway.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit

from backends.base import BackendUnavailable, BlobRelay

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024  # a response head larger than this is not one we relay
DNS_TTL = 10.0  # seconds an endpoint's address is reused (aiohttp's default cache)
_READ = 16 * 1024  # per read of the head: what it brings of the body is copied once


class _Unusable(Exception):
    """The answer is not one to relay; the caller falls back to get_blob."""


def parse_head(data: bytes) -> tuple[int, dict[str, str]]:
    """The status and the headers (lower-case names) of an HTTP/1.1 response head
    (without its blank line). Raises _Unusable if it is not one."""
    lines = data.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not parts[1].isdigit():
        raise _Unusable(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise _Unusable(f"malformed header line {line[:80]!r}")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    if parts[0] == b"HTTP/1.0":
        headers.setdefault("connection", "close")
    return int(parts[1]), headers


def body_length(status: int, headers: dict[str, str], wanted: int) -> None:
    """Raise _Unusable unless the answer carries exactly `wanted` body bytes, delimited
    by its Content-Length."""
    if status not in (200, 206):
        raise _Unusable(f"status {status}")
    if "transfer-encoding" in headers:
        raise _Unusable("a body with a transfer coding")
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) != wanted:
        raise _Unusable(f"Content-Length {length!r}, not {wanted}")


class RelayClient:
    """Plain HTTP/1.1 GETs of signed URLs, over a pool of kept-alive connections."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, max_idle: int) -> None:
        self.read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle
        self._idle: dict[tuple[str, int], list[socket.socket]] = {}
        # (family, sockaddr, resolved at) per host and port, as aiohttp caches DNS answers
        self._addresses: dict[tuple[str, int], tuple[int, tuple[object, ...], float]] = {}

    async def open(self, url: str, start: int, end: int) -> BlobRelay | None:
        """Bytes [start, end) of the blob at the signed `url`; None if the answer
        is not one to relay (the caller then reads the blob through get_blob)."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            return None
        where = (parts.hostname, parts.port or 80)
        target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        ranged = f"Range: bytes={start}-{end - 1}\r\n"
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{ranged}"
            "Accept-Encoding: identity\r\n\r\n"
        ).encode("latin-1")
        wanted = end - start
        try:
            sock = self._take(where)
            if sock is not None:
                try:
                    return await self._exchange(sock, where, request, wanted, retry=True)
                except _Stale:
                    pass  # a kept-alive connection the server had closed: once more, anew
            sock = await self._connect(where)
            return await self._exchange(sock, where, request, wanted, retry=False)
        except TimeoutError as exc:
            # Falling back would wait as long again, times botocore's attempts.
            raise BackendUnavailable("relayed GET: the store did not answer in time") from exc
        except (OSError, _Unusable) as exc:
            log.debug("relay not used: %s", exc)
            return None

    async def _exchange(
        self,
        sock: socket.socket,
        where: tuple[str, int],
        request: bytes,
        wanted: int,
        *,
        retry: bool,
    ) -> BlobRelay:
        loop = asyncio.get_running_loop()
        kept = False
        try:
            async with asyncio.timeout(self.read_timeout):
                try:
                    await loop.sock_sendall(sock, request)
                    data = await loop.sock_recv(sock, _READ)
                except (ConnectionResetError, BrokenPipeError) as exc:
                    if retry:
                        raise _Stale from exc
                    raise
                if not data:
                    if retry:
                        raise _Stale
                    raise ConnectionResetError("the server closed the connection")
                while (blank := data.find(b"\r\n\r\n")) < 0:
                    if len(data) > HEAD_LIMIT:
                        raise _Unusable("response head too large")
                    more = await loop.sock_recv(sock, _READ)
                    if not more:
                        raise ConnectionResetError("the server closed the connection")
                    data += more
            status, headers = parse_head(data[:blank])
            body_length(status, headers, wanted)
            head = data[blank + 4 :]
            if len(head) > wanted:
                raise _Unusable("more bytes than the Content-Length")
            reuse = "close" not in headers.get("connection", "").lower()
            relay = BlobRelay(
                sock.fileno(),
                head,
                wanted - len(head),
                self.read_timeout,
                lambda done: self._give(where, sock, done and reuse),
            )
            kept = True
            return relay
        finally:
            if not kept:
                sock.close()

    async def _connect(self, where: tuple[str, int]) -> socket.socket:
        loop = asyncio.get_running_loop()
        address = self._addresses.get(where)
        if address is None or loop.time() - address[2] > DNS_TTL:
            infos = await loop.getaddrinfo(*where, type=socket.SOCK_STREAM)
            family, _, _, _, sockaddr = infos[0]
            address = self._addresses[where] = (family, sockaddr, loop.time())
        sock = socket.socket(address[0], socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            async with asyncio.timeout(self._connect_timeout):
                await loop.sock_connect(sock, address[1])
        except BaseException:
            sock.close()
            self._addresses.pop(where, None)  # the name may point elsewhere now
            raise
        return sock

    def _take(self, where: tuple[str, int]) -> socket.socket | None:
        idle = self._idle.get(where)
        while idle:
            sock = idle.pop()
            try:
                sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return sock  # nothing to read: open and idle, as it should be
            except OSError:
                pass
            sock.close()  # closed by the server (b""), holding stray bytes, or failed
        return None

    def _give(self, where: tuple[str, int], sock: socket.socket, reuse: bool) -> None:
        idle = self._idle.setdefault(where, [])
        if reuse and len(idle) < self._max_idle and sock.fileno() >= 0:
            idle.append(sock)
        else:
            sock.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for sock in idle:
                sock.close()
        self._idle.clear()


class _Stale(Exception):
    """A pooled connection turned out closed before its answer began."""
