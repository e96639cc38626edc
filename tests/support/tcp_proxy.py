"""A loopback TCP proxy in front of a real server, to break its connections on demand.

The brokers the event targets talk to are the machine's shared servers: other test runs use
them, so a test may not restart or SIGSTOP them. It puts this proxy between its client and
the broker instead; the client then sees what a broker restart or hang looks like from its
side of the socket, while every byte that does get through still reaches the real broker:

- `restart()`: every open connection is reset (RST) and bytes in flight are lost, as when
  the broker process dies; new connections are forwarded again, as when it is back.
- `stop()` ... `start()`: the broker shuts down and stays down for a while: connections
  are closed (FIN, as by a process exiting) and new ones refused, until `start()` listens
  again on the same port.
- `freeze()`: connections stay open and new ones are accepted, but nothing is forwarded
  either way, as when the broker is stopped (SIGSTOP) or the network drops packets; only
  timeouts notice. `restart()` ends a freeze.

With `tls` (a server SSLContext), the proxy terminates TLS and talks plain TCP to the broker:
a TLS endpoint for brokers that have none here, to test the clients' amqps://, mqtts://
and rediss:// with certificate verification.

It runs in the test's own event loop (`async with TcpProxy(host, port) as proxy`), on a
port claimed for this test process (tests/support/ports.py), so that `start()` can take it
again.
"""

from __future__ import annotations

import asyncio
import ssl
from types import TracebackType
from typing import Self

from tests.support.ports import free_port_pair


class TcpProxy:
    def __init__(
        self, upstream_host: str, upstream_port: int, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.tls = tls
        # Below the ephemeral range: no outgoing connection takes it while we are stopped.
        self.port = free_port_pair(1)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, ssl=self.tls
            )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.restart(graceful=True)
        if server is not None:
            await server.wait_closed()

    def freeze(self) -> None:
        self._flowing.clear()

    async def restart(self, *, graceful: bool = False) -> None:
        for writer in list(self._writers):
            if graceful:
                writer.close()  # FIN after what was already written; the pumps stop below
            else:
                writer.transport.abort()  # RST, nothing flushed
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._flowing.set()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        try:
            await self._flowing.wait()  # a frozen server accepts (the kernel does) but is mute
            if client_w.is_closing():  # reset by restart() while frozen
                return
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            self._writers.discard(client_w)
            return
        self._writers.add(up_w)
        for reader, writer in ((client_r, up_w), (up_r, client_w)):
            task = asyncio.get_running_loop().create_task(self._pump(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        except OSError:
            writer.transport.abort()
        else:
            writer.close()  # relay the FIN
        finally:
            self._writers.discard(writer)
