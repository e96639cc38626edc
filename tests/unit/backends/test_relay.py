"""backends/relay.py: the plain HTTP/1.1 GetObject client whose sockets the gateway
splices, against a small HTTP server of the test's own (what SeaweedFS does is covered by
tests/app/test_object_relay.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from backends.base import BackendUnavailable, BlobRelay
from backends.relay import RelayClient, _Unusable, body_length, parse_head

BODY = bytes(range(256)) * 4096  # 1 MiB


def test_parse_head() -> None:
    status, headers = parse_head(
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nX-A: 1\r\nx-a: 2"
    )
    assert status == 206
    assert headers == {"content-length": "10", "x-a": "1, 2"}
    assert parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 1")[1]["connection"] == "close"
    for bad in (b"SPDY 200 OK", b"HTTP/1.1 2x0 OK", b"HTTP/1.1 200 OK\r\nno colon"):
        with pytest.raises(_Unusable):
            parse_head(bad)
    with pytest.raises(_Unusable):
        parse_head(b"HTTP/1.1 200 OK\r\n Folded: value")  # obsolete line folding


@pytest.mark.parametrize(
    ("status", "headers", "ok"),
    [
        (206, {"content-length": "10"}, True),
        (200, {"content-length": "10"}, True),
        (206, {"content-length": "11"}, False),
        (206, {}, False),
        (206, {"content-length": "10", "transfer-encoding": "chunked"}, False),
        (404, {"content-length": "10"}, False),
        (503, {"content-length": "10"}, False),
        (206, {"content-length": "-10"}, False),
    ],
)
def test_body_length(status: int, headers: dict[str, str], ok: bool) -> None:
    if ok:
        body_length(status, headers, 10)
    else:
        with pytest.raises(_Unusable):
            body_length(status, headers, 10)


Answer = Callable[[bytes, int], bytes | None]  # (request head, n-th request) -> reply or None


class FakeServer:
    """Answers each request with `answer(request, n)`; None closes the connection."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def url(self, path: str = "/b/blob") -> str:
        return f"http://127.0.0.1:{self.port}{path}?X-Amz-Signature=abc"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                reply = self.answer(head, len(self.requests))
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ranged(head: bytes) -> tuple[int, int]:
    line = next(x for x in head.split(b"\r\n") if x.lower().startswith(b"range:"))
    first, last = line.split(b"=")[1].split(b"-")
    return int(first), int(last) + 1


def partial(head: bytes, n: int) -> bytes:
    start, end = ranged(head)
    return b"HTTP/1.1 206 Partial Content\r\nContent-Length: %d\r\n\r\n%s" % (
        end - start,
        BODY[start:end],
    )


async def read_body(relay: BlobRelay) -> bytes:
    loop = asyncio.get_running_loop()
    sock = socket.socket(fileno=socket.dup(relay.fd))
    sock.setblocking(False)
    out = bytearray(relay.head)
    with sock:
        while len(out) < len(relay.head) + relay.remaining:
            want = len(relay.head) + relay.remaining - len(out)
            chunk = await loop.sock_recv(sock, min(want, 65536))
            assert chunk
            out += chunk
    return bytes(out)


def client(read_timeout: float = 5.0) -> RelayClient:
    return RelayClient(connect_timeout=2.0, read_timeout=read_timeout, max_idle=4)


def test_relays_ranges_and_reuses_the_connection() -> None:
    async def scenario() -> None:
        async with FakeServer(partial) as server:
            relays = client()
            for start, end in ((0, len(BODY)), (10, 20), (5000, 700_000)):
                relay = await relays.open(server.url(), start, end)
                assert relay is not None
                assert relay.idle_timeout == 5.0
                assert await read_body(relay) == BODY[start:end]
                relay.finish(True)
            assert server.connections == 1
            assert b"Range: bytes=5000-699999\r\n" in server.requests[-1]
            assert server.requests[-1].startswith(
                b"GET /b/blob?X-Amz-Signature=abc HTTP/1.1\r\nHost: 127.0.0.1:"
            )
            relays.close()

    asyncio.run(scenario())


def test_a_body_not_read_to_its_end_closes_the_connection() -> None:
    async def scenario() -> None:
        async with FakeServer(partial) as server:
            relays = client()
            relay = await relays.open(server.url(), 0, len(BODY))
            assert relay is not None
            relay.finish(False)
            relay.finish(True)  # once only: the first call decides
            relay = await relays.open(server.url(), 0, 10)
            assert relay is not None and await read_body(relay) == BODY[:10]
            relay.finish(True)
            assert server.connections == 2
            relays.close()

    asyncio.run(scenario())


def test_a_connection_the_server_closed_is_replaced() -> None:
    """The server closes a kept-alive connection on our next request (a race with its
    idle timeout): the request is sent again on a new connection."""

    def answer(head: bytes, n: int) -> bytes | None:
        return None if n == 2 else partial(head, n)

    async def scenario() -> None:
        async with FakeServer(answer) as server:
            relays = client()
            for _ in range(2):
                relay = await relays.open(server.url(), 0, 100)
                assert relay is not None and await read_body(relay) == BODY[:100]
                relay.finish(True)
            assert server.connections == 2
            assert len(server.requests) == 3
            relays.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNoSuchKey",
        b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\n\r\nhello",  # not 10 bytes
        b"HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\n0123456789extra",
        b"HTTP/1.1 206 Partial Content\r\n" + b"X-Pad: " + b"p" * 70_000 + b"\r\n\r\n",
        b"nonsense\r\n\r\n",
    ],
)
def test_answers_not_to_relay_give_none(reply: bytes) -> None:
    async def scenario() -> None:
        async with FakeServer(lambda head, n: reply) as server:
            relays = client()
            assert await relays.open(server.url(), 0, 10) is None
            assert not any(relays._idle.values())  # that connection is not kept
            relays.close()

    asyncio.run(scenario())


def test_refused_and_tls_give_none_silence_is_unavailable() -> None:
    async def scenario() -> None:
        relays = client(read_timeout=0.3)
        assert await relays.open("https://127.0.0.1:1/b/k?s=1", 0, 10) is None
        with socket.create_server(("127.0.0.1", 0)) as closed:
            port = closed.getsockname()[1]
        assert await relays.open(f"http://127.0.0.1:{port}/b/k", 0, 10) is None  # refused
        assert relays._addresses == {}  # resolved again next time: the name may have moved
        async with FakeServer(lambda head, n: b"HTTP/1.1 206 Par") as server:  # then silence
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(BackendUnavailable, match="in time"):
                await relays.open(server.url(), 0, 10)
            assert loop.time() - started < 2
            assert not any(relays._idle.values())

    asyncio.run(scenario())
