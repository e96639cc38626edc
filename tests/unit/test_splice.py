"""gateway.sendfile: the pump's splice(2) relay from one socket to another, on TCP and
UNIX socket pairs under uvloop and asyncio."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from gateway.sendfile import SendfilePump
from tests.unit.test_sendfile import LOOPS, _receive, run

MiB = 1024 * 1024


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        a = socket.create_connection(server.getsockname())
        b, _ = server.accept()
    return a, b


@pytest.fixture(params=sorted(LOOPS))
def loop_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["tcp", "unix"])
def pairs(request: pytest.FixtureRequest) -> object:
    return _tcp_pair if request.param == "tcp" else socket.socketpair


async def _send_all(sock: socket.socket, data: bytes, pause_every: int = 0) -> None:
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    step = pause_every or len(data)
    for at in range(0, len(data), step):
        await loop.sock_sendall(sock, view[at : at + step])
        if pause_every:
            await asyncio.sleep(0.01)


def _nonblocking(*socks: socket.socket) -> None:
    for sock in socks:
        sock.setblocking(False)


def test_relays_a_body_larger_than_every_buffer(loop_name: str, pairs: object) -> None:
    data = os.urandom(24 * MiB + 5)

    async def scenario() -> bytes:
        src_far, src = pairs()  # type: ignore[operator]
        dst, dst_far = pairs()  # type: ignore[operator]
        _nonblocking(src_far, src, dst, dst_far)
        with src_far, src, dst, dst_far:
            pump = SendfilePump()
            feeding = asyncio.ensure_future(_send_all(src_far, data, pause_every=3 * MiB))
            received = asyncio.ensure_future(_receive(dst_far, len(data)))
            await pump.splice(src.fileno(), dst.fileno(), len(data), 10.0)
            await feeding
            got = await received
            assert not pump._jobs
            # Nothing more was read from the source than asked for.
            src_far.sendall(b"after")
            await asyncio.sleep(0.05)
            assert src.recv(16) == b"after"
            return got

    assert run(loop_name, scenario()) == data


def test_a_slow_reader_is_waited_for(loop_name: str) -> None:
    """The pipe fills up while the client reads nothing: the pump stops reading the
    source (no busy loop, no stall error: the source is not what is late)."""
    data = os.urandom(8 * MiB)

    async def scenario() -> bytes:
        src_far, src = _tcp_pair()
        dst, dst_far = _tcp_pair()
        _nonblocking(src_far, src, dst, dst_far)
        with src_far, src, dst, dst_far:
            pump = SendfilePump()
            feeding = asyncio.ensure_future(_send_all(src_far, data))
            task = asyncio.ensure_future(pump.splice(src.fileno(), dst.fileno(), len(data), 0.2))
            started = time.process_time()
            await asyncio.sleep(0.8)  # the client reads nothing meanwhile
            assert not task.done()
            assert time.process_time() - started < 0.4  # the pump thread sleeps in epoll
            got = await _receive(dst_far, len(data))
            await task
            await feeding
            return got

    assert run(loop_name, scenario()) == data


def test_a_source_that_ends_early_fails(loop_name: str, pairs: object) -> None:
    async def scenario() -> None:
        src_far, src = pairs()  # type: ignore[operator]
        dst, dst_far = pairs()  # type: ignore[operator]
        _nonblocking(src, dst, dst_far)
        with src, dst, dst_far:
            pump = SendfilePump()
            with src_far:
                src_far.sendall(b"x" * 1000)
            received = asyncio.ensure_future(_receive(dst_far, 1000))
            with pytest.raises(OSError, match="ended early"):
                await pump.splice(src.fileno(), dst.fileno(), 5000, 10.0)
            assert await received == b"x" * 1000
            assert not pump._jobs

    run(loop_name, scenario())


def test_a_stalled_source_times_out(loop_name: str) -> None:
    async def scenario() -> None:
        src_far, src = _tcp_pair()
        dst, dst_far = _tcp_pair()
        _nonblocking(src, dst, dst_far)
        with src_far, src, dst, dst_far:
            pump = SendfilePump()
            src_far.sendall(b"y" * 100)  # then nothing more
            received = asyncio.ensure_future(_receive(dst_far, 100))
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await pump.splice(src.fileno(), dst.fileno(), 10_000, 0.3)
            assert 0.3 <= time.monotonic() - started < 3
            assert await received == b"y" * 100
            assert not pump._jobs

    run(loop_name, scenario())


def test_a_client_gone_fails_and_cancellation_forgets(loop_name: str) -> None:
    async def scenario() -> None:
        src_far, src = _tcp_pair()
        dst, dst_far = _tcp_pair()
        _nonblocking(src_far, src, dst)
        with src_far, src, dst:
            pump = SendfilePump()
            feeding = asyncio.ensure_future(_send_all(src_far, os.urandom(8 * MiB)))
            task = asyncio.ensure_future(pump.splice(src.fileno(), dst.fileno(), 8 * MiB, 10.0))
            await asyncio.sleep(0.1)
            dst_far.close()  # the client goes away with bytes unread: a reset
            with pytest.raises(OSError):
                await task
            assert not pump._jobs
            feeding.cancel()

        # And a job cancelled while it waits for the source is forgotten at once.
        src_far, src = _tcp_pair()
        dst, dst_far = _tcp_pair()
        _nonblocking(src, dst)
        with src_far, src, dst, dst_far:
            task = asyncio.ensure_future(pump.splice(src.fileno(), dst.fileno(), MiB, 10.0))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not pump._jobs
            os.fstat(src.fileno())  # the caller's descriptors are the caller's, still open
            os.fstat(dst.fileno())

    run(loop_name, scenario())


@pytest.mark.parametrize("head_size", [1, 64 * 1024, 6 * MiB])
def test_head_goes_first_in_the_same_job(loop_name: str, pairs: object, head_size: int) -> None:
    """The bytes that came with the backend's response head are written before any byte
    of the pipe, by the same job (one wake-up of the pump), even when the client's
    socket cannot take them at once (6 MiB: more than its buffers)."""
    head = os.urandom(head_size)
    body = os.urandom(3 * MiB + 7)

    async def scenario() -> bytes:
        src_far, src = pairs()  # type: ignore[operator]
        dst, dst_far = pairs()  # type: ignore[operator]
        _nonblocking(src_far, src, dst, dst_far)
        with src_far, src, dst, dst_far:
            pump = SendfilePump()
            feeding = asyncio.ensure_future(_send_all(src_far, body))
            await asyncio.sleep(0.05)  # the body waits in the source while the head goes
            task = asyncio.ensure_future(
                pump.splice(src.fileno(), dst.fileno(), len(body), 10.0, head)
            )
            await asyncio.sleep(0.2)  # the client reads late
            got = await _receive(dst_far, len(head) + len(body))
            await task
            await feeding
            assert not pump._jobs
            return got

    assert run(loop_name, scenario()) == head + body


def test_head_alone(loop_name: str) -> None:
    """A body that came whole with the response head: nothing to read from the source."""

    async def scenario() -> bytes:
        src_far, src = _tcp_pair()
        dst, dst_far = _tcp_pair()
        _nonblocking(src, dst, dst_far)
        with src_far, src, dst, dst_far:
            pump = SendfilePump()
            await pump.splice(src.fileno(), dst.fileno(), 0, 1.0, b"whole body")
            assert not pump._jobs
            src_far.sendall(b"next")  # the source was not read
            await asyncio.sleep(0.05)
            assert src.recv(16) == b"next"
            return await _receive(dst_far, 10)

    assert run(loop_name, scenario()) == b"whole body"
