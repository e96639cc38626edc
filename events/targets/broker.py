"""What every broker target does the same way: one connection, timeouts, reconnection.

How this works. A `BrokerTarget` holds at most one connection (whatever its client library
calls one) and opens it lazily, under a lock, on `start()` or on the first `send()` that finds
none. Each `send()` runs under one deadline (the URL's ``timeout``), connecting included, so a
broker that is down, restarting or frozen (connections open, no answers) costs a send at most
that long: it then raises TargetError and the dispatcher retries with backoff. A send that
fails drops its connection, so the next one starts afresh on a new one; a connection the
client library already knows to be dead (the broker closed it, e.g. on a restart) is replaced
before publishing. The library's own reconnection is switched off: it would either retry
behind our back with no deadline or hold messages in a buffer that a crash loses.

Dropped connections are closed in the background (a polite close may wait for a broker that
no longer answers) and `close()` waits for those closes, each bounded by the timeout.

Subclasses name their library's errors in `errors` (translated at this one edge, keeping the
cause) and implement `_connect`, `_publish`, `_disconnect` and, where the library can tell,
`_alive`. Credentials go to the library only; logs and errors show `describe()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from events.targets.base import Message, TargetError
from events.targets.url import TargetURL

log = logging.getLogger(__name__)

C = TypeVar("C")


class ConnectionLost(Exception):
    """Raised by `_publish` when the connection turned out to be gone (the library refused
    the message, or the socket was found closed): `send` reconnects and publishes it once
    more, within the same deadline. If the broker did take the first copy, the consumer
    gets two with one event id, which at-least-once delivery allows."""


@dataclass(slots=True)
class _Use(Generic[C]):
    """The connection one send or start is using, once it has one."""

    conn: C | None = None


class BrokerTarget(ABC, Generic[C]):
    """A Target (events/targets/base.py) over one broker connection of type C."""

    errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)

    def __init__(self, name: str, url: TargetURL) -> None:
        self.name = name
        self.url = url
        self.timeout = url.timeout
        self._conn: C | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()

    # -- what a subclass provides ------------------------------------------------------------

    @abstractmethod
    async def _connect(self) -> C:
        """Open a connection (and whatever the publish needs: channel, stream); raise one of
        `errors` on failure. Runs under the send's deadline."""

    @abstractmethod
    async def _publish(self, conn: C, message: Message) -> None:
        """Publish and wait for the broker's acknowledgement."""

    @abstractmethod
    async def _disconnect(self, conn: C) -> None:
        """Close the connection (errors are ignored)."""

    def _alive(self, conn: C) -> bool:
        """False once the library knows the connection is gone (reconnect before publishing)."""
        return True

    def describe(self) -> str:
        """For logs: the target's name and URL, password redacted."""
        return f"{self.name} ({self.url.redacted()})"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    # -- the Target protocol -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect now, so a misconfigured target shows at start-up; raises TargetError."""
        async with self._deadline("connect") as use:
            await self._connection(use)

    async def send(self, message: Message) -> None:
        async with self._deadline("send") as use:
            conn = await self._connection(use)
            try:
                await self._publish(conn, message)
            except ConnectionLost:
                self._forget(conn)
                log.info("target %s: connection lost, reconnecting", self.describe())
                await self._publish(await self._connection(use), message)

    async def close(self) -> None:
        self._closed = True
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            self._drop(conn)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- the connection -------------------------------------------------------------------------

    async def _connection(self, use: _Use[C]) -> C:
        """The open connection, or a new one; `use` records it for `_deadline`."""
        async with self._lock:
            if self._closed:
                raise TargetError(f"target {self.describe()} is closed")
            conn = self._conn
            if conn is not None and self._alive(conn):
                use.conn = conn
                return conn
            if conn is not None:
                log.info("target %s: connection lost, reconnecting", self.describe())
                self._conn = None
                self._drop(conn)
            self._conn = use.conn = await self._connect()
            return use.conn

    @contextlib.asynccontextmanager
    async def _deadline(self, what: str) -> AsyncIterator[_Use[C]]:
        """Run the body under the timeout; turn the library's errors into TargetError and
        drop the connection they happened on (not one another send has opened since)."""
        caught: tuple[type[BaseException], ...] = (*self.errors, ConnectionLost)
        use = _Use[C]()
        try:
            async with asyncio.timeout(self.timeout):
                yield use
        except TimeoutError:
            self._forget(use.conn)
            raise TargetError(
                f"target {self.describe()}: {what} not acknowledged within {self.timeout:g}s"
            ) from None
        except caught as exc:
            self._forget(use.conn)
            detail = self.url.scrub(f"{type(exc).__name__}: {exc}")
            raise TargetError(f"target {self.describe()}: {what} failed: {detail}") from exc

    def _forget(self, failed: C | None) -> None:
        """Drop the connection `failed` if it is still the current one. No await: the
        caller may be unwinding a connect cancelled while it held the lock."""
        conn = self._conn
        if conn is not None and conn is failed:
            self._conn = None
            self._drop(conn)

    def _drop(self, conn: C) -> None:
        self._abandon(lambda: self._disconnect(conn))

    def _abandon(self, close: Callable[[], Awaitable[object]]) -> None:
        """Run `close` in the background, bounded by the timeout, errors ignored: for a
        connection being given up (its broker may not answer a polite close), and for one
        half set up when a connect failed. `close()` waits for these."""
        task = asyncio.get_running_loop().create_task(self._close_quietly(close))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_quietly(self, close: Callable[[], Awaitable[object]]) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await close()
        except Exception as exc:  # the connection is being abandoned; nothing to report
            log.debug("target %s: close: %s", self.describe(), self.url.scrub(repr(exc)))
