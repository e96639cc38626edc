"""gateway.sendfile: the sendfile(2) pump, on socket pairs under uvloop and asyncio."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from gateway.sendfile import SendfilePump

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
try:
    import uvloop

    LOOPS["uvloop"] = uvloop.new_event_loop
except ImportError:  # pragma: no cover
    pass


def run(loop_name: str, coro: Coroutine[Any, Any, Any]) -> Any:
    loop = LOOPS[loop_name]()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.fixture(params=sorted(LOOPS))
def loop_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _receive(sock: socket.socket, count: int) -> bytes:
    loop = asyncio.get_running_loop()
    out = bytearray()
    while len(out) < count:
        chunk = await loop.sock_recv(sock, 1 << 20)
        if not chunk:
            break
        out += chunk
    return bytes(out)


def test_sends_a_file_range(tmp_path: Path, loop_name: str) -> None:
    data = os.urandom(20 * 1024 * 1024 + 123)  # more than a socket buffer holds, and a STEP
    path = tmp_path / "blob"
    path.write_bytes(data)

    async def scenario() -> bytes:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        with a, b, path.open("rb") as f:
            pump = SendfilePump()
            start, count = 1000, len(data) - 2000
            received = asyncio.ensure_future(_receive(b, count))
            await pump.send(a.fileno(), f.fileno(), start, count)
            got = await received
            assert not pump._jobs
            return got

    assert run(loop_name, scenario()) == data[1000:-1000]


def test_peer_gone_raises(tmp_path: Path, loop_name: str) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(8 * 1024 * 1024))

    async def scenario() -> None:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.close()
        with a, path.open("rb") as f:
            with pytest.raises(OSError):
                await SendfilePump().send(a.fileno(), f.fileno(), 0, 8 * 1024 * 1024)

    run(loop_name, scenario())


def test_file_shorter_than_promised_raises(tmp_path: Path, loop_name: str) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"short")

    async def scenario() -> None:
        a, b = socket.socketpair()
        a.setblocking(False)
        with a, b, path.open("rb") as f:
            with pytest.raises(OSError, match="shorter"):
                await SendfilePump().send(a.fileno(), f.fileno(), 0, 100)

    run(loop_name, scenario())


def test_cancellation_forgets_the_job(tmp_path: Path, loop_name: str) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(16 * 1024 * 1024))

    async def scenario() -> None:
        a, b = socket.socketpair()
        a.setblocking(False)
        with a, b, path.open("rb") as f:
            pump = SendfilePump()
            # Nobody reads b: the socket fills up and the job waits for EPOLLOUT.
            task = asyncio.ensure_future(pump.send(a.fileno(), f.fileno(), 0, 16 * 1024 * 1024))
            await asyncio.sleep(0.2)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not pump._jobs

    run(loop_name, scenario())


def test_sends_a_buffer_and_lets_go_of_it(loop_name: str) -> None:
    data = bytearray(os.urandom(12 * 1024 * 1024 + 7))  # more than a socket buffer holds

    async def scenario() -> bytes:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        with a, b:
            pump = SendfilePump()
            received = asyncio.ensure_future(_receive(b, len(data) - 5))
            view = memoryview(data)
            await pump.send_buffer(a.fileno(), view[5:])
            data[:] = bytes(len(data))  # the caller's again: refilling it changes nothing sent
            got = await received
            assert not pump._jobs
            view.release()  # no export left behind (a held one would make this raise)
            return got

    original = bytes(data)
    assert run(loop_name, scenario()) == original[5:]


def test_buffer_to_a_peer_gone_raises(loop_name: str) -> None:
    async def scenario() -> None:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.close()
        with a:
            with pytest.raises(OSError):
                await SendfilePump().send_buffer(a.fileno(), memoryview(bytes(1 << 20)))

    run(loop_name, scenario())
