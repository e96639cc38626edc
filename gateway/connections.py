"""Slow and hostile clients: connection caps and the request-head deadline.

How this works: every accepted connection goes through `GuardedProtocol`, a thin asyncio
protocol in front of aiohttp's request handler (one per connection, made by the runner's
server). It
- refuses (closes at once, before aiohttp sees it) a connection past the per-process cap
  or the per-source-address cap, so one address cannot take every slot;
- closes a connection whose first request head (request line and headers, up to the blank
  line) has not fully arrived `header_timeout` seconds after it was accepted. The timer is
  not reset by data, so dribbling one header byte at a time (slowloris) does not help.

The other deadlines live where aiohttp already has them: later request heads on a
keep-alive connection are bounded by aiohttp's `keepalive_timeout` (it closes a connection
still waiting for a complete request when it fires; in aiohttp 3.14 its timer also runs
from the connect, so the first head has the shorter of the two), and a stalled request body by
gateway/body.py (RequestTimeout, as S3 answers it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from aiohttp import web

log = logging.getLogger("kloudvault.connections")

_HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    max_connections: int
    max_connections_per_address: int


class ConnectionGuard:
    """The open connections of one process, counted in total and per source address."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.total = 0
        self._per_address: Counter[str] = Counter()
        self.refused = 0
        self.timed_out = 0

    def admit(self, address: str) -> bool:
        limits = self.limits
        if (
            self.total >= limits.max_connections
            or self._per_address[address] >= limits.max_connections_per_address
        ):
            self.refused += 1
            return False
        self.total += 1
        self._per_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.total -= 1
        self._per_address[address] -= 1
        if self._per_address[address] <= 0:
            del self._per_address[address]


def _address_of(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)  # a Unix socket: one "address" for every client


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's handler for one connection, behind the caps and the head deadline."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._address: str | None = None
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        # The tail of what arrived so far, while the first head is incomplete: enough to
        # find a blank line split across two reads.
        self._head_tail: bytes | None = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but are one.
        transport = cast(asyncio.Transport, transport)
        address = _address_of(transport)
        if not self._guard.admit(address):
            transport.abort()
            return
        self._address = address
        self._transport = transport
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.limits.header_timeout, self._head_late)
        self._inner.connection_made(transport)

    def _head_late(self) -> None:
        self._deadline = None
        if self._transport is not None and self._head_tail is not None:
            self._guard.timed_out += 1
            log.debug("closing %s: no complete request head in time", self._address)
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        if self._head_tail is not None:
            seen = self._head_tail + data
            if _HEAD_END in seen:
                self._head_tail = None
                if self._deadline is not None:
                    self._deadline.cancel()
                    self._deadline = None
            else:
                self._head_tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._transport is None:
            return None
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:
            return  # refused: aiohttp never saw it
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._transport = None
        assert self._address is not None
        self._guard.release(self._address)
        self._inner.connection_lost(exc)


def guarded_factory(
    server: Callable[[], asyncio.Protocol], guard: ConnectionGuard
) -> Callable[[], asyncio.Protocol]:
    def factory() -> asyncio.Protocol:
        return GuardedProtocol(server(), guard)

    return factory


class GuardedSite(web.TCPSite):
    """web.TCPSite whose connections pass through a ConnectionGuard."""

    def __init__(self, runner: web.AppRunner, guard: ConnectionGuard, **kwargs: object) -> None:
        super().__init__(runner, **kwargs)  # type: ignore[arg-type]
        self._guard = guard

    async def start(self) -> None:
        # BaseSite.start registers the site with the runner; TCPSite.start would then
        # create the server with the bare handler factory, so this replaces that step.
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            guarded_factory(server, self._guard),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        if self._server.sockets:
            self._bound_port = self._server.sockets[0].getsockname()[1]
